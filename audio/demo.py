"""`ivr audio demo`: a complete demo catalogue spoken by espeak-ng.

Every message of the programme in each of its languages ("Demo message 12 of 141", a few
seconds on purpose so demos and tests with real calls stay quick), every prompt and every
question's prompt in each language, each in its language's espeak-ng voice; a language with
no voice nor demo texts (Bambara) is spoken in the programme's fallback language (French),
which `ivr audio demo` says on screen. Converted by the same pipeline as imports and written
atomically. Idempotent: files that exist and are playable are kept (real recordings included),
so a second run only reads headers; --force replaces everything.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping

from audio.batch import run_all
from audio.catalogue import (EMPTY, FORMAT, MESSAGE, MISSING, UNREADABLE, Entry, Limits,
                             entry_path, validate)
from audio.convert import (ConversionError, ConvertOptions, ToolMissing, decode_wav_bytes,
                           prepare, to_telephone, write_wav)
from audio.demo_texts import MESSAGE_TEXT as MORE_MESSAGE_TEXT
from audio.demo_texts import MONTHS as MORE_MONTHS
from audio.demo_texts import PROMPT_TEXT as MORE_PROMPT_TEXT
from audio.demo_texts import QUESTION_TEXT
from audio.probe import read_facts
from ivr import constants as C

ESPEAK = "espeak-ng"
ESPEAK_PACKAGE = "espeak-ng"
# A demo file is valid (and kept) when it is 8 kHz mono 16-bit, not silent, 0.5-30 s long.
DEMO_LIMITS = Limits(min_seconds=0.5, max_seconds=30.0, max_prompt_seconds=30.0)

MESSAGE_TEXT = {
    "en": "Demo message {n} of {total}.",
    "hi": "डेमो संदेश {n}, कुल {total} में से।",
    "mr": "डेमो संदेश {n}, एकूण {total} पैकी.",
    "gu": "ડેમો સંદેશ {n}, કુલ {total} માંથી.",
    **MORE_MESSAGE_TEXT,
}

PROMPT_TEXT = {
    "en": {
        C.PROMPT_GREETING: "Hello. This is your health message.",
        C.PROMPT_MENU: "Press 1 to hear the message again. Press 0 to talk to a health worker. "
                       "Press 9 to stop these calls.",
        C.PROMPT_INVALID: "Sorry, that key is not valid.",
        C.PROMPT_GOODBYE: "Thank you. Goodbye.",
        C.PROMPT_OPTOUT_CONFIRM: "To stop all messages, press 1. Otherwise, hang up.",
        C.PROMPT_OPTOUT_DONE: "You will not receive any more messages. Goodbye.",
        C.PROMPT_OPTOUT_FAILED: "Sorry, we could not stop your messages just now. "
                                "A health worker from the call centre will call you.",
        C.PROMPT_CALL_CENTRE: "Connecting you to a health worker. Please wait.",
        C.PROMPT_SORRY: "Sorry, we cannot play your message now. We will call you again.",
        # the answered line (ivr/inbound_flow.py)
        C.PROMPT_LINE_MENU: "Press 1 to hear your message again, 2 for the previous one, "
                            "3 to change the time of your calls, 4 to change the language, "
                            "5 if your baby is born, 0 to talk to a health worker, "
                            "9 to stop these calls.",
        C.PROMPT_LINE_NO_MESSAGE: "There is no message for you yet.",
        C.PROMPT_LINE_SLOTS: "Press the number of the time you want: 1 for the first time of "
                             "the day, 2 for the next, and so on.",
        C.PROMPT_LINE_LANGUAGES: "Press 1 for Hindi, 2 for Marathi, 3 for Gujarati, "
                                 "4 for English.",
        C.PROMPT_LINE_BIRTH_CONFIRM: "If your baby is born, press 1.",
        C.PROMPT_LINE_BIRTH_NOTED: "Congratulations. A health worker will call you to confirm "
                                   "the date.",
        C.PROMPT_LINE_CHANGED: "Your choice is saved.",
        C.PROMPT_LINE_NOT_CHANGED: "Sorry, we could not save it now. Please call again later.",
        C.PROMPT_LINE_UNKNOWN: "This number is not registered for health messages. "
                               "Press 0 to talk to a health worker.",
        C.PROMPT_LINE_CODE: "Key the child's code, then the hash key.",
        C.PROMPT_LINE_CODE_UNKNOWN: "That code is not one of your children.",
        C.PROMPT_LINE_NO_QUESTIONS: "There are no questions for this child this week.",
        C.PROMPT_LINE_SAVED: "The answers are saved. Key the next child's code, or hang up.",
        C.PROMPT_NOTIFY_COME: "Your doctor asks you to please come to the health centre on",
    },
    "hi": {
        C.PROMPT_GREETING: "नमस्ते। यह आपका स्वास्थ्य संदेश है।",
        C.PROMPT_MENU: "संदेश दोबारा सुनने के लिए 1 दबाएं। स्वास्थ्य कार्यकर्ता से बात करने के लिए "
                       "0 दबाएं। ये कॉल बंद करने के लिए 9 दबाएं।",
        C.PROMPT_INVALID: "क्षमा करें, यह बटन मान्य नहीं है।",
        C.PROMPT_GOODBYE: "धन्यवाद। नमस्ते।",
        C.PROMPT_OPTOUT_CONFIRM: "सभी संदेश बंद करने के लिए 1 दबाएं। अन्यथा फ़ोन रख दें।",
        C.PROMPT_OPTOUT_DONE: "अब आपको कोई संदेश नहीं मिलेगा। धन्यवाद।",
        C.PROMPT_OPTOUT_FAILED: "क्षमा करें, अभी आपके संदेश बंद नहीं हो सके। "
                                "कॉल सेंटर से एक स्वास्थ्य कार्यकर्ता आपको कॉल करेंगी।",
        C.PROMPT_CALL_CENTRE: "आपको स्वास्थ्य कार्यकर्ता से जोड़ा जा रहा है। कृपया प्रतीक्षा करें।",
        C.PROMPT_SORRY: "क्षमा करें, अभी आपका संदेश नहीं चल सकता। हम आपको फिर से कॉल करेंगे।",
        C.PROMPT_LINE_MENU: "अपना संदेश फिर से सुनने के लिए 1 दबाएं, पिछले संदेश के लिए 2, "
                            "कॉल का समय बदलने के लिए 3, भाषा बदलने के लिए 4, बच्चे के जन्म "
                            "की सूचना के लिए 5, स्वास्थ्य कार्यकर्ता से बात करने के लिए 0, "
                            "कॉल बंद करने के लिए 9 दबाएं।",
        C.PROMPT_LINE_NO_MESSAGE: "अभी आपके लिए कोई संदेश नहीं है।",
        C.PROMPT_LINE_BIRTH_CONFIRM: "अगर आपके बच्चे का जन्म हो गया है, तो 1 दबाएं।",
        C.PROMPT_LINE_BIRTH_NOTED: "बधाई हो। स्वास्थ्य कार्यकर्ता तारीख़ की पुष्टि के लिए आपको "
                                   "कॉल करेंगे।",
        C.PROMPT_LINE_CHANGED: "आपका चुनाव सहेज लिया गया है।",
        C.PROMPT_LINE_NOT_CHANGED: "क्षमा करें, अभी यह सहेजा नहीं जा सका। कृपया बाद में फिर "
                                   "कॉल करें।",
        C.PROMPT_LINE_UNKNOWN: "यह नंबर स्वास्थ्य संदेशों के लिए पंजीकृत नहीं है। स्वास्थ्य "
                               "कार्यकर्ता से बात करने के लिए 0 दबाएं।",
        C.PROMPT_NOTIFY_COME: "आपके डॉक्टर ने कहा है, कृपया इस दिन स्वास्थ्य केंद्र आएँ:",
    },
    "mr": {
        C.PROMPT_GREETING: "नमस्कार. हा आपला आरोग्य संदेश आहे.",
        C.PROMPT_MENU: "संदेश पुन्हा ऐकण्यासाठी 1 दाबा. आरोग्य कार्यकर्त्याशी बोलण्यासाठी 0 दाबा. "
                       "हे कॉल बंद करण्यासाठी 9 दाबा.",
        C.PROMPT_INVALID: "क्षमा करा, हे बटण वैध नाही.",
        C.PROMPT_GOODBYE: "धन्यवाद. नमस्कार.",
        C.PROMPT_OPTOUT_CONFIRM: "सर्व संदेश बंद करण्यासाठी 1 दाबा. नाहीतर फोन ठेवा.",
        C.PROMPT_OPTOUT_DONE: "आता आपल्याला कोणतेही संदेश येणार नाहीत. धन्यवाद.",
        C.PROMPT_OPTOUT_FAILED: "क्षमा करा, आत्ता आपले संदेश बंद करता आले नाहीत. "
                                "कॉल सेंटरमधून आरोग्य कार्यकर्ता आपल्याला कॉल करतील.",
        C.PROMPT_CALL_CENTRE: "आपल्याला आरोग्य कार्यकर्त्याशी जोडत आहोत. कृपया थांबा.",
        C.PROMPT_SORRY: "क्षमा करा, आत्ता आपला संदेश वाजवता येत नाही. आम्ही आपल्याला पुन्हा कॉल करू.",
        C.PROMPT_NOTIFY_COME: "आपल्या डॉक्टरांनी सांगितले आहे, कृपया या दिवशी आरोग्य केंद्रात या:",
    },
    "gu": {
        C.PROMPT_GREETING: "નમસ્તે. આ તમારો આરોગ્ય સંદેશ છે.",
        C.PROMPT_MENU: "સંદેશ ફરીથી સાંભળવા માટે 1 દબાવો. આરોગ્ય કાર્યકર સાથે વાત કરવા માટે 0 દબાવો. "
                       "આ કૉલ બંધ કરવા માટે 9 દબાવો.",
        C.PROMPT_INVALID: "માફ કરશો, આ બટન માન્ય નથી.",
        C.PROMPT_GOODBYE: "આભાર. આવજો.",
        C.PROMPT_OPTOUT_CONFIRM: "બધા સંદેશ બંધ કરવા માટે 1 દબાવો. નહીં તો ફોન મૂકી દો.",
        C.PROMPT_OPTOUT_DONE: "હવે તમને કોઈ સંદેશ મળશે નહીં. આભાર.",
        C.PROMPT_OPTOUT_FAILED: "માફ કરશો, અત્યારે તમારા સંદેશ બંધ થઈ શક્યા નથી. "
                                "કૉલ સેન્ટરમાંથી આરોગ્ય કાર્યકર તમને કૉલ કરશે.",
        C.PROMPT_CALL_CENTRE: "તમને આરોગ્ય કાર્યકર સાથે જોડી રહ્યા છીએ. કૃપા કરીને રાહ જુઓ.",
        C.PROMPT_SORRY: "માફ કરશો, અત્યારે તમારો સંદેશ વગાડી શકાતો નથી. અમે તમને ફરીથી કૉલ કરીશું.",
        C.PROMPT_NOTIFY_COME: "તમારા ડૉક્ટરે કહ્યું છે, કૃપા કરીને આ દિવસે આરોગ્ય કેન્દ્રમાં આવો:",
    },
    **MORE_PROMPT_TEXT,
}
# the day she is expected (a notification call): the day of the month as a number (espeak
# says it in the language), then the month's name
MONTHS = {
    "en": "January February March April May June July August September October November "
          "December",
    "hi": "जनवरी फ़रवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर अक्टूबर नवंबर दिसंबर",
    "mr": "जानेवारी फेब्रुवारी मार्च एप्रिल मे जून जुलै ऑगस्ट सप्टेंबर ऑक्टोबर नोव्हेंबर डिसेंबर",
    "gu": "જાન્યુઆરી ફેબ્રુઆરી માર્ચ એપ્રિલ મે જૂન જુલાઈ ઑગસ્ટ સપ્ટેમ્બર ઑક્ટોબર નવેમ્બર ડિસેમ્બર",
    **MORE_MONTHS,
}
for _lang, _texts in PROMPT_TEXT.items():    # a language without MONTHS says "ivr month 12"
    _texts.update({name: str(n) for n, name in enumerate(C.PROMPT_DAYS, 1)})
    _texts.update(zip(C.PROMPT_MONTHS, MONTHS.get(_lang, "").split() or C.PROMPT_MONTHS,
                      strict=True))

# A programme's own recordings (<sounds>/<programme>/<lang>/<name>.wav): the prompts whose shared
# text names another programme's choices. mMitra's English language list is the shared one.
OWN_PROMPT_TEXT = {
    "m2m": {"en": {C.PROMPT_LINE_LANGUAGES: "Press 1 for English, 2 for Swahili, "
                                            "3 for Portuguese."}},
}


def with_own_prompts(programme: str, entries: list[Entry]) -> list[Entry]:
    """The entries, those the programme has its own demo text of moved to its own folder."""
    own = OWN_PROMPT_TEXT.get(programme, {})
    return [replace(e, programme=programme) if e.name in own.get(e.lang, {}) else e
            for e in entries]


WRITTEN = "written"
KEPT = "kept"
FAILED = "failed"


@dataclass(frozen=True)
class DemoJob:
    entry: Entry
    dest: Path
    text: str
    voice: str


@dataclass(frozen=True)
class DemoResult:
    entry: Entry
    status: str
    seconds: float | None = None
    detail: str = ""


def spoken_in(lang: str, fallback: str = "en") -> str:
    """The language whose texts and espeak-ng voice are used: the language itself when it has
    demo texts, else the programme's fallback language (Bambara: French), else English."""
    if lang in MESSAGE_TEXT:
        return lang
    return fallback if fallback in MESSAGE_TEXT else "en"


def text_of(entry: Entry, lang: str, number: dict[str, int],
            questions: Mapping[str, str]) -> str:
    """What the demo file of `entry` says, in the language `lang` it is spoken in."""
    if entry.kind == MESSAGE:
        return MESSAGE_TEXT[lang].format(n=number[entry.name], total=len(number))
    if entry.name in questions:
        key = questions[entry.name]
        asked = QUESTION_TEXT.get(lang, {}).get(key) or QUESTION_TEXT["en"].get(key)
        return asked or key.replace("_", " ") + "? 1 for yes, 2 for no."
    own = OWN_PROMPT_TEXT.get(entry.programme, {}).get(lang, {}).get(entry.name)
    if own:
        return own
    # a prompt not written in her language yet: the English text, not its file name
    return (PROMPT_TEXT[lang].get(entry.name) or PROMPT_TEXT["en"].get(entry.name)
            or entry.name.replace("-", " "))


def jobs_for(entries: list[Entry], message_keys: list[str], sounds: Path,
             fallback: str = "en", questions: Mapping[str, str] | None = None) -> list[DemoJob]:
    """One synthesis job per entry (messages are numbered by their place in the programme);
    a language without demo texts nor voice is spoken in `fallback` (spoken_in)."""
    number = {key: i for i, key in enumerate(message_keys, start=1)}
    jobs = []
    for entry in entries:
        lang = spoken_in(entry.lang, fallback)
        jobs.append(DemoJob(entry, entry_path(sounds, entry),
                            text_of(entry, lang, number, questions or {}), lang))
    return jobs


# Only these make an existing file replaceable: a real recording that is long, quiet or
# clipped is still somebody's work, and the demo never overwrites it (unless --force).
BROKEN = (MISSING, UNREADABLE, FORMAT, EMPTY)
ANY_LENGTH = Limits(min_seconds=0, max_seconds=float("inf"), max_prompt_seconds=float("inf"))


def is_valid(job: DemoJob) -> bool:
    """The file exists and Asterisk can play it (whatever its length or level)."""
    if not job.dest.is_file():
        return False
    problems = validate(job.entry, read_facts(job.dest, content=False), ANY_LENGTH)
    return not any(p.code in BROKEN for p in problems)


def synthesise(job: DemoJob) -> DemoResult:
    """espeak-ng -> 8 kHz mono 16-bit, normalised and trimmed -> the catalogue (worker process)."""
    espeak = shutil.which(ESPEAK)
    if espeak is None:
        return DemoResult(job.entry, FAILED, None, str(ToolMissing(
            f"the demo catalogue needs {ESPEAK}, which is not installed: "
            f"apt-get install --no-install-recommends {ESPEAK_PACKAGE}")))
    try:
        done = subprocess.run([espeak, "-b", "1", "-v", job.voice, "-s", "160", "--stdout",
                               job.text], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        if done.returncode != 0 or not done.stdout:
            err = done.stderr.decode(errors="replace").strip()
            raise ConversionError(f"espeak-ng -v {job.voice} failed: {err or done.returncode}")
        options = ConvertOptions()
        decoded = prepare(decode_wav_bytes(done.stdout, "espeak-ng output"), options)
        seg, result = to_telephone(decoded, options)
        problems = validate(job.entry, result.facts, DEMO_LIMITS)
        if problems:
            raise ConversionError("; ".join(str(p) for p in problems))
        write_wav(seg, job.dest)
    except (ConversionError, OSError, subprocess.TimeoutExpired) as e:
        return DemoResult(job.entry, FAILED, None, str(e))
    return DemoResult(job.entry, WRITTEN, result.seconds)


def make_demo(entries: list[Entry], message_keys: list[str], sounds: Path, force: bool = False,
              workers: int | None = None,
              on_done: Callable[[DemoResult], None] | None = None, *, fallback: str = "en",
              questions: Mapping[str, str] | None = None) -> list[DemoResult]:
    """Synthesise every entry whose file is missing or invalid (all of them with `force`)."""
    jobs = jobs_for(entries, message_keys, sounds, fallback, questions)
    kept = [] if force else [DemoResult(j.entry, KEPT) for j in jobs if is_valid(j)]
    keep = {r.entry for r in kept}
    todo = [j for j in jobs if j.entry not in keep]
    if on_done:
        for r in kept:
            on_done(r)
    return kept + run_all(synthesise, todo, workers, on_done)
