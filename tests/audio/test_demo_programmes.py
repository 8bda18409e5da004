"""The demo catalogue of the programmes with questions (issue 15 item 5): pesinet (French,
Bambara spoken in the fallback's French voice) and m2m (English, Swahili, Portuguese). Every
message, prompt and question prompt in every language; each language in its own voice."""
from __future__ import annotations

import pytest

from audio.catalogue import MESSAGE, PROMPT, Entry, check, programme_entries
from audio.demo import DEMO_LIMITS, PROMPT_TEXT, WRITTEN, jobs_for, make_demo, spoken_in
from audio.demo_texts import QUESTION_TEXT
from audio.probe import catalogue_facts
from ivr.constants import PROMPTS
from scheduler.programme import load_programme
from tests.audio.test_audio_cli import run


@pytest.mark.parametrize("name", ["pesinet", "m2m"])
def test_demo_catalogue_has_every_key_in_every_language(name):
    prog = load_programme(name)
    entries, questions = programme_entries(prog)
    have = {(e.lang, e.name, e.kind) for e in entries}
    for lang in prog.languages:
        assert {(lang, m.key, MESSAGE) for m in prog.messages} <= have
        assert {(lang, p, PROMPT) for p in PROMPTS} <= have
        assert {(lang, q.prompts[lang], PROMPT) for q in prog.questions} <= have
    assert len(entries) == len(have) == len(prog.languages) * (
        len(prog.messages) + len(PROMPTS) + len(prog.questions))
    assert {questions[q.prompts[lang]] for q in prog.questions
            for lang in prog.languages} == {q.key for q in prog.questions}


@pytest.mark.parametrize("name", ["pesinet", "m2m"])
def test_demo_catalogue_speaks_each_language_with_its_own_texts_and_voice(name, tmp_path):
    prog = load_programme(name)
    entries, questions = programme_entries(prog)
    jobs = jobs_for(entries, [m.key for m in prog.messages], tmp_path, prog.fallback_language,
                    questions)
    for job in jobs:
        voice = spoken_in(job.entry.lang, prog.fallback_language)
        assert job.voice == voice
        assert job.dest == tmp_path / job.entry.lang / f"{job.entry.name}.wav"
        if job.entry.name in questions:
            assert job.text == QUESTION_TEXT[voice][questions[job.entry.name]]
        elif job.entry.kind == PROMPT:       # a text of its own voice, never a file name
            assert job.text == PROMPT_TEXT[voice][job.entry.name]
    voices = {j.entry.lang: j.voice for j in jobs}
    if name == "pesinet":
        assert voices == {"fr": "fr", "bm": "fr"}        # Bambara: no voice, the fallback's
    else:
        assert voices == {"en": "en", "sw": "sw", "pt": "pt"}
    first = {j.entry.lang: j.text for j in jobs if j.entry.name == prog.messages[0].key}
    assert len(set(first.values())) == (1 if name == "pesinet" else 3)


def test_demo_bambara_question_prompt_is_spoken_in_french_and_not_silent(tmp_path):
    prog = load_programme("pesinet")
    entries, questions = programme_entries(prog)
    fever = [e for e in entries if e.name in ("pesinet-q-fever-fr", "pesinet-q-fever-bm")]
    some = fever + [Entry("sw", "ivr-greeting", PROMPT)]
    results = make_demo(some, [m.key for m in prog.messages], tmp_path, workers=2,
                        fallback=prog.fallback_language, questions=questions)
    assert [r.status for r in results] == [WRITTEN] * 3, results
    assert check(some, catalogue_facts(tmp_path, some), DEMO_LIMITS) == []   # not silent
    bm, fr = (tmp_path / lang / f"pesinet-q-fever-{lang}.wav" for lang in ("bm", "fr"))
    assert bm.read_bytes() == fr.read_bytes()           # the same French words, same voice


def test_demo_command_says_bambara_is_spoken_in_the_fallback_voice(tmp_path):
    """`ivr audio demo --programme pesinet` with every file there already: it says which
    language has no voice, and keeps what is there (idempotent)."""
    prog = load_programme("pesinet")
    home = tmp_path / "home"
    entries, _ = programme_entries(prog)
    for e in entries:                        # any playable file is kept: copy one prompt
        path = home / "sounds" / e.lang / f"{e.name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
    make_demo([Entry("fr", "ivr-greeting", PROMPT)], [], home / "sounds")
    one = (home / "sounds" / "fr" / "ivr-greeting.wav").read_bytes()
    for e in entries:
        (home / "sounds" / e.lang / f"{e.name}.wav").write_bytes(one)
    r = run(home, "audio", "demo", "--programme", "pesinet")
    assert r.exit_code == 0, r.output
    assert "bm: its files are spoken in fr (the fallback's voice)" in r.stderr
    assert f"0 written, {len(entries)} kept, 0 failed" in r.stderr
    assert "+ 3 questions x 2 languages" in r.stderr


def test_audio_check_names_a_missing_question_prompt(tmp_path):
    """`ivr audio check` expects the question prompts too (the in-call route skips the
    questions of a message whose prompt is missing)."""
    r = run(tmp_path / "home", "audio", "check", "--programme", "pesinet", "--min", "1")
    assert r.exit_code == 1
    assert "fr/pesinet-q-fever-fr: missing" in r.stdout
    assert "bm/pesinet-q-weight-bm: missing" in r.stdout
    prog = load_programme("pesinet")
    expected = 2 * (len(prog.messages) + len(PROMPTS) + 3)
    assert f"{expected} files expected" in r.stderr and "+ 3 questions x 2 languages" in r.stderr
