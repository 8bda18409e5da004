"""ivr/optout.py: an opt-out by key press, all in one transaction (no sandbox needed)."""
from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest

from ivr.adapters.deliveries import open_delivery
from ivr.adapters.store import Store
from ivr.adapters.subscribers import enrol, get_subscriber
from ivr.optout import STATUS_REASON, masked_channel, opt_out_by_key
from scheduler.model import Subscriber, SubscriberStatus

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=timezone.utc)
PHONE = "919876543210"


@pytest.fixture
async def store(tmp_path):
    s = await Store.open(tmp_path / "ivr.db")
    yield s
    await s.close()


async def _woman(store: Store) -> int:
    sub, _ = await enrol(store, Subscriber(id=0, language="hi", slot="09-12", phone=PHONE,
                                           lmp=date(2026, 6, 1)),
                         programme="mmitra", at=NOW - timedelta(days=30), actor="test")
    old = await open_delivery(store, sub, "mmitra-p001", NOW - timedelta(days=7), NOW)
    await store.execute("UPDATE deliveries SET status = 'delivered', closed_at = ? WHERE id = ?",
                        (NOW.timestamp() - 86400, old.id))
    await open_delivery(store, sub, "mmitra-p002", NOW, NOW)
    for status in ("served", "pending"):
        await store.execute("INSERT INTO callback_requests (subscriber_id, requested_at, status, "
                            "next_attempt_at) VALUES (?, ?, ?, ?)",
                            (sub.id, NOW.timestamp() - 60, status, NOW.timestamp() + 600))
    return sub.id


async def _state(store: Store, sub_id: int):
    deliveries = [tuple(r) for r in await store.fetchall(
        "SELECT message_key, status, next_attempt_at, closed_at FROM deliveries "
        "WHERE subscriber_id = ? ORDER BY id", (sub_id,))]
    callbacks = [r[0] for r in await store.fetchall(
        "SELECT status FROM callback_requests WHERE subscriber_id = ? ORDER BY id", (sub_id,))]
    audit = [dict(r) for r in await store.fetchall(
        "SELECT * FROM audit WHERE subscriber_id = ? AND action = 'opt_out'", (sub_id,))]
    return deliveries, callbacks, audit


async def test_opt_out_ends_her_subscription_and_cancels_what_was_pending(store):
    sub_id = await _woman(store)
    channel = f"Local/{PHONE}@sim-phones-0000002a;1"
    done = await opt_out_by_key(store, sub_id, at=NOW, channel=channel, attempt_id=7)
    assert (done.changed, done.previous_status) == (True, "active")
    assert (done.deliveries_cancelled, done.callbacks_cancelled) == (1, 1)
    sub = await get_subscriber(store, sub_id)
    assert sub.status is SubscriberStatus.OPTED_OUT and sub.status_reason == STATUS_REASON
    assert sub.updated_at == NOW and sub.plan_at is None
    deliveries, callbacks, audit = await _state(store, sub_id)
    assert deliveries == [("mmitra-p001", "delivered", NOW.timestamp(), NOW.timestamp() - 86400),
                          ("mmitra-p002", "cancelled", None, NOW.timestamp())]
    assert callbacks == ["served", "cancelled"]
    assert len(audit) == 1 and (audit[0]["actor"], audit[0]["at"]) == ("ivr", NOW.timestamp())
    detail = json.loads(audit[0]["detail"])
    assert detail == {"via": "key", "channel": "Local/*********210@sim-phones-0000002a;1",
                      "attempt": 7, "previous_status": "active"}


async def test_a_second_opt_out_changes_nothing(store):
    sub_id = await _woman(store)
    await opt_out_by_key(store, sub_id, at=NOW, channel="PJSIP/carrier-00000001", attempt_id=1)
    before = await _state(store, sub_id)
    again = await opt_out_by_key(store, sub_id, at=NOW + timedelta(hours=1),
                                 channel="PJSIP/carrier-00000002", attempt_id=2)
    assert (again.changed, again.previous_status) == (False, "opted_out")
    assert await _state(store, sub_id) == before
    assert (await get_subscriber(store, sub_id)).updated_at == NOW


async def test_unknown_subscriber_is_reported_not_invented(store):
    done = await opt_out_by_key(store, 404, at=NOW, channel="PJSIP/carrier-1", attempt_id=1)
    assert (done.changed, done.previous_status) == (False, None)
    assert await store.fetchall("SELECT * FROM audit WHERE action = 'opt_out'") == []


async def test_a_failure_half_way_leaves_nothing_written(store):
    sub_id = await _woman(store)
    before = await _state(store, sub_id)
    await store.execute("CREATE TEMP TRIGGER no_audit BEFORE INSERT ON audit "
                        "BEGIN SELECT RAISE(ABORT, 'audit refused'); END")
    with pytest.raises(sqlite3.IntegrityError, match="audit refused"):
        await opt_out_by_key(store, sub_id, at=NOW, channel="PJSIP/carrier-1", attempt_id=1)
    assert (await get_subscriber(store, sub_id)).status is SubscriberStatus.ACTIVE
    assert await _state(store, sub_id) == before
    # the shared connection is not left inside a transaction
    await store.execute("DROP TRIGGER no_audit")
    assert (await opt_out_by_key(store, sub_id, at=NOW, channel="PJSIP/carrier-1",
                                 attempt_id=1)).changed


@pytest.mark.parametrize("channel, masked", [
    ("Local/919000021@sim-phones-00000012;1", "Local/******021@sim-phones-00000012;1"),
    ("PJSIP/carrier-0000000a", "PJSIP/carrier-0000000a"),
    ("PJSIP/+919876543210@carrier-1", "PJSIP/+*********210@carrier-1"),
    ("", ""),
])
def test_masked_channel_hides_numbers_not_channel_counters(channel, masked):
    assert masked_channel(channel) == masked
