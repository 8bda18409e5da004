"""A programme's own prompt recordings in the catalogue: <sounds>/<programme>/<lang>/<key>.wav
is played to its women when present, else the shared <sounds>/<lang>/<key>.wav (pure)."""
from __future__ import annotations

from audio.catalogue import (MISSING, PROMPT, Catalogue, Entry, Limits, check, entry_path,
                             own_entries)
from audio.probe import catalogue_facts
from ivr import constants as C
from tests.audio.test_audio_catalogue import write_wav

LANGUAGES = C.PROMPT_LINE_LANGUAGES


def test_programme_prompt_own_recording_is_played_to_its_women_only(tmp_path):
    write_wav(tmp_path / "en" / f"{LANGUAGES}.wav", 1.0)
    write_wav(tmp_path / "m2m" / "en" / f"{LANGUAGES}.wav", 2.0)
    c = Catalogue(tmp_path)
    assert c.sound_for("en", LANGUAGES, "m2m") == f"{tmp_path}/m2m/{LANGUAGES}"
    assert c.duration("en", LANGUAGES, "m2m") == 2.0
    assert c.sound_for("en", LANGUAGES, "mmitra") == f"{tmp_path}/{LANGUAGES}"
    assert c.duration("en", LANGUAGES, "mmitra") == 1.0
    assert c.sound_for("en", LANGUAGES) == f"{tmp_path}/{LANGUAGES}"
    prompts = c.prompts("en", "m2m")
    assert prompts[LANGUAGES] == f"{tmp_path}/m2m/{LANGUAGES}"
    assert prompts[C.PROMPT_LINE_MENU] == f"{tmp_path}/{C.PROMPT_LINE_MENU}"
    assert set(prompts) == set(C.PROMPTS)


def test_programme_prompt_in_another_language_is_the_shared_one(tmp_path):
    """Her channel is in Swahili: m2m's own English file is not hers, the shared Swahili one is."""
    write_wav(tmp_path / "sw" / f"{LANGUAGES}.wav", 1.0)
    write_wav(tmp_path / "m2m" / "en" / f"{LANGUAGES}.wav", 2.0)
    c = Catalogue(tmp_path)
    assert c.sound_for("sw", LANGUAGES, "m2m") == f"{tmp_path}/{LANGUAGES}"
    assert c.duration("sw", LANGUAGES, "m2m") == 1.0


def test_programme_prompt_unplayable_own_file_falls_back_to_the_shared_one(tmp_path):
    write_wav(tmp_path / "en" / f"{LANGUAGES}.wav", 1.0)
    bad = tmp_path / "m2m" / "en" / f"{LANGUAGES}.wav"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a wav")
    c = Catalogue(tmp_path)
    assert c.sound_for("en", LANGUAGES, "m2m") == f"{tmp_path}/{LANGUAGES}"
    assert c.duration("en", LANGUAGES, "m2m") == 1.0


def test_programme_prompt_language_fallback_counts_the_own_recording(tmp_path):
    """Only m2m's own English recording exists: a Portuguese woman of m2m falls back to English
    (never silence); a woman of another programme has nothing to hear."""
    write_wav(tmp_path / "m2m" / "en" / f"{C.PROMPT_NOTIFY_COME}.wav", 1.5)
    c = Catalogue(tmp_path)
    assert c.language_for("pt", C.PROMPT_NOTIFY_COME, "en", "m2m") == "en"
    assert c.has("en", C.PROMPT_NOTIFY_COME, "m2m")
    assert c.language_for("pt", C.PROMPT_NOTIFY_COME, "en", "mmitra") is None
    assert not c.has("en", C.PROMPT_NOTIFY_COME)


def test_programme_prompt_a_name_that_cannot_be_a_folder_has_no_own_recordings(tmp_path):
    write_wav(tmp_path / "en" / f"{LANGUAGES}.wav", 1.0)
    c = Catalogue(tmp_path)
    write_wav(tmp_path / "hi" / "en" / f"{LANGUAGES}.wav", 2.0)    # not a programme's folder
    for name in ("../en", "", None, "M2M", "hi"):
        assert c.sound_for("en", LANGUAGES, name) == f"{tmp_path}/{LANGUAGES}"


def test_programme_prompt_check_validates_the_own_file_instead_of_the_shared(tmp_path):
    """The shared English file is missing, m2m's own is there: nothing missing for m2m; its
    own file's problems name the programme's folder."""
    write_wav(tmp_path / "m2m" / "en" / f"{LANGUAGES}.wav", 2.0)
    entries = [Entry("en", LANGUAGES, PROMPT), Entry("en", C.PROMPT_MENU, PROMPT)]
    own = own_entries(tmp_path, "m2m", entries)
    assert own == [Entry("en", LANGUAGES, PROMPT, "m2m"), Entry("en", C.PROMPT_MENU, PROMPT)]
    assert entry_path(tmp_path, own[0]) == tmp_path / "m2m" / "en" / f"{LANGUAGES}.wav"
    facts = catalogue_facts(tmp_path, own, content=False)
    problems = check(own, facts, Limits())
    assert [(p.name, p.code) for p in problems] == [(C.PROMPT_MENU, MISSING)]
    too_long = check(own, facts, Limits(max_prompt_seconds=1.0))
    assert str(too_long[0]).startswith(f"m2m/en/{LANGUAGES}: too-long")
    assert own_entries(tmp_path, "mmitra", entries) == entries


def test_programme_prompt_own_files_are_listed_once_per_process(tmp_path):
    """The own folder is listed on the first call in that language and kept: a file new to
    it plays after a restart (a new Catalogue); a listed one re-imported plays its new
    version, removed the shared one."""
    write_wav(tmp_path / "en" / f"{LANGUAGES}.wav", 1.0)
    write_wav(tmp_path / "en" / f"{C.PROMPT_LINE_MENU}.wav", 1.0)
    own = write_wav(tmp_path / "m2m" / "en" / f"{LANGUAGES}.wav", 2.0)
    c = Catalogue(tmp_path)
    assert c.prompts("en", "m2m")[C.PROMPT_LINE_MENU] == f"{tmp_path}/{C.PROMPT_LINE_MENU}"
    assert c.prompts("sw", "m2m")[LANGUAGES] == f"{tmp_path}/{LANGUAGES}"   # no sw folder
    write_wav(tmp_path / "m2m" / "en" / f"{C.PROMPT_LINE_MENU}.wav", 3.0)  # new: not listed
    write_wav(tmp_path / "m2m" / "sw" / f"{LANGUAGES}.wav", 3.0)
    assert c.sound_for("en", C.PROMPT_LINE_MENU, "m2m") == f"{tmp_path}/{C.PROMPT_LINE_MENU}"
    assert c.duration("en", C.PROMPT_LINE_MENU, "m2m") == 1.0
    assert c.sound_for("sw", LANGUAGES, "m2m") == f"{tmp_path}/{LANGUAGES}"
    write_wav(own, 4.0)                                         # re-imported: its new length
    assert c.duration("en", LANGUAGES, "m2m") == 4.0
    own.unlink()                                                # removed: the shared file
    assert c.sound_for("en", LANGUAGES, "m2m") == f"{tmp_path}/{LANGUAGES}"
    assert c.duration("en", LANGUAGES, "m2m") == 1.0
    restarted = Catalogue(tmp_path)
    assert restarted.sound_for("en", C.PROMPT_LINE_MENU, "m2m") == \
        f"{tmp_path}/m2m/{C.PROMPT_LINE_MENU}"
    assert restarted.duration("en", C.PROMPT_LINE_MENU, "m2m") == 3.0
    assert restarted.sound_for("sw", LANGUAGES, "m2m") == f"{tmp_path}/m2m/{LANGUAGES}"
