"""Read facts about WAV files and raw PCM (stdlib only: wave, audioop, array).

audioop is deprecated on Python 3.11/3.12 and removed in 3.13, where the audioop-lts package
(a project dependency there) provides it; pydub needs it as well.
"""
from __future__ import annotations

import math
import os
import sys
import warnings
import wave
from array import array
from pathlib import Path
from typing import Any

from audio.catalogue import Entry, FileFacts, entry_path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

_ARRAY_CODE = {1: "b", 2: "h", 4: "i"}


def dbfs(value: float, width: int) -> float:
    """Level of a sample value (peak or RMS) in dB relative to full scale."""
    if value <= 0:
        return -math.inf
    return 20 * math.log10(value / float(1 << (8 * width - 1)))


def analyse(raw: bytes | memoryview, width: int) -> tuple[float, float, float]:
    """(peak dBFS, RMS dBFS, share of samples at full scale) of signed little-endian PCM."""
    n = len(raw) // width
    if n == 0:
        return -math.inf, -math.inf, 0.0
    raw = raw[: n * width]
    peak = dbfs(audioop.max(raw, width), width)
    rms = dbfs(audioop.rms(raw, width), width)
    top = (1 << (8 * width - 1)) - 1
    if audioop.max(raw, width) < top:
        return peak, rms, 0.0      # the common case: nothing reaches full scale
    if width not in _ARRAY_CODE:   # 24-bit: count on a 16-bit copy
        raw, width = audioop.lin2lin(raw, width, 2), 2
        top = 32767
    samples = array(_ARRAY_CODE[width])
    samples.frombytes(raw)
    if sys.byteorder != "little":
        samples.byteswap()
    at_full_scale = samples.count(top) + samples.count(-top - 1)
    return peak, rms, at_full_scale / n


def read_facts(path: Path, content: bool = True) -> FileFacts:
    """Header facts, and with `content` the levels and clipping. Never raises for bad files."""
    try:
        with wave.open(os.fspath(path), "rb") as w:
            facts: dict[str, Any] = dict(sample_rate=w.getframerate(), channels=w.getnchannels(),
                         sample_width=w.getsampwidth(), frames=w.getnframes(),
                         compressed=w.getcomptype() != "NONE")
            raw = w.readframes(w.getnframes()) if content else b""
    except (OSError, EOFError, wave.Error) as e:
        return FileFacts(error=_reason(e))
    if content and facts["sample_width"] in (1, 2, 3, 4) and not facts["compressed"]:
        if len(raw) < facts["frames"] * facts["channels"] * facts["sample_width"]:
            return FileFacts(**facts, error="truncated: the header promises more audio than "
                                            "the file holds")
        if facts["sample_width"] == 1:   # 8-bit WAV is unsigned
            raw = audioop.bias(raw, 1, -128)
        peak, rms, clipped = analyse(raw, facts["sample_width"])
        return FileFacts(**facts, peak_dbfs=peak, rms_dbfs=rms, clipped_fraction=clipped)
    return FileFacts(**facts)


def _reason(e: Exception) -> str:
    if isinstance(e, FileNotFoundError):
        return "no such file"
    if isinstance(e, EOFError):
        return "truncated WAV header"
    if isinstance(e, wave.Error):
        if str(e).startswith("unknown format"):
            return (f"not a plain PCM WAV ({e}); Asterisk plays 16-bit PCM only "
                    "(re-import it with: ivr audio import)")
        return f"not a usable WAV file ({e})"
    return f"cannot read: {e.strerror or e}" if isinstance(e, OSError) else str(e)


def catalogue_facts(sounds: Path, entries: list[Entry],
                    content: bool = True) -> dict[Entry, FileFacts | None]:
    """Facts for every entry whose file exists (missing files are left out)."""
    out: dict[Entry, FileFacts | None] = {}
    for entry in entries:
        path = entry_path(sounds, entry)
        if path.is_file():
            out[entry] = read_facts(path, content)
    return out
