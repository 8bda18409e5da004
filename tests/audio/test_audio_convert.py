"""Conversion on real files made by sox/ffmpeg: format, trimming, level, clipping, silence."""
from __future__ import annotations

import wave

import pytest

from audio.catalogue import Entry, Limits, validate
from audio.convert import (ConversionError, ConvertOptions, ToolMissing, convert_file, decode,
                           is_silent, resample, write_wav)
from audio.probe import read_facts
from tests.audio.conftest import ffmpeg_encode, needs_ffmpeg, sox

ENTRY = Entry("hi", "m-1")
SHORT = Limits(min_seconds=0.5, max_seconds=30)


def header(path):
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()


def test_44k_stereo_becomes_8k_mono_16bit_trimmed_and_normalised(tmp_path):
    src = sox(tmp_path / "in.wav", "vol", "0.1", "pad", "1", "1.5", rate=44100, channels=2,
              seconds=3)                                  # 1 s silence + 3 s tone + 1.5 s silence
    dest = tmp_path / "out" / "m-1.wav"
    result = convert_file(src, dest)
    assert result.written
    assert result.source.sample_rate == 44100 and result.source.channels == 2
    assert result.source.duration == pytest.approx(5.5, abs=0.01)
    rate, channels, width, frames = header(dest)
    assert (rate, channels, width) == (8000, 1, 2)
    # silence trimmed to the 150 ms kept at each end (10 ms detection granularity)
    assert frames / 8000 == pytest.approx(3.3, abs=0.03)
    assert result.seconds == pytest.approx(frames / 8000)
    facts = read_facts(dest)
    assert facts.rms_dbfs == pytest.approx(-20.0, abs=0.3)      # the target level
    assert facts.peak_dbfs < -1.0
    assert validate(ENTRY, facts, SHORT) == []
    assert list(dest.parent.iterdir()) == [dest]                 # no temp file left behind


def test_resampling_is_band_limited(tmp_path):
    """A 6 kHz tone cannot exist at 8 kHz: it must vanish, not fold back to 2 kHz."""
    src = sox(tmp_path / "hf.wav", "vol", "0.5", rate=44100, synth=("sine", "6000"))
    tone = decode(src)
    out = resample(tone)
    assert out.frame_rate == 8000
    assert tone.dBFS > -10 and out.dBFS < -50


def test_peak_ceiling_limits_the_gain(tmp_path):
    # A square wave's peak equals its RMS: reaching -20 dBFS RMS from -40 is fine, but a file
    # with a -1.5 dBFS peak and -25 dBFS RMS (a click in quiet speech) gains at most 0.5 dB.
    src = sox(tmp_path / "sq.wav", "vol", "0.01", synth=("square", "200"))
    r = convert_file(src, tmp_path / "sq-out.wav")
    assert r.gain_db == pytest.approx(0.0 - 20 - r.source.rms_dbfs, abs=0.3)
    assert r.facts.peak_dbfs <= -1.0 + 0.01


def test_clipped_recording_is_flagged(tmp_path):
    src = sox(tmp_path / "clip.wav", "vol", "4", rate=16000)     # a sine driven 12 dB over
    r = convert_file(src, tmp_path / "clip-out.wav")
    assert r.source.clipped_fraction > 0.3
    assert [p.code for p in validate(ENTRY, r.facts, SHORT)] == ["clipped"]


def test_loud_but_clean_recording_is_not_flagged(tmp_path):
    src = sox(tmp_path / "loud.wav", "vol", "0.99", rate=16000)
    r = convert_file(src, tmp_path / "loud-out.wav")
    assert r.source.clipped_fraction == 0.0
    assert validate(ENTRY, r.facts, SHORT) == []


@pytest.mark.parametrize("level", ["0", "0.001"])                 # digital silence, then hiss
def test_silent_recording_is_flagged_and_not_written(tmp_path, level):
    src = sox(tmp_path / "quiet.wav", "vol", level, synth=("whitenoise",))
    dest = tmp_path / "quiet-out.wav"
    r = convert_file(src, dest)
    assert not r.written and not dest.exists()
    assert is_silent(r) and r.source.rms_dbfs < -50
    assert [p.code for p in validate(ENTRY, r.facts, SHORT)] in (["silent"], ["empty"])


def test_existing_file_is_kept_when_a_conversion_fails(tmp_path):
    dest = sox(tmp_path / "m-1.wav", "vol", "0.3")
    before = dest.read_bytes()
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    with pytest.raises(ConversionError):
        convert_file(bad, dest)
    assert dest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav", "m-1.wav"]


def test_write_wav_refuses_the_wrong_format(tmp_path):
    seg = decode(sox(tmp_path / "s.wav", rate=16000))
    with pytest.raises(ConversionError, match="not 8 kHz mono 16-bit"):
        write_wav(seg, tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_24bit_and_8bit_wav_are_read_natively(tmp_path, no_ffmpeg_path):
    for bits in (24, 8):
        src = sox(tmp_path / f"b{bits}.wav", "vol", "0.3", rate=22050, bits=bits)
        r = convert_file(src, tmp_path / f"b{bits}-out.wav")
        assert r.written and header(tmp_path / f"b{bits}-out.wav")[:3] == (8000, 1, 2)
        assert r.facts.rms_dbfs == pytest.approx(r.source.rms_dbfs, abs=1.0)


def test_mp3_without_ffmpeg_names_the_package(tmp_path, no_ffmpeg_path):
    src = tmp_path / "m-1.mp3"
    src.write_bytes(b"\xff\xfb\x90\x00" + b"\x00" * 400)
    with pytest.raises(ToolMissing, match=r"apt-get install --no-install-recommends ffmpeg"):
        convert_file(src, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


def test_alaw_wav_without_ffmpeg_names_the_package(tmp_path, no_ffmpeg_path):
    src = sox(tmp_path / "alaw.wav", "vol", "0.3", bits=8, encoding=("-e", "a-law"))
    with pytest.raises(ToolMissing, match="not plain PCM.*ffmpeg"):
        convert_file(src, tmp_path / "out.wav")


@needs_ffmpeg
@pytest.mark.parametrize("ext,args", [
    ("mp3", ("-b:a", "128k")), ("ogg", ("-c:a", "libvorbis")), ("m4a", ("-c:a", "aac")),
    ("opus", ("-c:a", "libopus")),
])
def test_compressed_formats_are_decoded_by_ffmpeg(tmp_path, ext, args):
    wav = sox(tmp_path / "src.wav", "vol", "0.2", "pad", "0.5", "0.5", rate=44100, channels=2)
    src = ffmpeg_encode(wav, tmp_path / f"m-1.{ext}", *args)
    dest = tmp_path / "out.wav"
    r = convert_file(src, dest)
    assert r.written and header(dest)[:3] == (8000, 1, 2)
    assert r.seconds == pytest.approx(2.3, abs=0.1)            # 2 s tone + 2 x 150 ms kept
    assert validate(ENTRY, read_facts(dest), SHORT) == []


@needs_ffmpeg
def test_alaw_wav_is_decoded_by_ffmpeg(tmp_path):
    src = sox(tmp_path / "alaw.wav", "vol", "0.3", bits=8, encoding=("-e", "a-law"))
    r = convert_file(src, tmp_path / "out.wav")
    assert r.written and r.seconds == pytest.approx(2.0, abs=0.05)


@needs_ffmpeg
def test_a_file_that_is_not_audio_is_a_clear_error(tmp_path):
    src = tmp_path / "m-1.mp3"
    src.write_text("this is a text file, not an mp3\n" * 20)
    with pytest.raises(ConversionError, match="m-1.mp3"):
        convert_file(src, tmp_path / "out.wav", ConvertOptions(timeout=30))
    assert not (tmp_path / "out.wav").exists()
