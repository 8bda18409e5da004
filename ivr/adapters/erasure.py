"""A woman's rights over her data: erasure (`ivr women erase`), access (`ivr women export`),
and the keyed hash that keeps an erased opt-out honoured.

Erasure keeps every row reports count (her anonymised record: language, slot, track,
status, enrolment time; her calls: times, message, outcome, how much she heard; her missed
calls and callbacks: times) and removes what says who she is: phone, name, dates, partner,
health worker, consent date, channel names, the keys she pressed, her messages' due dates,
the details of her history; the report's daily counts (ivr/adapters/report_rollup.py) move
her calls to no partner at once. With SQLite's secure_delete on, the old bytes are overwritten,
and the WAL is checkpointed so no copy stays in it. PostgreSQL keeps the old row versions
until VACUUM reuses their space (autovacuum does it; `VACUUM` at once if it must be now).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal, overload

from ivr.adapters import report_engagement
from ivr.adapters.columns import epoch, instant
from ivr.adapters.lists import any_of
from ivr.adapters.report_rollup import rekey
from ivr.adapters.store import Store
from ivr.adapters.subscribers import audit
from scheduler.model import SchedulerError
from scheduler.notifications import COME
from scheduler.slots import zone

KEY_BYTES = 32


def key_path(store: Store) -> Path:
    """The erasure key of this database: <database>.key, 0600, beside it (SQLite), or the
    file `[ivr] erasure_key` names (PostgreSQL: every node must have the same)."""
    if store.key_file is None:
        raise SchedulerError("no erasure key file is set for this database: set "
                             "`[ivr] erasure_key` (the same file on every node)")
    return store.key_file


@overload
async def erasure_key(store: Store, *, create: Literal[True]) -> bytes: ...
@overload
async def erasure_key(store: Store, *, create: bool = False) -> bytes | None: ...
async def erasure_key(store: Store, *, create: bool = False) -> bytes | None:
    """The per-install key of the number hashes; None when there is none yet (no woman was
    erased). A missing key while erased numbers are recorded is an error: their opt-outs
    could no longer be honoured."""
    path = key_path(store)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = None
    if key is not None:
        if len(key) != KEY_BYTES:
            raise SchedulerError(f"the erasure key {path} is damaged ({len(key)} bytes, not "
                                 f"{KEY_BYTES}): restore it from the backup")
        return key
    recorded = (await store.fetchall("SELECT COUNT(*) FROM erased_numbers"))[0][0]
    if recorded:
        raise SchedulerError(f"the erasure key {path} is missing but {recorded} erased "
                             "number(s) are recorded: restore it from the backup (without "
                             "it their opt-outs cannot be honoured)")
    if not create:
        return None
    # PostgreSQL: nothing else may have made the state directory yet
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(KEY_BYTES))
    return path.read_bytes()


def number_hash(key: bytes, phone: str) -> str:
    return hmac.new(key, phone.encode("ascii"), hashlib.sha256).hexdigest()


async def erased_numbers(store: Store, phones: list[str]) -> dict[str, datetime]:
    """Those of `phones` erased after an opt-out, with the time of the erasure."""
    key = await erasure_key(store)
    if key is None or not phones:
        return {}
    by_hash = {number_hash(key, p): p for p in phones}
    out = {}
    for condition, params in any_of(store, "hash", list(by_hash)):
        for r in await store.fetchall(
                f"SELECT hash, erased_at FROM erased_numbers WHERE {condition}", params):
            out[by_hash[r["hash"]]] = instant(r["erased_at"])
    return out


async def forget_erased(store: Store, phone: str) -> None:
    """She came back with a new consent: her new record speaks for her number now."""
    key = await erasure_key(store)
    if key is not None:
        await store.execute("DELETE FROM erased_numbers WHERE hash = ?",
                            (number_hash(key, phone),))


async def same_number(store: Store, sub_id: int) -> list[int]:
    """The other records on her number (an earlier pregnancy...): not erased with her."""
    return [r[0] for r in await store.fetchall(
        "SELECT o.id FROM subscribers o JOIN subscribers s ON o.phone = s.phone "
        "WHERE s.id = ? AND o.id != s.id AND s.phone != '' ORDER BY o.id", (sub_id,))]


async def erase_woman(store: Store, sub_id: int, now: datetime, *, actor: str,
                      before: Callable[[], Awaitable] | None = None) -> dict:
    """Remove her personal data from every table, in one transaction (with `before` run
    first inside it: the opt-out of a woman still enrolled). She must have left the
    programme. Returns what was done (counts)."""
    sqlite = store.dialect == "sqlite"
    if sqlite:
        await store.execute("PRAGMA secure_delete = ON")
    try:
        async with store.transaction():
            if before is not None:
                await before()
            rows = await store.fetchall("SELECT phone, status FROM subscribers WHERE id = ?",
                                        (sub_id,))
            if not rows:
                raise SchedulerError(f"no woman with id {sub_id}")
            phone, status = rows[0]["phone"], rows[0]["status"]
            if status in ("active", "paused"):
                raise SchedulerError(f"woman {sub_id} is {status}: opt her out first")
            live = await store.fetchall(
                "SELECT (SELECT COUNT(*) FROM attempts WHERE subscriber_id = ? AND outcome IS "
                "NULL) + (SELECT COUNT(*) FROM deliveries WHERE subscriber_id = ? AND "
                "acquired_by IS NOT NULL AND acquired_until > ?)", (sub_id, sub_id, epoch(now)))
            if live[0][0]:
                raise SchedulerError(f"woman {sub_id} is on a call now: try again when it "
                                     "has ended")
            phones = {phone} | {r[0] for r in await store.fetchall(
                "SELECT phone FROM attempts WHERE subscriber_id = ? UNION "
                "SELECT phone FROM missed_calls WHERE subscriber_id = ?", (sub_id, sub_id))}
            phones.discard("")
            kept = False
            if status == "opted_out" and phone:
                key = await erasure_key(store, create=True)
                await store.execute(
                    "INSERT INTO erased_numbers (hash, erased_at) VALUES (?, ?) "
                    "ON CONFLICT (hash) DO UPDATE SET erased_at = excluded.erased_at",
                    (number_hash(key, phone), epoch(now)))
                kept = True
            marks = ",".join("?" * len(phones)) or "NULL"
            done = {}
            cur = await store.execute(
                "UPDATE attempts SET phone = '', channel = NULL, uniqueid = NULL, keys = NULL, "
                "delivery_id = NULL WHERE subscriber_id = ? OR (subscriber_id IS NULL AND "
                f"phone IN ({marks}))", (sub_id, *phones))
            done["calls"] = cur.rowcount
            cur = await store.execute(
                "UPDATE missed_calls SET phone = '' WHERE subscriber_id = ? OR "
                f"(subscriber_id IS NULL AND phone IN ({marks}))", (sub_id, *phones))
            done["missed_calls"] = cur.rowcount
            await store.execute("DELETE FROM notifications WHERE subscriber_id = ?", (sub_id,))
            await store.execute("DELETE FROM slot_answers WHERE subscriber_id = ?", (sub_id,))
            await store.execute("DELETE FROM slot_weekday_answers WHERE subscriber_id = ?",
                                (sub_id,))
            await store.execute(                 # the day she was asked to come: health data
                f"UPDATE attempts SET message_key = ? WHERE subscriber_id = ? AND "
                f"substr(message_key, 1, {len(COME)}) = ?", (COME.rstrip(":"), sub_id, COME))
            cur = await store.execute("DELETE FROM deliveries WHERE subscriber_id = ?",
                                      (sub_id,))
            done["messages"] = cur.rowcount
            await store.execute("UPDATE follow_ups SET reason = '', answer_id = NULL "
                                "WHERE subscriber_id = ?", (sub_id,))
            cur = await store.execute("DELETE FROM answers WHERE subscriber_id = ?", (sub_id,))
            done["answers"] = cur.rowcount
            done["line_calls"] = await _erase_line_calls(store, sub_id)
            cur = await store.execute("UPDATE audit SET detail = NULL WHERE subscriber_id = ?",
                                      (sub_id,))
            done["history"] = cur.rowcount
            await store.execute(
                "UPDATE subscribers SET phone = '', name = NULL, lmp = NULL, edd = NULL, "
                "child_dob = NULL, partner = NULL, health_worker = NULL, consent_date = NULL, "
                "plan_at = NULL, updated_at = ? WHERE id = ?", (epoch(now), sub_id))
            await rekey(store, epoch(now), [sub_id])    # her rolled calls: partner (none)
            await report_engagement.forget_woman(store, sub_id)
            done["number_hash_kept"] = kept
            await audit(store, actor=actor, action="erase", at=now, subscriber_id=sub_id,
                        detail=done)
    finally:
        if sqlite:
            await store.execute("PRAGMA secure_delete = OFF")
    if sqlite:
        # the old pages also sit in the WAL until a checkpoint: copy them back and truncate
        # it (a reader holding an old snapshot may keep part of it until its next checkpoint)
        await store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return done


async def _erase_line_calls(store: Store, sub_id: int) -> int:
    """Her calls to the answered line keep their kind, ending and what kind of change each
    made (report counts stay); her caller ID (masked), keys and the values she chose go."""
    rows = await store.fetchall("SELECT id, done FROM inbound_calls WHERE subscriber_id = ?",
                                (sub_id,))
    for r in rows:
        kinds = " ".join(d.split(":", 1)[0] for d in r["done"].split())
        await store.execute("UPDATE inbound_calls SET caller = '', keys = '', done = ? "
                            "WHERE id = ?", (kinds, r["id"]))
    return len(rows)


def _row(r, tz: str) -> dict:
    out = {}
    for k in r.keys():
        v = r[k]
        if v is not None and (k.endswith("_at") or k.endswith("_until")):
            v = instant(v).astimezone(zone(tz)).isoformat()
        elif k == "phone" and v:
            v = f"+{v}"
        elif k == "detail" and v:
            v = json.loads(v)
        out[k] = v
    return out


async def export_woman(store: Store, sub_id: int) -> dict | None:
    """Every row held about her, phone in clear, times RFC 3339 in her zone."""
    rows = await store.fetchall("SELECT * FROM subscribers WHERE id = ?", (sub_id,))
    if not rows:
        return None
    me, tz = rows[0], rows[0]["timezone"]
    mine = "subscriber_id = ? OR (subscriber_id IS NULL AND phone != '' AND phone = ?)"
    out: dict[str, Any] = {"woman": _row(me, tz)}
    for key, sql, args in (
            ("deliveries", "SELECT * FROM deliveries WHERE subscriber_id = ? ORDER BY id",
             (sub_id,)),
            ("calls", f"SELECT * FROM attempts WHERE {mine} ORDER BY id", (sub_id, me["phone"])),
            ("missed_calls", f"SELECT * FROM missed_calls WHERE {mine} ORDER BY id",
             (sub_id, me["phone"])),
            ("callbacks", "SELECT * FROM callback_requests WHERE subscriber_id = ? ORDER BY id",
             (sub_id,)),
            ("answers", "SELECT * FROM answers WHERE subscriber_id = ? ORDER BY id", (sub_id,)),
            ("slot_answers", "SELECT slot, calls, answered FROM slot_answers "
             "WHERE subscriber_id = ? ORDER BY slot", (sub_id,)),
            ("slot_weekday_answers", "SELECT slot, weekday, calls, answered "
             "FROM slot_weekday_answers WHERE subscriber_id = ? ORDER BY slot, weekday",
             (sub_id,)),
            ("line_calls", "SELECT * FROM inbound_calls WHERE subscriber_id = ? ORDER BY id",
             (sub_id,)),
            ("follow_ups", "SELECT * FROM follow_ups WHERE subscriber_id = ? ORDER BY id",
             (sub_id,)),
            ("workers", "SELECT w.name, w.role, a.since AS since_at, a.until AS until_at "
             "FROM assignments a JOIN workers w ON w.id = a.worker_id "
             "WHERE a.subscriber_id = ? ORDER BY a.id", (sub_id,)),
            ("outreach_calls", "SELECT o.id, o.week, w.name AS worker, o.outcome, "
             "o.at AS called_at, o.recorded_by FROM outreach_calls o "
             "LEFT JOIN workers w ON w.id = o.worker_id WHERE o.subscriber_id = ? "
             "ORDER BY o.id", (sub_id,)),
            ("history", "SELECT * FROM audit WHERE subscriber_id = ? ORDER BY id", (sub_id,))):
        out[key] = [_row(r, tz) for r in await store.fetchall(sql, args)]
    return out


