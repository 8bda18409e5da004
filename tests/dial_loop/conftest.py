"""Fast tests of the calling service on a fake Asterisk (tests/fakes/ami_peer.py): the real
dial loop (ivr.service.Dialer), controller, FastAGI server and SQLite store in tmp_path;
only Asterisk is the fake.  No sandbox: each test runs in about a second."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ivr import constants as C
from ivr.adapters.schedule_store import ScheduleStore
from ivr.config import AmiSettings, Config, Trunk
from scheduler.programme import load_programme
from tests.audio.test_audio_catalogue import write_wav
from tests.e2e.run_helpers import TEST_MESSAGE, all_messages_are, quick_programme, woman_on
from tests.fakes.ami_peer import FakeAmi

MESSAGE_SECONDS = 0.5


@pytest.fixture
def sounds(tmp_path) -> Path:
    root = tmp_path / "sounds"
    write_wav(root / "hi" / f"{TEST_MESSAGE}.wav", MESSAGE_SECONDS)
    for prompt in C.PROMPTS:
        write_wav(root / "hi" / f"{prompt}.wav", 0.05)
    return root


@pytest.fixture
async def peer():
    async with FakeAmi() as fake:
        yield fake


def config_for(peer: FakeAmi, tmp_path: Path, sounds: Path, *, gaps: dict[str, str] | None = None,
               **trunk) -> Config:
    path = quick_programme(tmp_path, gaps=gaps or {"failed": "1h", "no_answer": "1h",
                                                   "busy": "1h"})
    all_messages_are(sounds, TEST_MESSAGE, path)
    settings = dict(ring_timeout=2.0, channels=10, cps=50.0, rest_after=0)
    settings.update(trunk)
    return Config(home=tmp_path / "home", database=tmp_path / "ivr.db", sounds=sounds,
                  programme=str(path),
                  ami=AmiSettings(port=peer.port, username=peer.username, secret=peer.secret,
                                  ping_interval=5.0, connect_timeout=5.0),
                  trunks=(Trunk("sim", "Local/{digits}@sim-phones", **settings),),
                  missed_spool=tmp_path / "spool" / "missed")


def schedule_of(service) -> ScheduleStore:
    return ScheduleStore(service.store, load_programme(service.config.programme))


async def enrol(schedule: ScheduleStore, phones: list[str]) -> dict[str, int]:
    """Women due now (her slot open), by phone -> subscriber id."""
    now = datetime.now(timezone.utc)
    out = {}
    for phone in phones:
        woman = await schedule.enrol(woman_on(phone, now), now, actor="test")
        out[phone] = woman.id
    return out


async def attempts(store) -> dict[int, dict]:
    """Every attempt row, by subscriber id (each woman has one in these tests)."""
    rows = await store.fetchall("SELECT * FROM attempts ORDER BY id")
    out: dict[int, dict] = {}
    for row in rows:
        assert row["subscriber_id"] not in out, "a woman was called twice"
        out[row["subscriber_id"]] = dict(row)
    return out


async def until(predicate, timeout: float = 10.0) -> None:
    """Poll the store (another task writes it) until predicate() is true."""
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.02)


def lease(service) -> float:
    return load_programme(service.config.programme).retry.lease.total_seconds()

