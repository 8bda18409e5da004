"""`ivr audio` with a programme's own prompt recordings (<sounds>/<programme>/<lang>/<key>.wav):
the demo writes m2m's English language list into m2m's folder (mMitra's shared English one is
left alone), import --own writes there, check checks the programme's own file."""
from __future__ import annotations

from audio.catalogue import PROMPT, Entry, programme_entries
from audio.demo import OWN_PROMPT_TEXT, make_demo
from ivr import constants as C
from scheduler.programme import load_programme
from tests.audio.test_audio_cli import lines, run

LANGUAGES = f"{C.PROMPT_LINE_LANGUAGES}.wav"


def every_file_of(programme: str, sounds) -> bytes:
    """Every shared file of the programme, each a copy of one demo prompt; that prompt."""
    make_demo([Entry("en", C.PROMPT_GREETING, PROMPT)], [], sounds)
    one = (sounds / "en" / f"{C.PROMPT_GREETING}.wav").read_bytes()
    for e in programme_entries(load_programme(programme))[0]:
        path = sounds / e.lang / f"{e.name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(one)
    return one


def test_programme_prompt_demo_writes_m2m_english_language_list_in_its_own_folder(tmp_path):
    home = tmp_path / "home"
    sounds = home / "sounds"
    one = every_file_of("m2m", sounds)
    r = run(home, "audio", "demo", "--programme", "m2m")
    assert r.exit_code == 0, r.output
    assert "1 written" in r.stderr and f"m2m's own recording: m2m/en/{LANGUAGES}" in r.stderr
    own = sounds / "m2m" / "en" / LANGUAGES
    assert own.is_file() and own.read_bytes() != one
    assert (sounds / "en" / LANGUAGES).read_bytes() == one       # the shared one: untouched
    assert "English, 2 for Swahili" in OWN_PROMPT_TEXT["m2m"]["en"][C.PROMPT_LINE_LANGUAGES]
    r = run(home, "audio", "check", "--programme", "m2m", "--min", "0")
    assert r.exit_code == 0, r.output
    assert "1 of them the programme's own, all good" in r.stderr
    # mMitra has no own recordings: its demo writes nothing in m2m's folder nor its own
    every_file_of("mmitra", sounds)
    r = run(home, "audio", "demo", "--programme", "mmitra")
    assert r.exit_code == 0 and "0 written" in r.stderr, r.output
    assert not (sounds / "mmitra").exists()


def test_programme_prompt_import_own_and_check_it(tmp_path):
    home = tmp_path / "home"
    sounds = home / "sounds"
    one = every_file_of("m2m", sounds)
    src = tmp_path / "recordings"
    src.mkdir()
    (src / LANGUAGES).write_bytes(one)
    r = run(home, "audio", "import", str(src), "--lang", "en", "--programme", "m2m", "--own")
    assert r.exit_code == 0, r.output
    assert f"1 of 1 files imported into {sounds / 'm2m' / 'en'}" in r.stderr
    assert "a running `ivr run` plays a recording new to this folder after its restart" in \
        r.stderr
    assert (sounds / "m2m" / "en" / LANGUAGES).is_file()
    # a broken own recording is what check names (its women would hear it), not the shared one
    (sounds / "m2m" / "en" / LANGUAGES).write_bytes(b"RIFF broken")
    r = run(home, "audio", "check", "--programme", "m2m", "--min", "0", "--json")
    assert r.exit_code == 1
    assert [(p["programme"], p["lang"], p["name"], p["code"]) for p in lines(r.stdout)] == [
        ("m2m", "en", C.PROMPT_LINE_LANGUAGES, "unreadable")]
