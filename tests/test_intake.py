"""The controller's intake of the missed-call spool, on a real SQLite database and real files
(and the real fallback script, killed half-way): each call once, the file deleted only after
the commit, nothing lost when the database write fails, bad files set aside."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ivr import constants as C
from ivr import intake as intake_module
from ivr import missed_spool
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.intake import MissedCallEvents, MissedCallIntake, prepare_spool
from ivr.missed_fallback import TEST_HOLD_ENV, install_wrapper
from ivr.missed_spool import SpooledCall
from ivr.protocol.ami import UserEvent
from ivr.run_status import Stats
from scheduler.model import Subscriber
from scheduler.programme import load_programme

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=timezone.utc)
PHONE = "919000011"
DID = "18001234567"


def call(uniqueid: str = "1700000000.42", caller: str = PHONE) -> SpooledCall:
    return SpooledCall(caller, DID, NOW.timestamp() - 1, uniqueid)


class World:
    def __init__(self, store: Store, spool: Path):
        self.store = store
        self.spool = spool
        self.schedule = ScheduleStore(store, load_programme("mmitra"))
        self.wakes = 0
        self.intake = MissedCallIntake(store, self.schedule, spool, region="IN",
                                       clock=lambda: NOW.timestamp(), woken=self.woke)

    def woke(self) -> None:
        self.wakes += 1

    def files(self) -> list[str]:
        return sorted(p.name for p in self.spool.iterdir() if p.name != "bad")

    def bad(self) -> list[str]:
        return sorted(p.name for p in (self.spool / "bad").iterdir())

    async def rows(self) -> list[tuple]:
        return [tuple(r) for r in await self.store.fetchall(
            "SELECT phone, did, uniqueid, subscriber_id, callback_id, handled_at IS NOT NULL "
            "FROM missed_calls ORDER BY id")]

    async def callbacks(self) -> int:
        return (await self.store.fetchall("SELECT COUNT(*) FROM callback_requests"))[0][0]


@pytest.fixture
async def world(tmp_path):
    store = await asyncio.wait_for(Store.open(tmp_path / "db" / "ivr.db"), 10)
    spool = tmp_path / "spool" / "missed"
    prepare_spool(spool)
    w = World(store, spool)
    await w.schedule.enrol(Subscriber(id=0, phone=PHONE, language="hi", slot="09-12",
                                      lmp=NOW.date() - timedelta(weeks=12)), NOW, actor="t")
    yield w
    await store.close()


async def test_a_spooled_call_becomes_one_callback_and_its_file_goes(world):
    missed_spool.write(world.spool, call())
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 1
    assert world.files() == [] and world.wakes == 1
    [(phone, did, uniqueid, sub, cb, handled)] = await world.rows()
    assert (phone, did, uniqueid, sub, handled) == (PHONE, DID, "1700000000.42", 1, 1)
    assert cb is not None and await world.callbacks() == 1


async def test_the_same_call_twice_is_one_row(world):
    """The dialplan's second run, or a crash between the commit and the delete."""
    missed_spool.write(world.spool, call())
    await asyncio.wait_for(world.intake.sweep(), 10)
    missed_spool.write(world.spool, call())
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 1
    assert world.files() == [] and len(await world.rows()) == 1
    assert await world.callbacks() == 1


async def test_a_caller_not_enrolled_is_kept_masked(world):
    missed_spool.write(world.spool, call(caller="919000099"))
    await asyncio.wait_for(world.intake.sweep(), 10)
    assert await world.rows() == [("******099", DID, "1700000000.42", None, None, 1)]
    assert world.wakes == 0 and world.files() == []


async def test_a_file_that_is_not_a_call_is_set_aside_with_one_log_line(world, caplog):
    (world.spool / "junk.missed").write_bytes(b"not json")
    (world.spool / "link.missed").symlink_to(world.store.path)     # never followed
    missed_spool.write(world.spool, call())
    with caplog.at_level(logging.WARNING, logger="ivr.intake"):
        assert await asyncio.wait_for(world.intake.sweep(), 10) == 1
    assert world.files() == [] and world.bad() == ["junk.missed", "link.missed"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all("is not a missed call" in line for line in lines)
    assert len(await world.rows()) == 1
    assert world.store.path.stat().st_size > 0                  # the link's target untouched


@pytest.mark.parametrize("table", ["missed_calls", "callback_requests"])
async def test_a_failed_database_write_keeps_the_file_for_the_next_sweep(world, table, caplog):
    await world.store.execute(
        f"CREATE TRIGGER test_fail BEFORE INSERT ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END")
    missed_spool.write(world.spool, call())
    with caplog.at_level(logging.WARNING, logger="ivr.intake"):
        assert await asyncio.wait_for(world.intake.sweep(), 10) == 0
    assert world.files() == ["1700000000.42.missed"]                # kept
    assert await world.rows() == [] and await world.callbacks() == 0    # all or nothing
    assert any("stays in the spool" in r.getMessage() and "disk full (test)" in r.getMessage()
               for r in caplog.records)
    await world.store.execute("DROP TRIGGER test_fail")
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 1
    assert world.files() == [] and len(await world.rows()) == 1
    assert await world.callbacks() == 1


async def test_a_locked_database_keeps_the_file(world):
    await world.store.execute("PRAGMA busy_timeout = 100")
    other = sqlite3.connect(world.store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        missed_spool.write(world.spool, call())
        assert await asyncio.wait_for(world.intake.sweep(), 10) == 0
        assert world.files() == ["1700000000.42.missed"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 1
    assert world.files() == [] and len(await world.rows()) == 1


async def test_a_temporary_file_is_never_half_read(world):
    data = missed_spool.encode(call())
    half = world.spool / f"{missed_spool.TEMP_PREFIX}1700000000.42-4242"
    half.write_bytes(data[:len(data) // 2])
    whole = world.spool / f"{missed_spool.TEMP_PREFIX}1700000000.77-4243"
    whole.write_bytes(missed_spool.encode(call("1700000000.77")))
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 0   # its writer may be at work
    assert world.files() == sorted([half.name, whole.name]) and await world.rows() == []
    old = NOW.timestamp() - 600
    for path in (half, whole):
        os.utime(path, (old, old))                                 # now its writer is dead
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 1   # the whole one is a call
    assert world.files() == [] and world.bad() == ["tmp-1700000000.42-4242"]
    assert [r[2] for r in await world.rows()] == ["1700000000.77"]


async def test_the_event_ingests_its_file_and_trusts_no_other_header(world, monkeypatch):
    missed_spool.write(world.spool, call())
    await asyncio.wait_for(world.intake.on_event({
        C.HEADER_MISSED_CALL_FILE: "1700000000.42.missed", "Uniqueid": "1700000000.42",
        "Caller": "919000012", "DID": "999"}), 10)
    assert world.files() == [] and [r[:3] for r in await world.rows()] == [
        (PHONE, DID, "1700000000.42")]
    # the file not named (she hung up while the script ran): found by the channel's Uniqueid
    missed_spool.write(world.spool, call("1700000000.43"))
    await asyncio.wait_for(world.intake.on_event({"Uniqueid": "1700000000.43"}), 10)
    assert world.files() == [] and len(await world.rows()) == 2
    # a name outside the spool is never used; a late sweep looks again after the deadline
    monkeypatch.setattr(intake_module, "LATE_SWEEP_AFTER", 0.0)
    outside = world.spool.parent / "x.missed"
    missed_spool.write(world.spool.parent, call("x"))
    await asyncio.wait_for(world.intake.on_event({
        C.HEADER_MISSED_CALL_FILE: "../x.missed", "Uniqueid": "../x"}), 10)
    assert outside.exists() and len(await world.rows()) == 2


async def test_the_services_listener_ingests_a_missed_call_event_as_a_chore(world):
    """The dialplan's IvrMissedCall UserEvent, as the controller hands it to the service: its
    file is ingested by a chore the drain waits for, counted in the status; other events
    are left alone."""
    stats = Stats(started_at=NOW.timestamp())
    chores: set[asyncio.Task] = set()
    listener = MissedCallEvents(world.intake, stats, chores, clock=lambda: NOW.timestamp())
    missed_spool.write(world.spool, call())
    listener(UserEvent("SomeoneElses", {"Uniqueid": "1700000000.42"}))
    assert not chores and stats.missed_calls == 0
    listener(UserEvent(C.USEREVENT_MISSED_CALL, {"Uniqueid": "1700000000.42"}))
    [chore] = chores
    await asyncio.wait_for(chore, 10)
    assert not chores and stats.missed_calls == 1 and not stats.errors
    assert world.files() == [] and world.wakes == 1 and await world.callbacks() == 1


async def test_a_failed_chore_reaches_the_status(world, caplog):
    stats = Stats(started_at=NOW.timestamp())
    chores: set[asyncio.Task] = set()

    async def broken(headers) -> None:
        raise RuntimeError("disk on fire")
    world.intake.on_event = broken
    listener = MissedCallEvents(world.intake, stats, chores, clock=lambda: NOW.timestamp())
    listener(UserEvent(C.USEREVENT_MISSED_CALL, {"Uniqueid": "1"}))
    await asyncio.wait_for(asyncio.gather(*chores), 10)
    assert [e["error"] for e in stats.errors] == ["RuntimeError('disk on fire')"]
    assert "missed-call intake failed" in caplog.text


async def held_pid(hold: Path, timeout: float) -> int:
    """The pid the fallback script, held half-way by its test hook, writes into <hold>/fifo.
    On timeout the thread blocked in open() is released (it would keep pytest from ending)."""
    def read() -> str:
        with open(hold / "fifo") as fifo:
            return fifo.read()
    reader = asyncio.ensure_future(asyncio.to_thread(read))
    try:
        return int(await asyncio.wait_for(asyncio.shield(reader), timeout))
    except asyncio.TimeoutError:
        try:
            os.close(os.open(hold / "fifo", os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        await asyncio.gather(reader, return_exceptions=True)
        raise


def test_the_spool_modes(tmp_path):
    spool = tmp_path / "state" / "spool" / "missed"
    spool.parent.parent.mkdir()
    prepare_spool(spool)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)     # noqa: E731
    assert (mode(spool.parent), mode(spool), mode(spool / "bad")) == (0o710, 0o730, 0o700)
    os.chmod(spool, 0o777)
    prepare_spool(spool)                                # an existing spool gets its mode back
    assert mode(spool) == 0o730


async def test_the_killed_script_leaves_no_lock_and_loses_nothing(world, tmp_path):
    """kill -9 the real fallback script half-way through its file (held there by its test
    hook): the half file is never read, the database is never locked (the script has no way
    to it), and the dialplan's second run records the call."""
    wrapper = install_wrapper(tmp_path, sys.executable)
    hold = tmp_path / "hold"
    hold.mkdir()
    os.mkfifo(hold / "fifo")
    agi_env = ("agi_request: ivr-missed-call-fallback\nagi_callerid: +919000011\n"
               "agi_uniqueid: 1700000000.42\n\n")
    script = subprocess.Popen([str(wrapper), str(world.spool), DID], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              env={"PATH": os.environ.get("PATH", ""), TEST_HOLD_ENV: str(hold)})
    try:
        script.stdin.write(agi_env.encode())
        script.stdin.flush()

        pid = await held_pid(hold, 20)                  # the script is at its half-way point
        environ = Path(f"/proc/{pid}/environ").read_bytes() + Path(
            f"/proc/{pid}/cmdline").read_bytes()
        assert b"ivr.db" not in environ and str(world.store.path.parent).encode() not in environ
        os.kill(pid, signal.SIGKILL)
        assert script.wait(10) == -signal.SIGKILL
    finally:
        if script.poll() is None:
            script.kill()
            script.wait(10)
        script.stdin.close()
        script.stdout.close()
    [temp] = world.files()
    assert temp.startswith(missed_spool.TEMP_PREFIX)
    with pytest.raises(missed_spool.SpoolError):
        missed_spool.decode((world.spool / temp).read_bytes())
    # the controller is not locked out: another writer gets the lock at once
    other = sqlite3.connect(world.store.path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 0 and world.files() == [temp]
    # the dialplan runs the script once more (no file name came back): the call is recorded
    again = subprocess.run([str(wrapper), str(world.spool), DID],
                           input=(agi_env + "200 result=1\n" * 2).encode(), capture_output=True,
                           timeout=20, env={"PATH": os.environ.get("PATH", "")})
    assert again.returncode == 0, again.stderr
    assert await asyncio.wait_for(world.intake.sweep(), 10) == 1
    [(_, did, uniqueid, sub, _, handled)] = await world.rows()
    assert (did, uniqueid, sub, handled) == (DID, "1700000000.42", 1, 1)
    old = NOW.timestamp() - 600
    os.utime(world.spool / temp, (old, old))
    await asyncio.wait_for(world.intake.sweep(), 10)       # the dead writer's half file
    assert world.files() == [] and world.bad() == [temp.lstrip(".")]
    assert len(await world.rows()) == 1 and await world.callbacks() == 1
