"""An in-memory store of women, deliveries, attempts and callbacks, with leases. Pure.

The same contract as the SQLite store (APScheduler 4's design): claim() picks due work and
creates the attempt with a lease (acquired_by, acquired_until); release() records what came
of it and applies the pure decisions (retry, supersede, callback); reap() closes attempts
whose owner died (lease expired) so nothing is lost. Used by the simulation and the tests;
rows() and from_rows() stand for persisting and reloading (a crash and a restart).
"""
from __future__ import annotations

import heapq
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from scheduler import callbacks, lifecycle
from scheduler.engagement import Engagement, after_call, from_attempts
from scheduler.model import (Attempt, AttemptKind, CallbackRequest, CallbackStatus, Delivery,
                             DeliveryStatus, LifeEvent, SchedulerError, Subscriber,
                             SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.plan import plan_deliveries
from scheduler.programme import Programme
from scheduler.retry import after_attempt, heard_on_callback
from scheduler.slots import inside, next_opening
from scheduler.timeline import her_slot, her_zone


@dataclass
class Rows:
    """Everything a restart needs, as the store's rows."""
    subscribers: list[Subscriber] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)


class MemoryStore:
    """keep_closed_attempts=False forgets each attempt once it is released (a long
    simulation needs only the live ones); rows() then holds the live attempts only."""

    def __init__(self, programme: Programme, *, keep_closed_attempts: bool = True):
        self.programme = programme
        self.keep_closed_attempts = keep_closed_attempts
        self.subscribers: dict[int, Subscriber] = {}
        self.deliveries: dict[int, Delivery] = {}
        self.attempts: dict[int, Attempt] = {}
        self.callbacks: dict[int, CallbackRequest] = {}
        self.engagement: dict[int, Engagement] = {}
        self._by_sub: dict[int, list[int]] = {}        # subscriber -> delivery ids, in order
        self._last_callback: dict[int, int] = {}       # subscriber -> latest request id
        self._live: dict[int, int] = {}                # subscriber -> live attempt id
        self._blocked: dict[int, list[tuple[str, int]]] = {}  # waiting for her live call to end
        self._plans: list[tuple[datetime, int]] = []   # heaps of (time, id); stale entries skipped
        self._due: list[tuple[datetime, int]] = []
        self._cb_due: list[tuple[datetime, int]] = []
        self._leases: list[tuple[datetime, int]] = []  # (acquired_until, live attempt id)
        self._ids = {"subscriber": 0, "delivery": 0, "attempt": 0, "callback": 0}

    # ---- women -------------------------------------------------------------------------------
    def enrol(self, sub: Subscriber, now: datetime) -> Subscriber:
        sub = lifecycle.enrol(self.programme, replace(sub, id=self._next("subscriber")), now)
        self.subscribers[sub.id] = sub
        self.engagement[sub.id] = Engagement()
        self._by_sub[sub.id] = []
        self._plan(sub.id, now)
        return sub

    def register_birth(self, sub_id: int, dob: date, now: datetime) -> Subscriber:
        return self._change(sub_id, lifecycle.register_birth(self._sub(sub_id), dob, now), now)

    def life_event(self, sub_id: int, event: LifeEvent, now: datetime) -> Subscriber:
        return self._change(sub_id, lifecycle.life_event(self._sub(sub_id), event, now), now)

    def pause(self, sub_id: int, now: datetime) -> Subscriber:
        return self._change(sub_id, lifecycle.pause(self._sub(sub_id), now), now)

    def resume(self, sub_id: int, now: datetime) -> Subscriber:
        return self._change(sub_id, lifecycle.resume(self._sub(sub_id), now), now)

    def opt_out(self, sub_id: int, now: datetime) -> Subscriber:
        return self._change(sub_id, lifecycle.opt_out(self._sub(sub_id), now), now)

    def change_slot(self, sub_id: int, slot: str, now: datetime) -> Subscriber:
        sub = self._change(sub_id, lifecycle.change_slot(self.programme, self._sub(sub_id), slot,
                                                         now), now)
        for d in self.deliveries_of(sub_id):
            if d.status is DeliveryStatus.PENDING and d.next_attempt_at is not None:
                self._later(self._due, d, next_opening(max(now, d.next_attempt_at),
                                                       her_slot(self.programme, sub),
                                                       her_zone(sub)))
        return sub

    def _sub(self, sub_id: int) -> Subscriber:
        try:
            return self.subscribers[sub_id]
        except KeyError:
            raise SchedulerError(f"no subscriber {sub_id}") from None

    def _change(self, sub_id: int, sub: Subscriber, now: datetime) -> Subscriber:
        self.subscribers[sub_id] = sub
        if sub.status.ended:
            last = self._last_callback.get(sub_id)
            if last is not None and self.callbacks[last].status is CallbackStatus.PENDING:
                self.callbacks[last].status = CallbackStatus.CANCELLED
        self._plan(sub_id, now)
        self._unblock(sub_id)            # a resumed woman's pending delivery is due again
        return sub

    # ---- planning ----------------------------------------------------------------------------
    def run_plans(self, now: datetime) -> int:
        """Plan every woman whose plan_at has come; returns how many."""
        n = 0
        while self._plans and self._plans[0][0] <= now:
            at, sub_id = heapq.heappop(self._plans)
            if self.subscribers[sub_id].plan_at == at:
                self._plan(sub_id, now)
                n += 1
        return n

    def _plan(self, sub_id: int, now: datetime) -> None:
        sub = self.subscribers[sub_id]
        ids = self._by_sub[sub_id]
        latest = self.deliveries[ids[-1]] if ids else None
        plan = plan_deliveries(self.programme, sub, latest, now)
        for c in plan.close:
            d = self.deliveries[c.delivery_id]
            d.status, d.closed_at, d.next_attempt_at = c.status, now, None
        for o in plan.open:
            d = Delivery(id=self._next("delivery"), subscriber_id=sub_id, message_key=o.message_key,
                         due_at=o.due_at, status=o.status, next_attempt_at=o.next_attempt_at,
                         closed_at=None if o.status is DeliveryStatus.PENDING else now)
            self.deliveries[d.id] = d
            ids.append(d.id)
            if d.next_attempt_at is not None:
                heapq.heappush(self._due, (d.next_attempt_at, d.id))
        if plan.status is not None:
            sub = self.subscribers[sub_id] = replace(sub, status=plan.status, updated_at=now)
        sub.plan_at = plan.plan_at
        if plan.plan_at is not None:
            heapq.heappush(self._plans, (plan.plan_at, sub_id))

    # ---- calls -------------------------------------------------------------------------------
    def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        """Due calls, callbacks first, at most one live call per woman; each comes back as a
        live Attempt leased to `owner` until now + the programme's lease."""
        out: list[Attempt] = []
        while self._cb_due and self._cb_due[0][0] <= now and len(out) < limit:
            at, cb_id = heapq.heappop(self._cb_due)
            attempt = self._claim_callback(self.callbacks[cb_id], at, now, owner)
            if attempt is not None:
                out.append(attempt)
        while self._due and self._due[0][0] <= now and len(out) < limit:
            at, d_id = heapq.heappop(self._due)
            attempt = self._claim_delivery(self.deliveries[d_id], at, now, owner)
            if attempt is not None:
                out.append(attempt)
        return out

    def _claim_callback(self, cb: CallbackRequest, at: datetime, now: datetime,
                        owner: str) -> Attempt | None:
        if cb.status is not CallbackStatus.PENDING or cb.next_attempt_at != at:
            return None
        sub = self.subscribers[cb.subscriber_id]
        if sub.status is not SubscriberStatus.ACTIVE or callbacks.expired(self.programme, cb, now):
            cb.status, cb.next_attempt_at = CallbackStatus.EXPIRED, None
            return None
        if sub.id in self._live:
            self._blocked.setdefault(sub.id, []).append(("callback", cb.id))
            return None
        if not inside(now, self.programme.window, her_zone(sub)):
            return self._later(self._cb_due, cb, next_opening(now, self.programme.window,
                                                               her_zone(sub)))
        key = callbacks.callback_message(self.programme, self.deliveries_of(sub.id), now) or \
            next((d.message_key for d in self.deliveries_of(sub.id)
                  if d.status is DeliveryStatus.PENDING), None)
        if key is None:
            cb.status, cb.next_attempt_at = CallbackStatus.CANCELLED, None   # nothing to play
            return None
        cb.attempts += 1
        cb.next_attempt_at = None
        attempt = self._new_attempt(sub.id, AttemptKind.CALLBACK, key, cb.attempts, now, owner)
        attempt.callback_id, cb.attempt_id = cb.id, attempt.id
        return attempt

    def _claim_delivery(self, d: Delivery, at: datetime, now: datetime,
                        owner: str) -> Attempt | None:
        if d.status is not DeliveryStatus.PENDING or d.next_attempt_at != at:
            return None
        sub = self.subscribers[d.subscriber_id]
        if sub.status is not SubscriberStatus.ACTIVE or sub.id in self._live:
            self._blocked.setdefault(sub.id, []).append(("delivery", d.id))
            return None
        slot, tz = her_slot(self.programme, sub), her_zone(sub)
        local = now.astimezone(tz).time()
        if not (slot.contains(local) and self.programme.window.contains(local)):
            return self._later(self._due, d, next_opening(now, slot, tz))
        d.attempts += 1
        d.next_attempt_at = None
        attempt = self._new_attempt(sub.id, AttemptKind.SCHEDULED, d.message_key, d.attempts,
                                    now, owner)
        attempt.delivery_id = d.id
        d.acquired_by, d.acquired_until = attempt.acquired_by, attempt.acquired_until
        return attempt

    def _later(self, heap: list, item, when: datetime) -> None:
        item.next_attempt_at = when
        heapq.heappush(heap, (when, item.id))
        return None

    def _new_attempt(self, sub_id: int, kind: AttemptKind, key: str, number: int,
                     now: datetime, owner: str) -> Attempt:
        a = Attempt(id=self._next("attempt"), subscriber_id=sub_id, kind=kind, message_key=key,
                    number=number, started_at=now, acquired_by=owner,
                    acquired_until=now + self.programme.retry.lease)
        self.attempts[a.id] = a
        self._live[sub_id] = a.id
        heapq.heappush(self._leases, (a.acquired_until, a.id))
        return a

    def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        """Renew the lease of a live call still in progress; False if it is not ours."""
        a = self.attempts.get(attempt_id)
        if a is None or not a.live or a.acquired_by != owner:
            return False
        a.acquired_until = until
        heapq.heappush(self._leases, (until, a.id))
        return True

    def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                ended_at: datetime) -> Attempt:
        """Record what came of a live call and decide what follows."""
        a = self.attempts.get(attempt_id)
        if a is None or not a.live:
            raise SchedulerError(f"attempt {attempt_id} is not live")
        a.outcome, a.heard_share, a.ended_at = outcome, heard_share, ended_at
        a.acquired_by = a.acquired_until = None
        self._live.pop(a.subscriber_id, None)
        sub = self.subscribers[a.subscriber_id]
        self.engagement[sub.id] = after_call(self.engagement[sub.id], self.programme.at_risk,
                                             outcome, heard_share, ended_at)
        if a.kind is AttemptKind.SCHEDULED and a.delivery_id is not None:
            self._after_delivery_attempt(sub, self.deliveries[a.delivery_id], outcome,
                                         heard_share, ended_at)
        elif a.kind is AttemptKind.CALLBACK and a.callback_id is not None:
            self._after_callback(sub, a, outcome, heard_share, ended_at)
        self._unblock(sub.id)
        if not self.keep_closed_attempts:
            del self.attempts[attempt_id]
        return a

    def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        """The call of a live attempt was never placed (Asterisk refused the Originate: it
        was shutting down, say): as if it had not been claimed, it costs her no attempt, and
        its work is due again at `due_at`. False if the attempt is not live."""
        a = self.attempts.get(attempt_id)
        if a is None or not a.live:
            return False
        del self.attempts[attempt_id]
        self._live.pop(a.subscriber_id, None)
        if a.kind is AttemptKind.SCHEDULED and a.delivery_id is not None:
            d = self.deliveries[a.delivery_id]
            d.attempts -= 1
            d.acquired_by = d.acquired_until = None
            self._later(self._due, d, due_at)
        elif a.kind is AttemptKind.CALLBACK and a.callback_id is not None:
            cb = self.callbacks[a.callback_id]
            cb.attempts -= 1
            cb.attempt_id = None
            self._later(self._cb_due, cb, due_at)
        self._unblock(a.subscriber_id)
        return True

    def _after_delivery_attempt(self, sub: Subscriber, d: Delivery, outcome: Outcome,
                                heard: float | None, at: datetime) -> None:
        r = after_attempt(self.programme, sub, d, outcome, heard, at)
        was_pending = d.status is DeliveryStatus.PENDING
        d.status, d.next_attempt_at, d.heard_share, d.closed_at = \
            r.status, r.next_attempt_at, r.heard_share, r.closed_at
        d.acquired_by = d.acquired_until = None
        if r.next_attempt_at is not None:
            heapq.heappush(self._due, (r.next_attempt_at, d.id))
        if r.invalid_number and not sub.status.ended:
            self.subscribers[sub.id] = lifecycle.deactivate(sub, at, "invalid_number")
        if was_pending and r.status is not DeliveryStatus.PENDING:
            self._plan(sub.id, at)

    def _after_callback(self, sub: Subscriber, a: Attempt, outcome: Outcome,
                        heard: float | None, at: datetime) -> None:
        cb = self.callbacks[a.callback_id]
        r = callbacks.after_callback_attempt(self.programme, sub, cb, outcome, at)
        cb.status, cb.next_attempt_at, cb.served_at = r.status, r.next_attempt_at, r.served_at
        if r.next_attempt_at is not None:
            heapq.heappush(self._cb_due, (r.next_attempt_at, cb.id))
        if not outcome.answered:
            return
        for d in self.deliveries_of(sub.id):
            if d.message_key == a.message_key:
                was_pending = d.status is DeliveryStatus.PENDING
                h = heard_on_callback(self.programme, d, heard or 0.0, at)
                d.status, d.heard_share, d.closed_at = h.status, h.heard_share, h.closed_at
                if was_pending and h.status is not DeliveryStatus.PENDING:
                    d.next_attempt_at = None
                    self._plan(sub.id, at)

    def _unblock(self, sub_id: int) -> None:
        for kind, item_id in self._blocked.pop(sub_id, []):
            item = self.callbacks[item_id] if kind == "callback" else self.deliveries[item_id]
            if item.next_attempt_at is not None:
                heapq.heappush(self._cb_due if kind == "callback" else self._due,
                               (item.next_attempt_at, item_id))

    def reap(self, now: datetime) -> list[int]:
        """Close the live calls whose lease has run out (their owner died) as FAILED."""
        dead = []
        while self._leases and self._leases[0][0] <= now:
            until, attempt_id = heapq.heappop(self._leases)
            a = self.attempts.get(attempt_id)
            if a is not None and a.live and a.acquired_until == until:
                self.release(attempt_id, Outcome.FAILED, None, now)
                dead.append(attempt_id)
        return dead

    def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        """Her missed call: a new callback request, or None when it merges with a recent one."""
        sub = self._sub(sub_id)
        last_id = self._last_callback.get(sub_id)
        cb = callbacks.on_missed_call(self.programme, sub,
                                      self.callbacks[last_id] if last_id else None, now)
        if cb is None:
            return None
        cb.id = self._next("callback")
        self.callbacks[cb.id] = cb
        self._last_callback[sub_id] = cb.id
        heapq.heappush(self._cb_due, (cb.next_attempt_at, cb.id))
        return cb

    # ---- reading -----------------------------------------------------------------------------
    def deliveries_of(self, sub_id: int) -> list[Delivery]:
        return [self.deliveries[i] for i in self._by_sub.get(sub_id, [])]

    def live_attempts(self) -> list[Attempt]:
        return [self.attempts[i] for i in self._live.values()]

    def next_wake(self) -> datetime | None:
        """The earliest instant at which plan, claim or reap may have something to do."""
        while self._leases and not self._is_live(self._leases[0][1]):
            heapq.heappop(self._leases)
        times = [h[0][0] for h in (self._plans, self._due, self._cb_due, self._leases) if h]
        return min(times) if times else None

    def _is_live(self, attempt_id: int) -> bool:
        a = self.attempts.get(attempt_id)
        return a is not None and a.live

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # ---- persistence -------------------------------------------------------------------------
    def rows(self) -> Rows:
        return Rows(deepcopy(list(self.subscribers.values())),
                    deepcopy(list(self.deliveries.values())),
                    deepcopy(list(self.attempts.values())),
                    deepcopy(list(self.callbacks.values())))

    @classmethod
    def from_rows(cls, programme: Programme, rows: Rows) -> "MemoryStore":
        """A store rebuilt from saved rows, as after a restart (indexes are rebuilt)."""
        rows = deepcopy(rows)
        store = cls(programme)
        for s in rows.subscribers:
            store.subscribers[s.id] = s
            store._by_sub[s.id] = []
            if s.plan_at is not None:
                heapq.heappush(store._plans, (s.plan_at, s.id))
        for d in sorted(rows.deliveries, key=lambda d: d.id):
            store.deliveries[d.id] = d
            store._by_sub[d.subscriber_id].append(d.id)
            if d.status is DeliveryStatus.PENDING and d.next_attempt_at is not None:
                heapq.heappush(store._due, (d.next_attempt_at, d.id))
        for a in rows.attempts:
            store.attempts[a.id] = a
            if a.live:
                store._live[a.subscriber_id] = a.id
                heapq.heappush(store._leases, (a.acquired_until, a.id))
        for c in sorted(rows.callbacks, key=lambda c: c.id):
            store.callbacks[c.id] = c
            store._last_callback[c.subscriber_id] = c.id
            if c.status is CallbackStatus.PENDING and c.next_attempt_at is not None:
                heapq.heappush(store._cb_due, (c.next_attempt_at, c.id))
        for s in rows.subscribers:
            store.engagement[s.id] = from_attempts(
                (a for a in rows.attempts if a.subscriber_id == s.id), programme.at_risk)
        for kind, items in (("subscriber", rows.subscribers), ("delivery", rows.deliveries),
                            ("attempt", rows.attempts), ("callback", rows.callbacks)):
            store._ids[kind] = max((x.id for x in items), default=0)
        return store
