"""Real test recordings made with sox (and ffmpeg for compressed formats, when installed)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HAVE_FFMPEG = shutil.which("ffmpeg") is not None


# scripts/setup.sh installs ffmpeg (MP3/OGG/M4A import needs it): a test that needs it fails,
# never skips, where it is missing, so CI cannot go green without the feature.
needs_ffmpeg = pytest.mark.usefixtures("_ffmpeg_installed")


@pytest.fixture
def _ffmpeg_installed():
    if not HAVE_FFMPEG:
        pytest.fail("ffmpeg is not installed: run scripts/setup.sh "
                    "(apt-get install --no-install-recommends ffmpeg)", pytrace=False)


def sox(path: Path, *effects: str, rate: int = 8000, channels: int = 1, bits: int = 16,
        seconds: float = 2.0, synth: tuple[str, ...] = ("sine", "440"),
        encoding: tuple[str, ...] = ()) -> Path:
    """`sox -n` synthesis: a tone (or `synth`) of `seconds`, then `effects` (vol, pad...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-V1", "-n", "-r", str(rate), "-c", str(channels), "-b", str(bits),
                    *encoding, str(path), "synth", str(seconds), *synth, *effects],
                   check=True, capture_output=True)
    return path


def ffmpeg_encode(src: Path, dest: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), *args, str(dest)],
                   check=True, capture_output=True)
    return dest


@pytest.fixture
def no_ffmpeg_path(tmp_path, monkeypatch):
    """A PATH with sox and espeak-ng but no ffmpeg (the real tools, linked)."""
    bin_dir = tmp_path / "bin-without-ffmpeg"
    bin_dir.mkdir()
    for tool in ("sox", "espeak-ng"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed by the tests (scripts/setup.sh installs it)"
        (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir
