"""The scheduling store on SQLite: ivr/schedule.py's contract (the async twin of
scheduler/memory.py's MemoryStore), built on the same pure decisions.

Every operation is one transaction on the shared connection, and nothing is kept in memory
between operations: a crash loses nothing, and `ivr run`, the operators' commands and the
dialplan's fallback script all see the same truth. Every change to a woman writes an audit
row (who, when, what).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ivr.adapters.columns import epoch, instant
from ivr.adapters.deliveries import _DELIVERY_COLUMNS, _delivery
from ivr.adapters.schedule_bulk import PLAN_SELECT, Planner, apply_plans
from ivr.adapters.store import Store
from ivr.adapters.schedule_women import Enrolment, WomenChanges
from ivr.adapters.subscribers import _SUBSCRIBER_COLUMNS, _subscriber, audit
from scheduler import callbacks, lifecycle
from scheduler.model import (Attempt, AttemptKind, CallbackRequest, CallbackStatus, Delivery,
                             DeliveryStatus, SchedulerError, Subscriber, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.programme import Programme
from scheduler.retry import after_attempt, heard_on_callback
from scheduler.slots import inside, next_opening
from scheduler.timeline import her_zone

__all__ = ["Enrolment", "ScheduleStore"]

_ATTEMPT_COLUMNS = ("id, subscriber_id, kind, message_key, number, created_at, delivery_id, "
                    "callback_id, acquired_by, acquired_until, ended_at, outcome, heard_share")
_CALLBACK_COLUMNS = ("id, subscriber_id, requested_at, status, attempts, next_attempt_at, "
                     "served_at, attempt_id")
PLAN_BATCH = 20000          # women planned per transaction (~0.3 s)
MOVE_BATCH = 50000          # out-of-slot calls moved per claim (~0.25 s)


def _attempt(row) -> Attempt:
    return Attempt(
        id=row["id"], subscriber_id=row["subscriber_id"], kind=AttemptKind(row["kind"]),
        message_key=row["message_key"], number=row["number"],
        started_at=instant(row["created_at"]), delivery_id=row["delivery_id"],
        callback_id=row["callback_id"], acquired_by=row["acquired_by"],
        acquired_until=instant(row["acquired_until"]), ended_at=instant(row["ended_at"]),
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        heard_share=row["heard_share"])


def _callback(row) -> CallbackRequest:
    return CallbackRequest(
        id=row["id"], subscriber_id=row["subscriber_id"], requested_at=instant(row["requested_at"]),
        status=CallbackStatus(row["status"]), attempts=row["attempts"],
        next_attempt_at=instant(row["next_attempt_at"]), served_at=instant(row["served_at"]),
        attempt_id=row["attempt_id"])


class ScheduleStore(WomenChanges):
    def __init__(self, store: Store, programme: Programme):
        self.store = store
        self.programme = programme

    # ------------------------------------------------------------------ reading
    async def subscriber(self, sub_id: int) -> Subscriber:
        rows = await self.store.fetchall(
            f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = ?", (sub_id,))
        if not rows:
            raise SchedulerError(f"no woman with id {sub_id}")
        return _subscriber(rows[0])

    async def deliveries_of(self, sub_id: int) -> list[Delivery]:
        rows = await self.store.fetchall(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscriber_id = ? ORDER BY id",
            (sub_id,))
        return [_delivery(r) for r in rows]

    async def live_attempts(self) -> list[Attempt]:
        rows = await self.store.fetchall(
            f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE outcome IS NULL ORDER BY id")
        return [_attempt(r) for r in rows]

    async def next_wake(self) -> datetime | None:
        """The earliest instant at which plan, claim or reap may have something to do. Work
        waiting only for a live call of hers, or for her to be resumed, is not counted: the
        end of that call (or the resume) wakes the service. (CROSS JOIN makes SQLite walk
        the due deliveries in time order instead of scanning every active woman.)"""
        row = (await self.store.fetchall(
            "SELECT MIN(t) FROM ("
            " SELECT MIN(plan_at) AS t FROM subscribers WHERE plan_at IS NOT NULL"
            " UNION ALL SELECT MIN(acquired_until) FROM attempts WHERE outcome IS NULL"
            " UNION ALL SELECT MIN(c.next_attempt_at) FROM callback_requests c"
            "  WHERE c.status = 'pending' AND NOT EXISTS (SELECT 1 FROM attempts a"
            "  WHERE a.subscriber_id = c.subscriber_id AND a.outcome IS NULL)"
            " UNION ALL SELECT (SELECT d.next_attempt_at FROM deliveries d"
            "  CROSS JOIN subscribers s ON s.id = d.subscriber_id"
            "  WHERE d.status = 'pending' AND d.next_attempt_at IS NOT NULL AND s.status = 'active'"
            "  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.subscriber_id = d.subscriber_id"
            "  AND a.outcome IS NULL) ORDER BY d.next_attempt_at LIMIT 1))"))[0][0]
        return instant(row)

    # ------------------------------------------------------------------ planning
    async def run_plans(self, now: datetime) -> int:
        """Plan every woman whose plan_at has come, PLAN_BATCH per transaction: read with her
        latest delivery in one query, planned once per distinct case (schedule_bulk.Planner),
        written in a few statements. Each is planned at most once per call (a plan that asks
        to be run again at once waits for the next)."""
        due = (await self.store.fetchall(
            "SELECT COUNT(*) FROM subscribers WHERE plan_at IS NOT NULL AND plan_at <= ?",
            (epoch(now),)))[0][0]
        planner = Planner(self.programme, now)
        done = 0
        while done < due:
            async with self.store.transaction():
                rows = await self.store.fetchall(
                    f"{PLAN_SELECT} WHERE s.plan_at IS NOT NULL AND s.plan_at <= ? "
                    "ORDER BY s.plan_at, s.id LIMIT ?",
                    (epoch(now), min(PLAN_BATCH, due - done)))
                await apply_plans(self.store, [planner.plan_row(r) for r in rows], now)
            if not rows:
                break
            done += len(rows)
        return done

    async def _plan(self, sub: Subscriber, now: datetime) -> None:
        latest = await self.store.fetchall(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscriber_id = ? "
            "ORDER BY id DESC LIMIT 1", (sub.id,))
        plan = Planner(self.programme, now).plan(sub, _delivery(latest[0]) if latest else None)
        await apply_plans(self.store, [plan], now)

    # ------------------------------------------------------------------ calls
    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        """Due calls, callbacks first, at most one live call per woman; each becomes a live
        attempt row leased to `owner`. Work found outside her slot (or the window) moves to
        its next opening, and the claim goes on past it until `limit` calls or no more due."""
        out: list[Attempt] = []
        async with self.store.transaction():
            while len(out) < limit:
                want = limit - len(out)
                rows = await self.store.fetchall(
                    f"SELECT {_CALLBACK_COLUMNS} FROM callback_requests c "
                    "WHERE status = 'pending' AND next_attempt_at <= ? AND NOT EXISTS ("
                    " SELECT 1 FROM attempts a WHERE a.subscriber_id = c.subscriber_id"
                    " AND a.outcome IS NULL) ORDER BY next_attempt_at, id LIMIT ?",
                    (epoch(now), want))
                for row in rows:
                    attempt = await self._claim_callback(_callback(row), now, owner)
                    if attempt is not None:
                        out.append(attempt)
                if len(rows) < want:
                    break
            while len(out) < limit:
                want = limit - len(out)
                rows = await self.store.fetchall(
                    f"SELECT {', '.join('d.' + c for c in _DELIVERY_COLUMNS.split(', '))}, "
                    "s.phone, s.language, s.slot, s.timezone "
                    "FROM deliveries d CROSS JOIN subscribers s ON s.id = d.subscriber_id "
                    "WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
                    "AND s.status = 'active' AND NOT EXISTS (SELECT 1 FROM attempts a "
                    "WHERE a.subscriber_id = d.subscriber_id AND a.outcome IS NULL) "
                    "ORDER BY d.next_attempt_at, d.id LIMIT ?", (epoch(now), want))
                claimed, more_to_move = await self._claim_deliveries(rows, now, owner)
                out += claimed
                if len(rows) < want or more_to_move:
                    break
        return out

    async def _claim_deliveries(self, rows, now: datetime,
                                owner: str) -> tuple[list[Attempt], bool]:
        """Claim these due deliveries (one per woman) in a few statements: those inside her
        slot become live attempts, the others move to the next opening of her slot. True
        with the attempts when more calls are left to move than one claim moves."""
        moved, claims, more = set(), [], False
        for row in rows:
            slot = self.programme.slot(row["slot"])
            tz = her_zone(Subscriber(id=row["subscriber_id"], language="", slot=row["slot"],
                                     timezone=row["timezone"]))
            local = now.astimezone(tz).time()
            if slot.contains(local) and self.programme.window.contains(local):
                claims.append(row)
            elif (row["slot"], row["timezone"]) not in moved:
                moved.add((row["slot"], row["timezone"]))
                more |= await self._move_out_of_slot(row["slot"], row["timezone"], now,
                                                     next_opening(now, slot, tz))
        if not claims:
            return [], more
        base = (await self.store.fetchall("SELECT COALESCE(MAX(id), 0) FROM attempts"))[0][0]
        until = now + self.programme.retry.lease
        out = [Attempt(id=base + i, subscriber_id=r["subscriber_id"], kind=AttemptKind.SCHEDULED,
                       message_key=r["message_key"], number=r["attempts"] + 1, started_at=now,
                       delivery_id=r["id"], acquired_by=owner, acquired_until=until)
               for i, r in enumerate(claims, start=1)]
        await self.store.executemany(
            "INSERT INTO attempts (id, delivery_id, subscriber_id, number, kind, phone, "
            "language, message_key, created_at, acquired_by, acquired_until) "
            "VALUES (?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?)",
            [(a.id, a.delivery_id, a.subscriber_id, a.number, r["phone"], r["language"],
              a.message_key, epoch(now), owner, epoch(until)) for a, r in zip(out, claims)])
        await self.store.executemany(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = NULL, "
            "acquired_by = ?, acquired_until = ? WHERE id = ?",
            [(owner, epoch(until), a.delivery_id) for a in out])
        return out, more

    async def _move_out_of_slot(self, slot: str, tz: str, now: datetime,
                                when: datetime) -> bool:
        """The due calls of this slot and zone found outside it (the slot closed before they
        were placed) move to the slot's next opening together, MOVE_BATCH per statement: at
        12:00 the 09-12 calls not placed move in a few statements, not 500 per claim, and no
        transaction holds the database for seconds. True when more are left to move."""
        cur = await self.store.execute(
            "UPDATE deliveries SET next_attempt_at = ? WHERE id IN (SELECT d.id FROM "
            "deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
            "AND d.slot = ? AND EXISTS (SELECT 1 FROM subscribers s WHERE "
            "s.id = d.subscriber_id AND s.timezone = ? AND s.status = 'active') "
            "AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.subscriber_id = d.subscriber_id "
            "AND a.outcome IS NULL) ORDER BY d.next_attempt_at LIMIT ?)",
            (epoch(when), epoch(now), slot, tz, MOVE_BATCH))
        return cur.rowcount == MOVE_BATCH

    async def _claim_callback(self, cb: CallbackRequest, now: datetime,
                              owner: str) -> Attempt | None:
        sub = await self.subscriber(cb.subscriber_id)
        if sub.status is not SubscriberStatus.ACTIVE or callbacks.expired(self.programme, cb, now):
            await self._set_callback(cb.id, CallbackStatus.EXPIRED, None)
            return None
        tz = her_zone(sub)
        if not inside(now, self.programme.window, tz):
            await self.store.execute(
                "UPDATE callback_requests SET next_attempt_at = ? WHERE id = ?",
                (epoch(next_opening(now, self.programme.window, tz)), cb.id))
            return None
        mine = await self.deliveries_of(sub.id)
        key = callbacks.callback_message(self.programme, mine, now) or next(
            (d.message_key for d in mine if d.status is DeliveryStatus.PENDING), None)
        if key is None:                                    # nothing to play
            await self._set_callback(cb.id, CallbackStatus.CANCELLED, None)
            return None
        number = cb.attempts + 1
        attempt = await self._new_attempt(sub, AttemptKind.CALLBACK, key, number, now, owner,
                                          callback_id=cb.id)
        await self.store.execute(
            "UPDATE callback_requests SET attempts = ?, next_attempt_at = NULL, attempt_id = ? "
            "WHERE id = ?", (number, attempt.id, cb.id))
        return attempt

    async def _new_attempt(self, sub: Subscriber, kind: AttemptKind, key: str, number: int,
                           now: datetime, owner: str, *, delivery_id: int | None = None,
                           callback_id: int | None = None) -> Attempt:
        until = now + self.programme.retry.lease
        cur = await self.store.execute(
            "INSERT INTO attempts (delivery_id, callback_id, subscriber_id, number, kind, phone, "
            "language, message_key, created_at, acquired_by, acquired_until) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (delivery_id, callback_id, sub.id, number, kind.value, sub.phone, sub.language, key,
             epoch(now), owner, epoch(until)))
        return Attempt(id=cur.lastrowid, subscriber_id=sub.id, kind=kind, message_key=key,
                       number=number, started_at=now, delivery_id=delivery_id,
                       callback_id=callback_id, acquired_by=owner, acquired_until=until)

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        """Renew the lease of a live call still in progress; False if it is not ours."""
        async with self.store.transaction():
            cur = await self.store.execute(
                "UPDATE attempts SET acquired_until = ? WHERE id = ? AND outcome IS NULL "
                "AND acquired_by = ?", (epoch(until), attempt_id, owner))
            if cur.rowcount:
                await self.store.execute(
                    "UPDATE deliveries SET acquired_until = ? WHERE id = (SELECT delivery_id "
                    "FROM attempts WHERE id = ?)", (epoch(until), attempt_id))
            return cur.rowcount == 1

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        """Close a live attempt and apply what follows (retry, delivered, callback served,
        next message planned), all in one transaction."""
        async with self.store.transaction():
            rows = await self.store.fetchall(
                f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,))
            if not rows or rows[0]["outcome"] is not None:
                raise SchedulerError(f"attempt {attempt_id} is not live")
            a = _attempt(rows[0])
            heard = heard_share if heard_share is not None else a.heard_share
            await self.store.execute(
                "UPDATE attempts SET outcome = ?, heard_share = ?, ended_at = "
                "COALESCE(ended_at, ?), acquired_by = NULL, acquired_until = NULL WHERE id = ?",
                (outcome.value, heard, epoch(ended_at), attempt_id))
            if a.subscriber_id is None:
                # a call with no woman behind it (`ivr call test`): nothing to schedule
                return replace(a, outcome=outcome, heard_share=heard, ended_at=ended_at,
                               acquired_by=None, acquired_until=None)
            sub = await self.subscriber(a.subscriber_id)
            if a.kind is AttemptKind.SCHEDULED and a.delivery_id is not None:
                await self._after_delivery_attempt(sub, a.delivery_id, outcome, heard, ended_at)
            elif a.kind is AttemptKind.CALLBACK and a.callback_id is not None:
                await self._after_callback(sub, a, outcome, heard, ended_at)
            return replace(a, outcome=outcome, heard_share=heard, ended_at=ended_at,
                           acquired_by=None, acquired_until=None)

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        """The call of a live attempt was never placed (Asterisk refused the Originate): as
        if it had not been claimed, it costs her no attempt, and its work is due again at
        `due_at`. False if the attempt is not live."""
        async with self.store.transaction():
            rows = await self.store.fetchall(
                f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE id = ?", (attempt_id,))
            if not rows or rows[0]["outcome"] is not None:
                return False
            a = _attempt(rows[0])
            if a.kind is AttemptKind.SCHEDULED and a.delivery_id is not None:
                await self.store.execute(
                    "UPDATE deliveries SET attempts = attempts - 1, next_attempt_at = ?, "
                    "acquired_by = NULL, acquired_until = NULL WHERE id = ?",
                    (epoch(due_at), a.delivery_id))
            elif a.kind is AttemptKind.CALLBACK and a.callback_id is not None:
                await self.store.execute(
                    "UPDATE callback_requests SET attempts = attempts - 1, next_attempt_at = ?, "
                    "attempt_id = NULL WHERE id = ?", (epoch(due_at), a.callback_id))
            await self.store.execute("DELETE FROM attempts WHERE id = ?", (attempt_id,))
            return True

    async def _after_delivery_attempt(self, sub: Subscriber, delivery_id: int, outcome: Outcome,
                                      heard: float | None, at: datetime) -> None:
        d = _delivery((await self.store.fetchall(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE id = ?", (delivery_id,)))[0])
        r = after_attempt(self.programme, sub, d, outcome, heard, at)
        await self.store.execute(
            "UPDATE deliveries SET status = ?, next_attempt_at = ?, heard_share = ?, "
            "closed_at = ?, acquired_by = NULL, acquired_until = NULL WHERE id = ?",
            (r.status.value, epoch(r.next_attempt_at), r.heard_share, epoch(r.closed_at), d.id))
        if r.invalid_number and not sub.status.ended:
            sub = lifecycle.deactivate(sub, at, "invalid_number")
            await self._save(sub, at)
            await audit(self.store, actor="ivr", action="deactivate", at=at,
                        subscriber_id=sub.id, detail={"reason": "invalid_number"})
        if d.status is DeliveryStatus.PENDING and r.status is not DeliveryStatus.PENDING:
            await self._plan(sub, at)

    async def _after_callback(self, sub: Subscriber, a: Attempt, outcome: Outcome,
                              heard: float | None, at: datetime) -> None:
        cb = _callback((await self.store.fetchall(
            f"SELECT {_CALLBACK_COLUMNS} FROM callback_requests WHERE id = ?",
            (a.callback_id,)))[0])
        r = callbacks.after_callback_attempt(self.programme, sub, cb, outcome, at)
        await self.store.execute(
            "UPDATE callback_requests SET status = ?, next_attempt_at = ?, served_at = ? "
            "WHERE id = ?", (r.status.value, epoch(r.next_attempt_at), epoch(r.served_at), cb.id))
        if not outcome.answered:
            return
        for d in await self.deliveries_of(sub.id):
            if d.message_key == a.message_key:
                h = heard_on_callback(self.programme, d, heard or 0.0, at)
                await self.store.execute(
                    "UPDATE deliveries SET status = ?, heard_share = ?, closed_at = ?, "
                    "next_attempt_at = CASE WHEN ? = 'pending' THEN next_attempt_at END "
                    "WHERE id = ?", (h.status.value, h.heard_share, epoch(h.closed_at),
                                     h.status.value, d.id))
                if d.status is DeliveryStatus.PENDING and h.status is not DeliveryStatus.PENDING:
                    await self._plan(sub, at)

    async def _set_callback(self, cb_id: int, status: CallbackStatus,
                            next_at: datetime | None) -> None:
        await self.store.execute(
            "UPDATE callback_requests SET status = ?, next_attempt_at = ? WHERE id = ?",
            (status.value, epoch(next_at), cb_id))

    async def reap(self, now: datetime) -> list[int]:
        """Close the live calls whose lease has run out (their owner died): answered ones as
        answered (so nobody hears a message twice), the others as failed (retried)."""
        rows = await self.store.fetchall(
            "SELECT id, answered_at, heard_share FROM attempts WHERE outcome IS NULL "
            "AND acquired_until <= ?", (epoch(now),))
        for row in rows:
            outcome = Outcome.ANSWERED if row["answered_at"] else Outcome.FAILED
            try:
                await self.release(row["id"], outcome, row["heard_share"], now)
            except SchedulerError:
                pass                                    # released meanwhile by its owner
        return [r["id"] for r in rows]

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        """Her missed call: a new callback request, or None when it merges with a recent one
        (or she is not active)."""
        async with self.store.transaction():
            sub = await self.subscriber(sub_id)
            last = await self.store.fetchall(
                f"SELECT {_CALLBACK_COLUMNS} FROM callback_requests WHERE subscriber_id = ? "
                "ORDER BY id DESC LIMIT 1", (sub_id,))
            cb = callbacks.on_missed_call(self.programme, sub,
                                          _callback(last[0]) if last else None, now)
            if cb is None:
                return None
            cur = await self.store.execute(
                "INSERT INTO callback_requests (subscriber_id, requested_at, status, "
                "next_attempt_at) VALUES (?, ?, 'pending', ?)",
                (sub_id, epoch(cb.requested_at), epoch(cb.next_attempt_at)))
            return replace(cb, id=cur.lastrowid)

