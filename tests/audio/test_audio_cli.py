"""`ivr audio import / check / demo` through click's CliRunner, with IVR_HOME in a temp dir."""
from __future__ import annotations

import json
import time
import wave

import pytest
from click.testing import CliRunner

from audio.catalogue import Limits, check, expected_entries
from audio.demo import DEMO_LIMITS, KEPT, WRITTEN, make_demo
from audio.importer import DUPLICATE, IGNORED, IMPORTED, REJECTED, UNKNOWN, plan
from audio.probe import catalogue_facts
from cli import main
from ivr.constants import PROMPTS
from tests.audio.conftest import ffmpeg_encode, needs_ffmpeg, sox


def run(home, *args):
    return CliRunner().invoke(main, list(args), env={"IVR_HOME": str(home), "IVR_CONFIG": None,
                                                     "IVR_SOUNDS": None, "IVR_PROGRAMME": None})


def lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def recordings(tmp_path):
    src = tmp_path / "recordings"
    sox(src / "mmitra-p001.wav", "vol", "0.2", "pad", "0.5", "0.5", rate=44100, channels=2)
    sox(src / "mmitra-p002.wav", "vol", "0", synth=("whitenoise",))           # silent
    sox(src / "mmitra-p003.wav", "vol", "4", rate=16000)                       # clipped
    sox(src / "ivr-greeting.wav", "vol", "0.3", seconds=1)                     # a prompt
    sox(src / "MMITRA-P004.WAV", "vol", "0.3", seconds=3)                      # case is forgiven
    sox(src / "mmitra-p999.wav", "vol", "0.3")                                 # unknown key
    sox(src / "mmitra-p005.wav", "vol", "0.3")                                 # two files ...
    (src / "mmitra-p005.mp3").write_bytes(b"ID3")                              # ... for one key
    (src / "notes.txt").write_text("recorded on 1 March\n")
    return src


def test_import_reports_every_file_and_writes_the_good_ones(tmp_path, recordings):
    home = tmp_path / "home"
    r = run(home, "audio", "import", str(recordings), "--lang", "mr", "--min", "1", "--max", "5",
            "--json")
    assert r.exit_code == 1, r.output
    got = {d["file"]: d for d in lines(r.stdout)}
    assert {f: d["status"] for f, d in got.items()} == {
        "mmitra-p001.wav": IMPORTED, "mmitra-p002.wav": REJECTED, "mmitra-p003.wav": IMPORTED,
        "ivr-greeting.wav": IMPORTED, "MMITRA-P004.WAV": IMPORTED, "mmitra-p999.wav": UNKNOWN,
        "mmitra-p005.wav": DUPLICATE, "mmitra-p005.mp3": DUPLICATE, "notes.txt": IGNORED}
    assert got["mmitra-p001.wav"]["problems"] == []
    assert got["mmitra-p001.wav"]["seconds"] == pytest.approx(2.3, abs=0.05)
    assert got["mmitra-p001.wav"]["source_seconds"] == pytest.approx(3.0, abs=0.01)
    assert [p["code"] for p in got["mmitra-p002.wav"]["problems"]] == ["silent"]
    assert [p["code"] for p in got["mmitra-p003.wav"]["problems"]] == ["clipped"]
    sounds = home / "sounds" / "mr"
    assert sorted(p.name for p in sounds.iterdir()) == [
        "ivr-greeting.wav", "mmitra-p001.wav", "mmitra-p003.wav", "mmitra-p004.wav"]
    with wave.open(str(sounds / "mmitra-p001.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    assert "4 of 9 files imported" in r.stderr and "mmitra-p001" not in r.stderr


def test_import_reports_durations_outside_the_default_range(tmp_path):
    src = sox(tmp_path / "in" / "mmitra-p001.wav", "vol", "0.3", seconds=2)
    r = run(tmp_path / "home", "audio", "import", str(src), "--lang", "hi")
    assert r.exit_code == 1
    assert "mmitra-p001.wav\timported\t    2.0 s\ttoo-short: 2.0 s is shorter than 60 s" in r.stdout
    assert (tmp_path / "home" / "sounds" / "hi" / "mmitra-p001.wav").is_file()


def test_clean_import_exits_0(tmp_path):
    src = sox(tmp_path / "in" / "mmitra-p001.wav", "vol", "0.3", seconds=2)
    r = run(tmp_path / "home", "audio", "import", str(src.parent), "--lang", "gu", "--min", "1")
    assert r.exit_code == 0, r.output
    assert "1 of 1 files imported" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["--lang", "fr"], "'fr' is not a language of mmitra"),
    (["--lang", "hi", "--programme", "nope"], "nope"),
    (["--lang", "hi", "--min", "9", "--max", "3"], "min <= max"),
])
def test_import_usage_errors_are_clear(tmp_path, args, message):
    src = sox(tmp_path / "in" / "mmitra-p001.wav", "vol", "0.3")
    r = run(tmp_path / "home", "audio", "import", str(src), *args)
    assert r.exit_code in (1, 2) and message in r.output, r.output
    assert not (tmp_path / "home" / "sounds").exists()


def test_import_of_a_missing_folder_is_a_usage_error(tmp_path):
    r = run(tmp_path / "home", "audio", "import", str(tmp_path / "nowhere"), "--lang", "hi")
    assert r.exit_code == 2 and "does not exist" in r.output


@needs_ffmpeg
def test_import_mp3_with_both_workers(tmp_path):
    src = tmp_path / "mp3"
    src.mkdir()
    wav = sox(tmp_path / "tone.wav", "vol", "0.2", rate=44100, channels=2, seconds=3)
    for i in range(1, 5):
        ffmpeg_encode(wav, src / f"mmitra-p00{i}.mp3")
    r = run(tmp_path / "home", "audio", "import", str(src), "--lang", "en", "--min", "1",
            "--jobs", "2", "--json")
    assert r.exit_code == 0, r.output
    assert [d["status"] for d in lines(r.stdout)] == [IMPORTED] * 4
    assert all(d["seconds"] == pytest.approx(3.0, abs=0.1) for d in lines(r.stdout))


def test_plan_sets_aside_what_cannot_be_imported(tmp_path, recordings):
    names = {"mmitra-p001": "message", "mmitra-p005": "message", "ivr-greeting": "prompt"}
    jobs, aside = plan(recordings, names, "hi", tmp_path / "sounds", Limits())
    assert [j.entry.name for j in jobs] == ["ivr-greeting", "mmitra-p001"]
    assert jobs[0].entry.kind == "prompt"
    assert jobs[0].dest == tmp_path / "sounds/hi/ivr-greeting.wav"
    assert sorted((r.src.name, r.status) for r in aside) == [
        ("MMITRA-P004.WAV", UNKNOWN), ("mmitra-p002.wav", UNKNOWN), ("mmitra-p003.wav", UNKNOWN),
        ("mmitra-p005.mp3", DUPLICATE), ("mmitra-p005.wav", DUPLICATE),
        ("mmitra-p999.wav", UNKNOWN), ("notes.txt", IGNORED)]


def test_check_lists_what_is_missing_or_wrong(tmp_path):
    home = tmp_path / "home"
    r = run(home, "audio", "check", "--json")
    assert r.exit_code == 1
    problems = lines(r.stdout)
    assert len(problems) == (141 + len(PROMPTS)) * 4
    assert {p["code"] for p in problems} == {"missing"}
    assert f"{(141 + len(PROMPTS)) * 4} files expected" in r.stderr
    # One bad file among what is there: wrong format.
    sox(home / "sounds" / "hi" / "mmitra-p001.wav", rate=16000)
    r = run(home, "audio", "check")
    assert "hi/mmitra-p001: format: 16000 Hz (need 8000)" in r.stdout


def test_demo_subset_then_idempotent(tmp_path):
    """A small subset through the same code as `ivr audio demo` (the full run is measured in
    bench/results/audio.md): written, valid, then kept on a second run."""
    keys = ["mmitra-p001", "mmitra-p002"]
    entries = expected_entries(keys, ["hi", "gu"], prompts=PROMPTS[:2])
    sounds = tmp_path / "sounds"
    first = make_demo(entries, keys, sounds, workers=2)
    assert [r.status for r in first] == [WRITTEN] * len(entries), first
    assert check(entries, catalogue_facts(sounds, entries), DEMO_LIMITS) == []
    # Hindi and Gujarati speech differ, and are a few seconds long.
    with wave.open(str(sounds / "hi" / "mmitra-p002.wav")) as a, \
            wave.open(str(sounds / "gu" / "mmitra-p002.wav")) as b:
        assert a.readframes(a.getnframes()) != b.readframes(b.getnframes())
        assert 1.0 < a.getnframes() / 8000 < 10
    (sounds / "gu" / "mmitra-p001.wav").write_bytes(b"broken")
    t0 = time.perf_counter()
    second = make_demo(entries, keys, sounds, workers=2)
    assert time.perf_counter() - t0 < 5
    assert sorted(r.entry.name for r in second if r.status == WRITTEN) == ["mmitra-p001"]
    assert sum(r.status == KEPT for r in second) == len(entries) - 1


def test_demo_without_espeak_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))       # neither espeak-ng nor sox
    keys = ["mmitra-p001"]
    [result] = make_demo(expected_entries(keys, ["hi"], prompts=()), keys, tmp_path / "s")
    assert result.status == "failed" and "apt-get install --no-install-recommends espeak-ng" \
        in result.detail


def test_demo_command_for_the_whole_programme(tmp_path):
    """The one full run in the suite: every mmitra message and prompt in 4 languages."""
    home = tmp_path / "home"
    r = run(home, "audio", "demo")
    assert r.exit_code == 0, r.output
    files = (141 + len(PROMPTS)) * 4
    assert f"{files} written, 0 kept, 0 failed" in r.stderr
    r = run(home, "audio", "check", "--min", "1")
    assert r.exit_code == 0 and r.stdout == "", r.output
    r = run(home, "audio", "demo")
    assert f"0 written, {files} kept, 0 failed" in r.stderr


def test_a_stray_text_file_does_not_fail_a_clean_import(tmp_path):
    src = sox(tmp_path / "in" / "mmitra-p001.wav", "vol", "0.3", seconds=2).parent
    (src / "notes.txt").write_text("recorded on 1 March\n")
    r = run(tmp_path / "home", "audio", "import", str(src), "--lang", "en", "--min", "1")
    assert r.exit_code == 0, r.output
    assert "notes.txt\tignored" in r.stdout and "1 of 2 files imported" in r.stderr


def test_demo_never_replaces_a_real_recording(tmp_path):
    keys = ["mmitra-p001", "mmitra-p002"]
    sounds = tmp_path / "sounds"
    real = sox(sounds / "hi" / "mmitra-p001.wav", "vol", "0.3", seconds=90)   # a real message
    before = real.read_bytes()
    results = make_demo(expected_entries(keys, ["hi"], prompts=()), keys, sounds, workers=1)
    assert [(r.entry.name, r.status) for r in results] == [("mmitra-p001", KEPT),
                                                            ("mmitra-p002", WRITTEN)]
    assert real.read_bytes() == before
    forced = make_demo(expected_entries(keys, ["hi"], prompts=()), keys, sounds, force=True,
                       workers=1)
    assert [r.status for r in forced] == [WRITTEN, WRITTEN] and real.read_bytes() != before
