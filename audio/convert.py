"""Convert a recording to what Asterisk plays best: 8 kHz, mono, 16-bit PCM WAV, leading and
trailing silence trimmed, loudness normalised to a target RMS level (never above a peak ceiling).

- WAV (plain PCM) is read by pydub itself; every other format (MP3, OGG/Opus, M4A/AAC, FLAC,
  AMR...) and non-PCM WAV (A-law, float) is decoded by ffmpeg, which is optional: without it
  a clear ToolMissing error names the Debian package.
- Down-mixing and resampling are done by sox (a host tool the project installs): pydub's
  audioop.ratecv has no anti-alias filter, so a 6 kHz tone resampled to 8 kHz comes back as a
  loud 2 kHz tone (-9.5 dBFS from a -9 dBFS source), where sox leaves -66 dB.
- Trimming, level, analysis and writing are pydub / stdlib. Output is written atomically.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import warnings
import wave
from dataclasses import dataclass, replace
from pathlib import Path

from audio.catalogue import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH, FileFacts
from audio.probe import analyse
from ivr.errors import BadInput, Unavailable

with warnings.catch_warnings():
    # pydub warns at import when ffmpeg is absent; ffmpeg is optional here (see ToolMissing),
    # and audioop is deprecated on 3.11/3.12 (audioop-lts replaces it on 3.13).
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pydub import AudioSegment
    from pydub.audio_segment import fix_wav_headers
    from pydub.exceptions import CouldntDecodeError
    from pydub.silence import detect_leading_silence

FFMPEG_PACKAGE = "ffmpeg"
SOX_PACKAGE = "sox"
# What people send: recorders, phones, messaging apps.
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac",
                              ".flac", ".amr", ".3gp", ".wma", ".webm", ".aif", ".aiff"})
MAX_SOURCE_SECONDS = 900.0     # a message is 1-2 minutes; refuse to load hours of audio


class ConversionError(BadInput):
    """A recording that cannot be converted; the message says why and what to do."""


class ToolMissing(ConversionError, Unavailable):
    """A host program (ffmpeg, sox) is needed and not installed; the message names the package."""


@dataclass(frozen=True)
class ConvertOptions:
    target_dbfs: float = -20.0       # RMS level after normalisation
    ceiling_dbfs: float = -1.0       # the gain never pushes peaks above this
    silence_dbfs: float = -50.0      # quieter 10 ms chunks at either end are trimmed
    keep_silence_ms: int = 150       # kept at each end so speech does not start abruptly
    timeout: float = 120.0           # seconds for one ffmpeg or sox run


@dataclass(frozen=True)
class Converted:
    """What the conversion did. `facts` is what validation judges: the output's format and
    duration, with the source's level (silence) and clipping (a property of the recording)."""
    source: FileFacts
    facts: FileFacts
    gain_db: float
    trimmed_ms: tuple[int, int]
    written: bool = False

    @property
    def seconds(self) -> float:
        return self.facts.duration


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def _tool(name: str, package: str, why: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{why} needs {name}, which is not installed: "
                          f"apt-get install --no-install-recommends {package}")
    return path


def _run(cmd: list[str], data: bytes | None, timeout: float, what: str) -> bytes:
    try:
        done = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL if data is None else None)
    except subprocess.TimeoutExpired:
        raise ConversionError(f"{what}: {Path(cmd[0]).name} took longer than {timeout:g} s") \
            from None
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        raise ConversionError(f"{what}: {Path(cmd[0]).name} failed: "
                              f"{err[-1] if err else f'exit code {done.returncode}'}")
    return done.stdout


def decode_wav_bytes(data: bytes, what: str) -> AudioSegment:
    """A WAV held in memory (also a streamed one whose header sizes are unset, as ffmpeg and
    espeak-ng write to a pipe) as a pydub AudioSegment."""
    buf = bytearray(data)
    try:
        fix_wav_headers(buf)
        seg = AudioSegment(data=bytes(buf))
    except (CouldntDecodeError, ValueError, IndexError, EOFError) as e:
        raise ConversionError(f"{what}: not a readable WAV ({e})") from None
    if len(seg) / 1000 > MAX_SOURCE_SECONDS:
        raise ConversionError(f"{what}: {len(seg) / 1000:.0f} s long; a message is 1-2 minutes "
                              f"(at most {MAX_SOURCE_SECONDS:g} s are accepted)")
    return seg


def decode(src: Path, options: ConvertOptions = ConvertOptions()) -> AudioSegment:
    """Load a recording as a pydub AudioSegment at its own rate, channels and width."""
    src = Path(src)
    if src.suffix.lower() == ".wav":
        try:
            with open(src, "rb") as f:       # an open file: from_wav(path) leaks the handle
                data = f.read()
        except OSError as e:
            raise ConversionError(f"{src.name}: cannot read: {e.strerror or e}") from None
        if _is_plain_pcm_wav(data):
            return decode_wav_bytes(data, src.name)
    ffmpeg = _tool("ffmpeg", FFMPEG_PACKAGE, f"decoding {_why(src)}")
    out = _run([ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-i", os.fspath(src),
                "-t", f"{MAX_SOURCE_SECONDS + 1:g}", "-map", "0:a:0", "-vn",
                "-acodec", "pcm_s16le", "-f", "wav", "-"], None, options.timeout, src.name)
    if not out:
        raise ConversionError(f"{src.name}: ffmpeg found no audio in it")
    return decode_wav_bytes(out, src.name)


def _wav_format(data: bytes) -> tuple[int, int, int, int, int] | None:
    """(format code, channels, rate, bits, offset of the audio) from a RIFF/WAVE header, or None.
    The data chunk's size is not trusted: a WAV streamed to a pipe leaves it unset."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if cid == b"fmt ":
            code = int.from_bytes(data[pos + 8:pos + 10], "little")
            if code == 0xFFFE:               # extensible: the subformat GUID starts with the code
                code = int.from_bytes(data[pos + 32:pos + 34], "little")
            fmt = (code, int.from_bytes(data[pos + 10:pos + 12], "little"),
                   int.from_bytes(data[pos + 12:pos + 16], "little"),
                   int.from_bytes(data[pos + 22:pos + 24], "little"))
        elif cid == b"data":
            return None if fmt is None else (*fmt, pos + 8)
        pos += 8 + size + (size & 1)
    return None


def _is_plain_pcm_wav(data: bytes) -> bool:
    fmt = _wav_format(data)
    return fmt is not None and fmt[0] == 1


@dataclass(frozen=True)
class Decoded:
    """A recording as sent (its facts: format, length, level, clipping) and its 8 kHz version."""
    source: FileFacts
    telephone: AudioSegment        # 8 kHz, mono, 16-bit


def load(src: Path, options: ConvertOptions = ConvertOptions()) -> Decoded:
    """Decode and resample. Plain WAV: pydub reads it, sox resamples. Anything else: one ffmpeg
    run decodes it once and writes both the source samples (for the clipping count) and the
    band-limited 8 kHz mono version, which halves the work of a decode-then-sox pipeline."""
    src = Path(src)
    if src.suffix.lower() == ".wav":
        with open(src, "rb") as f:
            head = f.read(1 << 16)
        if _is_plain_pcm_wav(head):
            seg = decode(src, options)
            return Decoded(source_facts(seg), resample(seg, options))
    ffmpeg = _tool("ffmpeg", FFMPEG_PACKAGE, f"decoding {_why(src)}")
    limit = ["-t", f"{MAX_SOURCE_SECONDS + 1:g}", "-map", "0:a:0", "-vn", "-acodec", "pcm_s16le"]
    with tempfile.TemporaryDirectory(prefix="ivr-audio-") as tmp:
        tel_path = Path(tmp) / "telephone.raw"
        out = _run([ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-i", os.fspath(src),
                    *limit, "-f", "wav", "pipe:1",
                    *limit, "-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE), "-f", "s16le",
                    os.fspath(tel_path)], None, options.timeout, src.name)
        tel = tel_path.read_bytes()
    fmt = _wav_format(out)
    if fmt is None or fmt[0] != 1 or fmt[3] != 16 or not tel:
        raise ConversionError(f"{src.name}: ffmpeg found no audio in it")
    _, channels, rate, _, offset = fmt
    data = memoryview(out)[offset:]
    data = data[: len(data) - len(data) % (2 * channels)]
    if len(data) / (2 * channels * rate) > MAX_SOURCE_SECONDS:
        raise ConversionError(f"{src.name}: longer than {MAX_SOURCE_SECONDS:g} s; a message is "
                              "1-2 minutes")
    peak, rms, clipped = analyse(data, 2)
    facts = FileFacts(sample_rate=rate, channels=channels, sample_width=2,
                      frames=len(data) // (2 * channels), peak_dbfs=peak, rms_dbfs=rms,
                      clipped_fraction=clipped)
    tel = tel[: len(tel) - len(tel) % SAMPLE_WIDTH]
    return Decoded(facts, AudioSegment(data=tel, sample_width=SAMPLE_WIDTH,
                                       frame_rate=SAMPLE_RATE, channels=CHANNELS))


def _why(src: Path) -> str:
    if src.suffix.lower() == ".wav":
        return f"{src.name} (a WAV that is not plain PCM, e.g. A-law or float)"
    return f"{src.name} ({src.suffix.lower().lstrip('.') or 'no extension'})"


def resample(seg: AudioSegment, options: ConvertOptions = ConvertOptions()) -> AudioSegment:
    """Down-mix to mono and resample to 8 kHz 16-bit with sox's band-limited resampler."""
    if seg.sample_width != SAMPLE_WIDTH:
        seg = seg.set_sample_width(SAMPLE_WIDTH)
    if seg.frame_rate == SAMPLE_RATE and seg.channels == CHANNELS:
        return seg
    sox = _tool("sox", SOX_PACKAGE, "resampling to 8 kHz")
    raw = ["-t", "raw", "-e", "signed-integer", "-b", "16", "-L"]
    out = _run([sox, "-D", "-G", "-V1", *raw, "-r", str(seg.frame_rate), "-c", str(seg.channels),
                "-", *raw, "-r", str(SAMPLE_RATE), "-c", str(CHANNELS), "-"],
               seg.raw_data, options.timeout, "resampling")
    out = out[: len(out) - len(out) % SAMPLE_WIDTH]
    return AudioSegment(data=out, sample_width=SAMPLE_WIDTH, frame_rate=SAMPLE_RATE,
                        channels=CHANNELS)


def source_facts(seg: AudioSegment) -> FileFacts:
    peak, rms, clipped = analyse(seg.raw_data, seg.sample_width)
    return FileFacts(sample_rate=seg.frame_rate, channels=seg.channels,
                     sample_width=seg.sample_width, frames=int(seg.frame_count()),
                     peak_dbfs=peak, rms_dbfs=rms, clipped_fraction=clipped)


def trim(seg: AudioSegment, options: ConvertOptions) -> tuple[AudioSegment, int, int]:
    """Cut leading and trailing silence, keeping `keep_silence_ms` at each end."""
    lead = detect_leading_silence(seg, silence_threshold=options.silence_dbfs, chunk_size=10)
    if lead >= len(seg):
        return seg[:0], len(seg), 0
    trail = detect_leading_silence(seg.reverse(), silence_threshold=options.silence_dbfs,
                                   chunk_size=10)
    start = max(0, lead - options.keep_silence_ms)
    end = min(len(seg), len(seg) - trail + options.keep_silence_ms)
    return seg[start:end], start, len(seg) - end


def normalise(seg: AudioSegment, options: ConvertOptions) -> tuple[AudioSegment, float]:
    """Gain to the target RMS level, limited so that peaks stay under the ceiling."""
    if len(seg) == 0 or math.isinf(seg.dBFS) or seg.dBFS < options.silence_dbfs:
        return seg, 0.0                      # do not amplify silence into noise
    gain = min(options.target_dbfs - seg.dBFS, options.ceiling_dbfs - seg.max_dBFS)
    if abs(gain) < 0.05:
        return seg, 0.0
    return seg.apply_gain(gain), gain


def prepare(source: AudioSegment, options: ConvertOptions = ConvertOptions()) -> Decoded:
    """A decoded recording (e.g. espeak-ng's output) analysed and resampled."""
    return Decoded(source_facts(source), resample(source, options))


def to_telephone(decoded: Decoded,
                 options: ConvertOptions = ConvertOptions()) -> tuple[AudioSegment, Converted]:
    """Trim and normalise the 8 kHz version; judge with the source's clipping and level."""
    src, seg = decoded.source, decoded.telephone
    seg, cut_lead, cut_trail = trim(seg, options)
    level = seg.dBFS if len(seg) else -math.inf   # the recording's level, before any gain
    seg, gain = normalise(seg, options)
    peak, _, _ = analyse(seg.raw_data, SAMPLE_WIDTH)
    facts = FileFacts(sample_rate=SAMPLE_RATE, channels=CHANNELS, sample_width=SAMPLE_WIDTH,
                      frames=int(seg.frame_count()), peak_dbfs=peak, rms_dbfs=level,
                      clipped_fraction=src.clipped_fraction)
    if facts.frames == 0:
        facts = replace(facts, rms_dbfs=src.rms_dbfs)
    return seg, Converted(source=src, facts=facts, gain_db=gain, trimmed_ms=(cut_lead, cut_trail))


def write_wav(seg: AudioSegment, dest: Path) -> None:
    """Write 8 kHz mono 16-bit PCM atomically: a temp file beside dest, then os.replace."""
    if (seg.frame_rate, seg.channels, seg.sample_width) != (SAMPLE_RATE, CHANNELS, SAMPLE_WIDTH):
        raise ConversionError(f"refusing to write {dest.name}: not 8 kHz mono 16-bit")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".tmp", dir=dest.parent)
    done = False
    try:
        with os.fdopen(fd, "wb") as f:
            with wave.open(f, "wb") as w:
                w.setnchannels(CHANNELS)
                w.setsampwidth(SAMPLE_WIDTH)
                w.setframerate(SAMPLE_RATE)
                w.writeframes(seg.raw_data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        done = True
    finally:
        if not done:
            Path(tmp).unlink(missing_ok=True)


def is_silent(result: Converted, options: ConvertOptions = ConvertOptions()) -> bool:
    level = result.facts.rms_dbfs
    return result.facts.frames == 0 or level is None or level < options.silence_dbfs


def convert_file(src: Path, dest: Path | None,
                 options: ConvertOptions = ConvertOptions()) -> Converted:
    """Decode, convert and write one file to dest, unless dest is None or the recording is
    silent (a silent message is worse than a missing one: the fallback language is played)."""
    seg, result = to_telephone(load(src, options), options)
    if dest is not None and not is_silent(result, options):
        write_wav(seg, dest)
        result = replace(result, written=True)
    return result
