"""Shared pieces of the calling-service tests: a programme whose slot is open now, women on
simulated phones, and a service bound to the sandbox."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scheduler.model import Subscriber
from scheduler.programme import PROGRAMMES_DIR, load_programme

TEST_MESSAGE = "test-msg"


def noon_zone(now: datetime) -> str:
    """An Etc/GMT zone where it is about midday now, so every test finds her slot open."""
    offset = 12 - now.astimezone(timezone.utc).hour          # hours east of UTC
    offset = max(-12, min(offset, 14))
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def quick_programme(tmp: Path, *, gaps: dict[str, str], max_attempts: int = 3,
                   per_day: int = 3, lease: str = "5m", base: str = "mmitra") -> Path:
    """mmitra (or another shipped programme, `base`) with quick retries."""
    text = (PROGRAMMES_DIR / f"{base}.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^max_attempts = \d+', f"max_attempts = {max_attempts}", text, count=1)
    text = re.sub(r'(?m)^per_day = \d+', f"per_day = {per_day}", text, count=1)
    text = re.sub(r'(?m)^(\[retry\]\n)', rf'\1lease = "{lease}"\n', text, count=1)
    for outcome, gap in gaps.items():
        text = re.sub(rf'(?m)^{outcome} = "[^"]*"', f'{outcome} = "{gap}"', text, count=1)
    path = tmp / ("test-programme.toml" if base == "mmitra" else f"test-{base}.toml")
    path.write_text(text, encoding="utf-8")
    load_programme(path)                       # a bad patch fails here, clearly
    return path


def woman_on(phone: str, now: datetime, *, weeks: int = 12, language: str = "hi") -> Subscriber:
    return Subscriber(id=0, phone=phone, language=language, slot="12-15",
                      timezone=noon_zone(now), lmp=now.date() - timedelta(weeks=weeks))


def all_messages_are(sounds: Path, key: str, programme_path: Path) -> None:
    """Every message of the programme plays the test recording (links in the catalogue)."""
    programme = load_programme(programme_path)
    for lang_dir in sounds.iterdir():
        source = lang_dir / f"{key}.wav"
        if not source.exists():
            continue
        for m in programme.messages:
            target = lang_dir / f"{m.key}.wav"
            if not target.exists():
                target.symlink_to(source)


def with_programme(config, path: Path):
    return replace(config, programme=str(path))


def two_programmes(call_config, tmp_path: Path, sounds: Path, other: str):
    """The configuration of an installation running mMitra (the default) and the shipped
    programme `other`, both with quick retries (quick_programme), on the catalogue `sounds`
    where every message of both plays the test recording."""
    mmitra_path = quick_programme(tmp_path, gaps={})
    other_path = quick_programme(tmp_path, gaps={}, base=other)
    for path in (mmitra_path, other_path):
        all_messages_are(sounds, TEST_MESSAGE, path)
    return replace(call_config, sounds=sounds, programme=str(mmitra_path),
                   other_programmes=(str(other_path),))


def linked_sounds(test_sounds: Path, tmp_path: Path, languages: dict[str, str]) -> Path:
    """A catalogue in tmp_path/sounds: each language's files links to the test catalogue's
    files of the language it is mapped to ({"fr": "hi"}: the Hindi recordings as French)."""
    sounds = tmp_path / "sounds"
    for lang, source in languages.items():
        (sounds / lang).mkdir(parents=True)
        for f in (test_sounds / source).glob("*.wav"):
            (sounds / lang / f.name).symlink_to(f.resolve())
    return sounds
