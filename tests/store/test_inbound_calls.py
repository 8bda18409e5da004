"""The answered line's records (migration 009, ivr/adapters/inbound_calls.py) on SQLite and
PostgreSQL, and what the line reads of a woman: her latest and previous messages."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from audio.catalogue import Catalogue
from ivr.adapters import inbound_calls
from ivr.adapters.erasure import erase_woman, export_woman
from ivr.adapters.inbound_calls import InboundCall
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import Store
from ivr.inbound_route import InboundRoute, week_number
from scheduler.model import Subscriber
from scheduler.programme import load_programme

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    address = tmp_path / "ivr.db" if request.param == "sqlite" else \
        request.getfixturevalue("pg_dsn")
    async with asyncio.timeout(30):
        s = await Store.open(address, key_file=tmp_path / "erasure.key")
    yield s
    await asyncio.wait_for(s.close(), 30)


def woman(phone: str) -> Subscriber:
    return Subscriber(id=0, phone=phone, language="hi", slot="12-15", timezone="Asia/Kolkata",
                      lmp=T0.date() - timedelta(weeks=12))


async def test_answered_line_usage_counts_calls_by_kind_and_what_was_done(store):
    schedule = ScheduleStore(store, load_programme("mmitra"))
    sub = await schedule.enrol(woman("919000001234"), T0, actor="test")
    agent = await schedule.add_worker("Awa", "919000005678", "agent", T0, actor="test")
    calls = [InboundCall(T0, T0 + timedelta(seconds=40), "18005550100", "*********234", "woman",
                         "hangup", subscriber_id=sub.id, keys="31", played=("latest",),
                         done=("slot:09-12",)),
             InboundCall(T0, T0, "18005550100", "*********234", "woman", "opted_out",
                         subscriber_id=sub.id, keys="591", done=("birth", "opt_out")),
             InboundCall(T0, T0, "18005550100", "", "unknown", "call_centre", keys="0"),
             InboundCall(T0, T0, "18005550100", "*********678", "agent", "no_input",
                         subscriber_id=sub.id, worker_id=agent.id, done=("child:1", "child:2"))]
    ids = [await inbound_calls.record_inbound_call(store, c) for c in calls]
    assert len(set(ids)) == 4
    usage = await inbound_calls.line_usage(store, T0, T0 + timedelta(days=1))
    assert usage == {"calls_woman": 2, "calls_unknown": 1, "calls_agent": 1, "slot": 1,
                     "language": 0, "birth": 1, "opt_out": 1, "child": 2, "call_centre": 1}
    later = await inbound_calls.line_usage(store, T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert set(later.values()) == {0}
    rows = await store.fetchall("SELECT caller, played, done FROM inbound_calls ORDER BY id")
    assert [tuple(r) for r in rows][0] == ("*********234", "latest", "slot:09-12")
    assert all("919000001234" not in str(tuple(r)) for r in rows)
    # what the demo shows of her line calls: hers and the agent's about her, oldest first
    hers = await inbound_calls.inbound_calls_of(store, sub.id)
    assert hers == [calls[0], calls[1], calls[3]]
    assert await inbound_calls.inbound_calls_of(store, sub.id + 1) == []


async def test_answered_line_knows_a_worker_by_phone_only_while_active(store):
    schedule = ScheduleStore(store, load_programme("mmitra"))
    agent = await schedule.add_worker("Awa", "919000005678", "agent", T0, actor="test")
    found = await inbound_calls.worker_on(store, "919000005678")
    assert found is not None and found.id == agent.id
    assert await inbound_calls.worker_on(store, "919000009999") is None
    await store.execute("UPDATE workers SET active = 0 WHERE id = ?", (agent.id,))
    assert await inbound_calls.worker_on(store, "919000005678") is None


async def test_answered_line_her_latest_message_is_the_last_delivered_else_the_current(
        store, tmp_path):
    programme = load_programme("mmitra")
    schedule = ScheduleStore(store, programme)
    sub = await schedule.enrol(woman("919000001234"), T0, actor="test")
    route = InboundRoute(store, schedule, programme, Catalogue(tmp_path), call_centre=False,
                         clock=lambda: (T0 + timedelta(hours=1)).timestamp(),
                         secret="s" * 32)
    [current] = await schedule.deliveries_of(sub.id)
    assert await route.messages_of(sub) == [current.message_key]          # none delivered yet
    keys = [m.key for m in programme.messages]
    earlier = keys[keys.index(current.message_key) - 2: keys.index(current.message_key)]
    for n, key in enumerate(earlier, start=1):
        await store.execute(
            "INSERT INTO deliveries (subscriber_id, message_key, slot, due_at, status, attempts) "
            "VALUES (?, ?, '12-15', ?, 'delivered', 1)", (sub.id, key, (T0 - timedelta(days=10 - n))
                                                 .timestamp()))
    # the current one is still owed: the last delivered is her latest, the one before next
    assert await route.messages_of(sub) == [earlier[1], earlier[0]]


@pytest.mark.parametrize("a,b,apart", [("2026-W49", "2026-W48", 1), ("2027-W01", "2026-W53", 1),
                                       ("2026-W01", "2025-W52", 1), ("2026-W10", "2026-W01", 9)])
def test_answered_line_week_numbers_count_weeks_across_years(a, b, apart):
    assert week_number(a) - week_number(b) == apart


async def test_answered_line_calls_are_in_her_export_and_erased_with_her_keeping_counts(store):
    schedule = ScheduleStore(store, load_programme("mmitra"))
    sub = await schedule.enrol(woman("919000001234"), T0, actor="test")
    await inbound_calls.record_inbound_call(store, InboundCall(
        T0, T0, "18005550100", "*********234", "woman", "opted_out", subscriber_id=sub.id,
        keys="3191", played=("latest",), done=("slot:09-12", "opt_out")))
    exported = await export_woman(store, sub.id)
    assert exported is not None
    assert [(c["keys"], c["done"]) for c in exported["line_calls"]] == [
        ("3191", "slot:09-12 opt_out")]
    await schedule.opt_out(sub.id, T0, actor="test")
    before = await inbound_calls.line_usage(store, T0, T0 + timedelta(days=1))
    done = await erase_woman(store, sub.id, T0 + timedelta(minutes=1), actor="test")
    assert done["line_calls"] == 1
    rows = await store.fetchall("SELECT caller, keys, done, kind, ended FROM inbound_calls")
    assert [tuple(r) for r in rows] == [("", "", "slot opt_out", "woman", "opted_out")]
    assert await inbound_calls.line_usage(store, T0, T0 + timedelta(days=1)) == before
