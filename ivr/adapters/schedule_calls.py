"""The calls in the scheduling store on SQLite: claim, extend, release, unclaim, reap and
missed calls. Each is one transaction; each decision is a pure rule's (scheduler/rules.py),
written by schedule_rows.apply(). The claim of scheduled calls keeps its bulk path (a few
statements for 500 calls at 2.5 M women) with the rule's per-row decisions.
"""
from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import datetime
from typing import Any

from ivr.adapters.columns import epoch
from ivr.adapters.deliveries import _DELIVERY_COLUMNS, NO_LIVE_CALL, _delivery
from ivr.adapters.schedule_rows import (_CALLBACK_COLUMNS, _callback, apply, callback_request,
                                        her_deliveries, her_record, her_unanswered,
                                        live_attempt)
from ivr.adapters.slot_answers import SlotLearning
from ivr.adapters.store import Store
from scheduler import callbacks, rules
from scheduler.model import (Attempt, AttemptKind, CallbackRequest, Delivery, SchedulerError,
                             Subscriber)
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import Programme
from scheduler.timeline import her_slot, her_zone

log = logging.getLogger(__name__)

MOVE_BATCH = 50000          # out-of-slot calls moved per claim (~0.25 s)
CLAIM_TRIES = 3             # a claim refused by the one-live-call index is made again

# Several programmes in one database (config.programmes): each ScheduleStore claims, moves,
# plans and reaps only the women of its programme (`s.programme = ?`, her record's), so that
# each call follows her programme's rules; ivr/adapters/schedules.py runs them in turn.
_HER_PROGRAMME = ("EXISTS (SELECT 1 FROM subscribers s WHERE s.id = {}.subscriber_id "
                  "AND s.programme = ?)")
# a callback is due: pending, due, she has no live call, and she is of this programme
# (parameters: now, the programme)
_CALLBACK_DUE = ("FROM callback_requests c WHERE c.status = 'pending' "
                 f"AND c.next_attempt_at <= ? AND {NO_LIVE_CALL.format('c')} AND "
                 + _HER_PROGRAMME.format("c"))
# parameters: now, the programme (the callback's EXISTS), now, the programme, the limit;
# the columns the claim needs, nothing more (500 rows read each time)
_CLAIM_DELIVERIES = (
    "SELECT d.id, d.subscriber_id, d.message_key, d.attempts, "
    "s.phone, s.language, s.slot, s.timezone, "
    f"EXISTS (SELECT 1 {_CALLBACK_DUE}) AS callback_due "
    "FROM deliveries d CROSS JOIN subscribers s ON s.id = d.subscriber_id "
    "WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
    f"AND s.status = 'active' AND s.programme = ? AND {NO_LIVE_CALL.format('d')} "
    "ORDER BY d.next_attempt_at, d.id LIMIT ?")
# a claim of PostgreSQL skips the rows another node's claim holds (Store.skip_locked)


class Calls:
    """`move_batch`: out-of-slot calls moved per statement (a claim at a slot's close)."""

    def __init__(self, store: Store, programme: Programme, move_batch: int = MOVE_BATCH,
                 learning: SlotLearning | None = None):
        self.store = store
        self.programme = programme
        self.move_batch = move_batch
        self.learning = learning or SlotLearning(programme, random.Random())

    # ------------------------------------------------------------------ claim
    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        """Due calls, callbacks first, at most one live call per woman; each becomes a live
        attempt row leased to `owner`. Work found outside her slot (or the window) moves to
        its next opening, and the claim goes on past it until `limit` calls or no more due.
        The due calls' read says whether a callback is due too: the callbacks are read only
        then (or when no call is due), and the calls read again after them.
        On PostgreSQL a claim reads as of its first statement: when another node's claim
        gave a woman a call and ended just before this one locked her row (her second due
        call, say), this one would give her a second live call; the one-live-call index
        refuses it, the whole claim rolls back, and is made again, seeing that call."""
        for _ in range(CLAIM_TRIES - 1):
            try:
                return await self._claim(now, owner, limit)
            except Exception as e:      # noqa: BLE001 -- only the one below is caught
                if not self.store.live_call_taken(e):
                    raise
                log.info("a claim met a woman another node's claim had just taken: again")
        return await self._claim(now, owner, limit)

    async def _claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        out: list[Attempt] = []
        async with self.store.transaction():
            rows = await self._due_deliveries(now, limit)
            if not rows or rows[0]["callback_due"]:
                if await self._claim_callbacks(now, owner, limit, out):
                    rows = await self._due_deliveries(now, limit - len(out))
            while len(out) < limit:
                want = limit - len(out)
                claimed, more_to_move = await self._claim_deliveries(rows, now, owner)
                out += claimed
                if len(rows) < want or more_to_move or len(out) >= limit:
                    break
                rows = await self._due_deliveries(now, limit - len(out))
        return out

    async def _due_deliveries(self, now: datetime, want: int) -> list[Any]:
        if want <= 0:
            return []
        return await self.store.fetchall(
            _CLAIM_DELIVERIES + self.store.skip_locked("d, s"),
            (epoch(now), self.programme.name, epoch(now), self.programme.name, want))

    async def _claim_callbacks(self, now: datetime, owner: str, limit: int,
                               out: list[Attempt]) -> int:
        """The due callbacks, first come first, into `out` up to `limit`; how many were read."""
        read = 0
        while len(out) < limit:
            want = limit - len(out)
            rows = await self.store.fetchall(
                f"SELECT {_CALLBACK_COLUMNS} {_CALLBACK_DUE} ORDER BY c.next_attempt_at, c.id "
                "LIMIT ?" + self.store.skip_locked("c"), (epoch(now), self.programme.name, want))
            read += len(rows)
            for row in rows:
                attempt = await self._claim_callback(_callback(row), now, owner)
                if attempt is not None:
                    out.append(attempt)
            if len(rows) < want:
                break
        return read

    async def _claim_callback(self, cb: CallbackRequest, now: datetime,
                              owner: str) -> Attempt | None:
        sub = await her_record(self.store, cb.subscriber_id)
        mine = await her_deliveries(self.store, sub.id)
        c = rules.claim_callback(self.programme, sub, cb, mine, now, owner)
        return await apply(self.store, self.programme, sub, c, now)

    async def _claim_deliveries(self, rows: list[Any], now: datetime,
                                owner: str) -> tuple[list[Attempt], bool]:
        """Claim these due deliveries (one per woman) in a few statements, by the rule of
        rules.claim_delivery: those inside her slot become live attempts, the others move to
        the next opening of her slot (all those of the slot and zone at once). True with the
        attempts when more calls are left to move than one claim moves."""
        openings: dict[tuple[str, str, bool | None], datetime | None] = {}
        claims, more = [], False
        women: set[int] = set()
        for row in rows:
            # by position, unpacked at C speed (a name per value costs a Python call on
            # PostgreSQL's rows): the columns of _CLAIM_DELIVERIES
            delivery, woman, key, attempts, phone, language, slot, tz, _ = row
            if woman in women:
                continue        # her second due call (a notification): after this one
            women.add(woman)
            case = (slot, tz, self._later(attempts))
            if case not in openings:
                her = Subscriber(id=woman, language="", slot=slot, timezone=tz)
                opening = openings[case] = rules.claim_opening(
                    self.programme, her_slot(self.programme, her), her_zone(her), attempts, now)
                if opening is not None:
                    more |= await self._move_out_of_slot(*case, now, opening)
            if openings[case] is None:
                claims.append((delivery, woman, key, attempts, phone, language))
        if not claims:
            return [], more
        out = [rules.new_attempt(self.programme, AttemptKind.SCHEDULED, key, attempts + 1, now,
                                 owner, subscriber_id=woman, phone=phone, language=language,
                                 delivery_id=delivery)
               for delivery, woman, key, attempts, phone, language in claims]
        until = epoch(rules.lease_until(self.programme, now))
        # each attempt's number is her delivery's attempts + 1, read in this transaction (the
        # row locked on PostgreSQL, the database on SQLite): one statement for all, with the
        # attempts' rows on PostgreSQL (Store.insert_new)
        taken, param = self.store.ids_in([a.delivery_id for a in out])
        ids = await self.store.insert_new(
            "attempts", ("delivery_id", "subscriber_id", "number", "kind", "phone",
                         "language", "message_key", "created_at", "acquired_by",
                         "acquired_until"),
            [(a.delivery_id, a.subscriber_id, a.number, "scheduled", a.phone, a.language,
              a.message_key, epoch(now), owner, until) for a in out],
            along=("UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = NULL, "
                   f"acquired_by = ?, acquired_until = ? WHERE id IN {taken}",
                   (owner, until, param)))
        for a, i in zip(out, ids, strict=True):
            a.id = i
        return out, more

    def _later(self, attempts: int) -> bool | None:
        """Whether a due call is a later attempt of its message, when that changes where it
        may be placed (retry_slots not own: in any programme slot); None under own."""
        if self.programme.retry.retry_slots is RetrySlots.OWN:
            return None
        return attempts >= 1

    async def _move_out_of_slot(self, slot: str, tz: str, later: bool | None, now: datetime,
                                when: datetime) -> bool:
        """The due calls of this slot and zone found outside it (the slot closed before they
        were placed) move to the slot's next opening together, move_batch per statement: at
        12:00 the 09-12 calls not placed move in a few statements, not 500 per claim, and no
        transaction holds the database for seconds. True when more are left to move.
        `later` (retry_slots not own): only the later attempts (True) or only the first
        ones (False), which may be placed at other times."""
        only = {None: "", True: "AND d.attempts >= 1 ", False: "AND d.attempts = 0 "}[later]
        cur = await self.store.execute(
            "UPDATE deliveries SET next_attempt_at = ? WHERE id IN (SELECT d.id FROM "
            "deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
            f"AND d.slot = ? {only}AND EXISTS (SELECT 1 FROM subscribers s WHERE "
            "s.id = d.subscriber_id AND s.timezone = ? AND s.status = 'active' "
            f"AND s.programme = ?) AND {NO_LIVE_CALL.format('d')} "
            "ORDER BY d.next_attempt_at LIMIT ?)",
            (epoch(when), epoch(now), slot, tz, self.programme.name, self.move_batch))
        return bool(cur.rowcount == self.move_batch)

    # ------------------------------------------------------------------ during and after
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
            return bool(cur.rowcount == 1)

    async def answered(self, attempt_id: int, at: datetime) -> None:
        """She answered the live call (the reap rule reads it)."""
        await self.store.execute(
            "UPDATE attempts SET answered_at = ? WHERE id = ? AND outcome IS NULL",
            (epoch(at), attempt_id))

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        """Close a live attempt and apply what follows (retry, delivered, callback served,
        next message planned), all in one transaction."""
        async with self.store.transaction():
            a = await live_attempt(self.store, attempt_id)
            if a is None:
                raise SchedulerError(f"attempt {attempt_id} is not live")
            return await self._release(a, outcome, heard_share, ended_at)

    async def _release(self, a: Attempt, outcome: Outcome, heard_share: float | None,
                       ended_at: datetime) -> Attempt:
        if a.subscriber_id is None:
            # a call with no woman behind it (`ivr call test`): nothing to schedule
            c = rules.Changes(ended=rules.close(a, outcome, heard_share, ended_at))
            await apply(self.store, self.programme, None, c, ended_at)
        else:
            sub = await her_record(self.store, a.subscriber_id)
            d, cb, mine = await self._facts(a)
            weeks = None
            if self.programme.retry.deactivate_after_weeks_unanswered and not outcome.answered:
                weeks = await her_unanswered(self.store, sub)
            slot = None
            if d is not None:
                slot = await self.learning.after_call(self.store, sub, a, d, outcome, ended_at)
            c = rules.release(self.programme, sub, a, d, cb, mine, outcome, heard_share,
                              ended_at, weeks, slot)
            await apply(self.store, self.programme, sub, c, ended_at)
        assert c.ended is not None
        _, a.outcome, a.heard_share, a.ended_at = c.ended
        a.acquired_by = a.acquired_until = None
        return a

    async def _facts(self, a: Attempt) -> tuple[Delivery | None, CallbackRequest | None,
                                                 list[Delivery]]:
        """The attempt's delivery, or its callback request with all her deliveries."""
        if a.kind is AttemptKind.SCHEDULED and a.delivery_id is not None:
            rows = await self.store.fetchall(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE id = ?", (a.delivery_id,))
            return _delivery(rows[0]), None, []
        if a.kind is AttemptKind.CALLBACK and a.callback_id is not None:
            return (None, await callback_request(self.store, a.callback_id),
                    await her_deliveries(self.store, a.subscriber_id))
        return None, None, []

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        """The call of a live attempt was never placed (Asterisk refused the Originate): as
        if it had not been claimed, it costs her no attempt, and its work is due again at
        `due_at`. False if the attempt is not live."""
        async with self.store.transaction():
            a = await live_attempt(self.store, attempt_id)
            if a is None:
                return False
            d, cb, _ = await self._facts(a)
            await apply(self.store, self.programme, None, rules.unclaim(a, d, cb, due_at),
                        due_at)
            return True

    async def reap(self, now: datetime) -> list[int]:
        """Close the live calls whose lease has run out (their owner died), by the one reap
        rule (scheduler.rules.reaped), each in its own transaction."""
        rows = await self.store.fetchall(
            "SELECT id FROM attempts a WHERE outcome IS NULL AND acquired_until <= ? "
            "AND (subscriber_id IS NULL OR " + _HER_PROGRAMME.format("a") + ") ORDER BY id",
            (epoch(now), self.programme.name))
        closed = []
        for row in rows:
            async with self.store.transaction():
                a = await live_attempt(self.store, row["id"])
                # else released meanwhile by its owner, or its lease renewed
                if a is not None and a.acquired_until is not None and a.acquired_until <= now:
                    await self._release(a, rules.reaped(a.answered_at is not None), None, now)
                    closed.append(a.id)
        return closed

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        """Her missed call: a new callback request, or None when it merges with a recent one
        (or she is not active)."""
        async with self.store.transaction():
            sub = await her_record(self.store, sub_id)
            last = await self.store.fetchall(
                f"SELECT {_CALLBACK_COLUMNS} FROM callback_requests WHERE subscriber_id = ? "
                "ORDER BY id DESC LIMIT 1", (sub_id,))
            cb = callbacks.on_missed_call(self.programme, sub,
                                          _callback(last[0]) if last else None, now)
            if cb is None:
                return None
            rows = await self.store.fetchall(
                "INSERT INTO callback_requests (subscriber_id, requested_at, status, "
                "next_attempt_at) VALUES (?, ?, 'pending', ?) RETURNING id",
                (sub_id, epoch(cb.requested_at), epoch(cb.next_attempt_at)))
            return replace(cb, id=int(rows[0][0]))
