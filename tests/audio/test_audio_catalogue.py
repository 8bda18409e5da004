"""The pure catalogue: layout, expected entries, the validation table, the live Catalogue."""
from __future__ import annotations

import math
import os
import wave
from pathlib import Path

import pytest

from audio import catalogue as cat
from audio.catalogue import (Catalogue, Entry, FileFacts, Limits, MESSAGE, PROMPT, check,
                             duration_seconds, expected_entries, file_path, sound_path, validate)
from ivr.constants import PROMPTS


def write_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A mono 16-bit WAV of a constant low value (the catalogue reads headers only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x10\x00" * int(seconds * rate))
    return path


def test_paths_follow_the_layout(tmp_path):
    assert sound_path(tmp_path, "mmitra-p012") == f"{tmp_path}/mmitra-p012"
    assert file_path(tmp_path, "hi", "mmitra-p012") == tmp_path / "hi" / "mmitra-p012.wav"


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a b", "Upper", "x\r\nAction: Originate",
                                  "a/b", "-lead"])
def test_bad_names_are_refused(tmp_path, name):
    with pytest.raises(cat.CatalogueError, match="bad sound name"):
        sound_path(tmp_path, name)
    with pytest.raises(cat.CatalogueError):
        file_path(tmp_path, "hi", name)


@pytest.mark.parametrize("lang", ["", "HI", "h", "hi/..", "../x", "hindi-language-x"])
def test_bad_languages_are_refused(tmp_path, lang):
    with pytest.raises(cat.CatalogueError, match="bad language"):
        file_path(tmp_path, lang, "ivr-menu")


def test_expected_entries_cover_every_message_and_prompt_in_every_language():
    entries = expected_entries(["m-1", "m-2"], ["hi", "en"])
    assert len(entries) == 2 * (2 + len(PROMPTS))
    assert Entry("en", "m-2", MESSAGE) in entries
    assert Entry("hi", "ivr-greeting", PROMPT) in entries
    assert len(set(entries)) == len(entries)


def test_a_name_used_twice_is_an_error():
    with pytest.raises(cat.CatalogueError, match="twice"):
        expected_entries(["m-1", "m-1"], ["hi"])
    with pytest.raises(cat.CatalogueError, match="ivr-menu"):
        expected_entries(["ivr-menu"], ["hi"])


GOOD = FileFacts(sample_rate=8000, channels=1, sample_width=2, frames=90 * 8000,
                 peak_dbfs=-3.0, rms_dbfs=-20.0, clipped_fraction=0.0)
MSG = Entry("hi", "m-1", MESSAGE)
PR = Entry("hi", "ivr-menu", PROMPT)


def replace(facts: FileFacts, **kw) -> FileFacts:
    from dataclasses import replace as r
    return r(facts, **kw)


@pytest.mark.parametrize("entry,facts,codes", [
    (MSG, GOOD, []),
    (MSG, None, ["missing"]),
    (MSG, FileFacts(error="not a usable WAV file"), ["unreadable"]),
    (MSG, replace(GOOD, sample_rate=44100, frames=90 * 44100), ["format"]),
    (MSG, replace(GOOD, channels=2), ["format"]),
    (MSG, replace(GOOD, sample_width=1), ["format"]),
    (MSG, replace(GOOD, compressed=True), ["format"]),
    (MSG, replace(GOOD, frames=0), ["empty"]),
    (MSG, replace(GOOD, frames=59 * 8000), ["too-short"]),
    (MSG, replace(GOOD, frames=60 * 8000), []),
    (MSG, replace(GOOD, frames=120 * 8000), []),
    (MSG, replace(GOOD, frames=121 * 8000), ["too-long"]),
    (MSG, replace(GOOD, rms_dbfs=-60.0), ["silent"]),
    (MSG, replace(GOOD, rms_dbfs=-math.inf, peak_dbfs=-math.inf), ["silent"]),
    (MSG, replace(GOOD, clipped_fraction=0.01), ["clipped"]),
    (MSG, replace(GOOD, clipped_fraction=0.00005), []),
    (MSG, replace(GOOD, frames=10 * 8000, clipped_fraction=0.01), ["too-short", "clipped"]),
    (MSG, replace(GOOD, rms_dbfs=None, clipped_fraction=None), []),    # header-only facts
    (PR, replace(GOOD, frames=3 * 8000), []),                          # prompts may be short
    (PR, replace(GOOD, frames=61 * 8000), ["too-long"]),
    (PR, replace(GOOD, frames=3 * 8000, rms_dbfs=-70.0), ["silent"]),
])
def test_validation_table(entry, facts, codes):
    problems = validate(entry, facts, Limits())
    assert [p.code for p in problems] == codes
    assert all(p.lang == entry.lang and p.name == entry.name and p.detail for p in problems)


def test_limits_are_configurable_and_checked():
    short = replace(GOOD, frames=3 * 8000)
    assert [p.code for p in validate(MSG, short, Limits())] == ["too-short"]
    assert validate(MSG, short, Limits(min_seconds=1, max_seconds=10)) == []
    with pytest.raises(cat.CatalogueError, match="min <= max"):
        Limits(min_seconds=10, max_seconds=5)


def test_problem_reads_well():
    [p] = validate(MSG, replace(GOOD, frames=30 * 8000), Limits())
    assert str(p) == "hi/m-1: too-short: 30.0 s is shorter than 60 s"


def test_check_counts_absent_entries_as_missing():
    entries = expected_entries(["m-1"], ["hi", "mr"], prompts=())
    problems = check(entries, {Entry("hi", "m-1"): GOOD}, Limits())
    assert [(p.lang, p.name, p.code) for p in problems] == [("mr", "m-1", "missing")]


def test_duration_from_the_header(tmp_path):
    assert duration_seconds(write_wav(tmp_path / "a.wav", 2.5)) == pytest.approx(2.5)
    (tmp_path / "bad.wav").write_bytes(b"not a wav at all")
    with pytest.raises(wave.Error):
        duration_seconds(tmp_path / "bad.wav")
    with pytest.raises(FileNotFoundError):
        duration_seconds(tmp_path / "none.wav")


def test_catalogue_has_duration_and_language_for(tmp_path):
    write_wav(tmp_path / "hi" / "m-1.wav", 2.0)
    write_wav(tmp_path / "mr" / "m-2.wav", 1.0)
    (tmp_path / "mr").mkdir(exist_ok=True)
    (tmp_path / "mr" / "m-1.wav").write_bytes(b"RIFF junk")            # corrupt: not playable
    c = Catalogue(tmp_path)
    assert c.sounds == tmp_path
    assert c.has("hi", "m-1") and not c.has("mr", "m-1") and not c.has("gu", "m-1")
    assert c.duration("hi", "m-1") == pytest.approx(2.0)
    assert c.duration("gu", "m-1") is None
    assert c.language_for("hi", "m-1", "hi") == "hi"
    assert c.language_for("mr", "m-1", "hi") == "hi"        # corrupt in mr: the fallback plays
    assert c.language_for("mr", "m-2", "hi") == "mr"
    assert c.language_for("gu", "m-2", "hi") is None
    assert c.sound("m-1") == f"{tmp_path}/m-1"


def test_catalogue_caches_durations_but_sees_a_reimport(tmp_path):
    path = write_wav(tmp_path / "hi" / "m-1.wav", 2.0)
    c = Catalogue(tmp_path)
    assert c.duration("hi", "m-1") == pytest.approx(2.0)
    assert c._durations[path][2] == pytest.approx(2.0)
    write_wav(path, 3.0)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert c.duration("hi", "m-1") == pytest.approx(3.0)
    path.unlink()
    assert c.duration("hi", "m-1") is None and not c.has("hi", "m-1")


def test_catalogue_reads_each_header_once(tmp_path):
    path = write_wav(tmp_path / "hi" / "m-1.wav", 2.0)
    c = Catalogue(tmp_path)
    assert c.duration("hi", "m-1") == pytest.approx(2.0)
    # Same mtime and size, different content: the cached value is used, the header not re-read.
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[24:28] = (16000).to_bytes(4, "little")               # the header's sample rate
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert c.duration("hi", "m-1") == pytest.approx(2.0)
    assert duration_seconds(path) == pytest.approx(1.0)
