"""An in-memory store of women, deliveries, attempts and callbacks, with leases. Pure.

The same contract as the SQLite store (APScheduler 4's design): claim() picks due work and
creates the attempt with a lease (acquired_by, acquired_until); release() records what came
of it and applies the pure decisions (retry, supersede, callback); reap() closes attempts
whose owner died (lease expired) so nothing is lost. Used by the simulation and the tests;
rows() and from_rows() stand for persisting and reloading (a crash and a restart; the rows
and the rebuild are in scheduler/memory_rows.py).
"""
from __future__ import annotations

import random
from copy import deepcopy
from dataclasses import replace
from datetime import date, datetime
from typing import Callable

from scheduler import callbacks, lifecycle, memory_rows, rules, unanswered
from scheduler.due_queues import DueQueues
from scheduler.engagement import Engagement, after_call
from scheduler.memory_rows import Rows
from scheduler.model import (Attempt, CallbackRequest, CallbackStatus, Delivery, DeliveryStatus,
                             LifeEvent, SchedulerError, Subscriber, SubscriberStatus)
from scheduler.notifications import is_notification, latest_message
from scheduler.outcome import Outcome
from scheduler.plan import plan_deliveries
from scheduler.policy import RetrySlots
from scheduler.programme import Programme
from scheduler.retry_slots import Learner
from scheduler.rules import Changes


class MemoryStore:
    """keep_closed_attempts=False forgets each attempt once it is released (a long
    simulation needs only the live ones); rows() then holds the live attempts only."""

    def __init__(self, programme: Programme, *, keep_closed_attempts: bool = True,
                 rng: random.Random | None = None, learner: Learner | None = None):
        """`rng`: the draws of retry_slots learned or random (needed only then). `learner`:
        another chooser of later attempts' slots (the simulation's ceiling), instead."""
        self.programme = programme
        self._learner: Learner | None = learner
        if learner is None and programme.retry.retry_slots is not RetrySlots.OWN:
            if rng is None:
                raise SchedulerError(f"retry_slots = {programme.retry.retry_slots.value} needs "
                                     "a random.Random")
            self._learner = Learner(programme, rng)
        self.keep_closed_attempts = keep_closed_attempts
        self.subscribers: dict[int, Subscriber] = {}
        self.deliveries: dict[int, Delivery] = {}
        self.attempts: dict[int, Attempt] = {}
        self.callbacks: dict[int, CallbackRequest] = {}
        self.engagement: dict[int, Engagement] = {}
        self.unanswered: dict[int, unanswered.Unanswered] = {}   # when the rule is on
        self._weeks_rule = programme.retry.deactivate_after_weeks_unanswered > 0
        self._by_sub: dict[int, list[int]] = {}        # subscriber -> delivery ids, in order
        self._last_callback: dict[int, int] = {}       # subscriber -> latest request id
        self._live: dict[int, int] = {}                # subscriber -> live attempt id
        self._queues = DueQueues()                     # stale entries skipped
        self._ids = {"subscriber": 0, "delivery": 0, "attempt": 0, "callback": 0}

    # ---- women -------------------------------------------------------------------------------
    def enrol(self, sub: Subscriber, now: datetime) -> Subscriber:
        sub = lifecycle.enrol(self.programme, replace(sub, id=self._next("subscriber")), now)
        self.subscribers[sub.id] = sub
        self.engagement[sub.id] = Engagement()
        if self._weeks_rule:
            self.unanswered[sub.id] = unanswered.Unanswered(sub.enrolled_at)
        self._by_sub[sub.id] = []
        self._plan(sub.id, now)
        return self.subscribers[sub.id]

    def register_birth(self, sub_id: int, dob: date, now: datetime) -> Subscriber:
        return self._change(sub_id, lambda s: lifecycle.register_birth(s, dob, now), now)

    def life_event(self, sub_id: int, event: LifeEvent, now: datetime) -> Subscriber:
        return self._change(sub_id, lambda s: lifecycle.life_event(s, event, now), now)

    def pause(self, sub_id: int, now: datetime) -> Subscriber:
        return self._change(sub_id, lambda s: lifecycle.pause(s, now), now)

    def resume(self, sub_id: int, now: datetime) -> Subscriber:
        return self._change(sub_id, lambda s: lifecycle.resume(s, now), now)

    def opt_out(self, sub_id: int, now: datetime, reason: str = "by_user") -> Subscriber:
        return self._change(sub_id, lambda s: lifecycle.opt_out(s, now, reason), now)

    def change_slot(self, sub_id: int, slot: str, now: datetime) -> Subscriber:
        return self._change(sub_id, lambda s: lifecycle.change_slot(self.programme, s, slot, now),
                            now, new_slot=True)

    def subscriber(self, sub_id: int) -> Subscriber:
        try:
            return self.subscribers[sub_id]
        except KeyError:
            raise SchedulerError(f"no woman with id {sub_id}") from None

    def _change(self, sub_id: int, change: Callable[[Subscriber], Subscriber], now: datetime,
                *, new_slot: bool = False) -> Subscriber:
        before = self.subscriber(sub_id)
        mine = self.deliveries_of(sub_id) if new_slot else []
        self._apply(sub_id, rules.change(self.programme, before, change(before), mine, now,
                                         new_slot=new_slot), now)
        return self.subscribers[sub_id]

    # ---- applying the rules' changes ---------------------------------------------------------
    def _apply(self, sub_id: int, c: Changes, now: datetime) -> Attempt | None:
        """Write what a rule decided (scheduler/rules.py) and keep the indexes up to date;
        returns the attempt claimed or ended, if any."""
        claimed, ended, unclaimed, updates, callback, subscriber, cancel, plan, _ = c
        if subscriber is not None:
            self.subscribers[sub_id] = subscriber
        for u in updates:
            d = self.deliveries[u.id]
            (_, d.status, d.attempts, d.next_attempt_at, d.closed_at, d.heard_share,
             d.acquired_by, d.acquired_until) = u
            if u.status is DeliveryStatus.PENDING and u.next_attempt_at is not None:
                self._queues.push("delivery", u.next_attempt_at, u.id)
        a = claimed
        if a is not None:
            a.id = self._next("attempt")
            self.attempts[a.id] = a
            self._live[sub_id] = a.id
            assert a.acquired_until is not None
            self._queues.push("lease", a.acquired_until, a.id)
            if callback is None:
                return a                # a claimed delivery: nothing more to write
        if ended is not None:
            a = self.attempts[ended.id]
            _, a.outcome, a.heard_share, a.ended_at = ended
            a.acquired_by = a.acquired_until = None
            self._live.pop(sub_id, None)
            if not self.keep_closed_attempts:
                del self.attempts[a.id]
        if unclaimed is not None:
            del self.attempts[unclaimed]
            self._live.pop(sub_id, None)
        if callback is not None:
            cb = self.callbacks[callback.id]
            (_, cb.status, cb.attempts, cb.next_attempt_at, cb.served_at, cb.attempt_id) = callback
            if claimed is not None:
                cb.attempt_id = claimed.id
            if cb.status is CallbackStatus.PENDING and cb.next_attempt_at is not None:
                self._queues.push("callback", cb.next_attempt_at, cb.id)
        if cancel:
            last = self._last_callback.get(sub_id)
            gone = self.callbacks[last] if last is not None else None
            if gone is not None and gone.status is CallbackStatus.PENDING:
                gone.status, gone.next_attempt_at = CallbackStatus.CANCELLED, None
        if plan:
            self._plan(sub_id, now)
        self._unblock(sub_id)           # her live call ended, or she was resumed
        return a

    # ---- planning ----------------------------------------------------------------------------
    def run_plans(self, now: datetime, most: int | None = None) -> int:
        """Plan every woman whose plan_at has come (the `most` earliest when given);
        returns how many."""
        n = 0
        def wanted() -> bool:
            return most is None or n < most
        for at, sub_id in self._queues.due("plan", now, wanted):
            if self.subscribers[sub_id].plan_at == at:
                self._plan(sub_id, now)
                n += 1
        return n

    def _plan(self, sub_id: int, now: datetime) -> None:
        sub = self.subscribers[sub_id]
        ids = self._by_sub[sub_id]
        latest = self.deliveries[ids[-1]] if ids else None
        if latest is not None and is_notification(latest.message_key):
            latest = latest_message(self.deliveries[i] for i in ids)
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
                self._queues.push("delivery", d.next_attempt_at, d.id)
        if plan.status is not None:
            sub = self.subscribers[sub_id] = replace(sub, status=plan.status, updated_at=now)
        sub.plan_at = plan.plan_at
        if plan.plan_at is not None:
            self._queues.push("plan", plan.plan_at, sub_id)

    def add_notification(self, d: Delivery) -> Delivery:
        """Her notification call (scheduler/notifications.on_close): a pending delivery
        beside her messages, claimed and retried like them."""
        d.id = self._next("delivery")
        self.deliveries[d.id] = d
        self._by_sub[d.subscriber_id].append(d.id)
        assert d.next_attempt_at is not None
        self._queues.push("delivery", d.next_attempt_at, d.id)
        return d

    # ---- calls -------------------------------------------------------------------------------
    def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        """Due calls, callbacks first, at most one live call per woman; each comes back as a
        live Attempt leased to `owner` until now + the programme's lease."""
        out: list[Attempt] = []
        def wanted() -> bool:
            return len(out) < limit
        for at, cb_id in self._queues.due("callback", now, wanted):
            cb = self.callbacks[cb_id]
            if cb.status is not CallbackStatus.PENDING or cb.next_attempt_at != at:
                continue                                     # stale index entry
            if cb.subscriber_id in self._live:
                self._queues.block(cb.subscriber_id, "callback", cb.id)
                continue
            attempt = self._apply(cb.subscriber_id, rules.claim_callback(
                self.programme, self.subscribers[cb.subscriber_id], cb,
                self.deliveries_of(cb.subscriber_id), now, owner), now)
            if attempt is not None:
                out.append(attempt)
        for at, d_id in self._queues.due("delivery", now, wanted):
            d = self.deliveries[d_id]
            if d.status is not DeliveryStatus.PENDING or d.next_attempt_at != at:
                continue                                     # stale index entry
            sub = self.subscribers[d.subscriber_id]
            if sub.status is not SubscriberStatus.ACTIVE or sub.id in self._live:
                self._queues.block(sub.id, "delivery", d.id)
                continue
            attempt = self._apply(sub.id, rules.claim_delivery(self.programme, sub, d, now,
                                                               owner), now)
            if attempt is not None:
                out.append(attempt)
        return out

    def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        """Renew the lease of a live call still in progress; False if it is not ours."""
        a = self.attempts.get(attempt_id)
        if a is None or not a.live or a.acquired_by != owner:
            return False
        a.acquired_until = until
        self._queues.push("lease", until, a.id)
        return True

    def answered(self, attempt_id: int, at: datetime) -> None:
        """She answered the live call (the reap rule reads it)."""
        a = self.attempts.get(attempt_id)
        if a is not None and a.live:
            a.answered_at = at

    def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                ended_at: datetime) -> Attempt:
        """Record what came of a live call and decide what follows."""
        a = self.attempts.get(attempt_id)
        if a is None or not a.live:
            raise SchedulerError(f"attempt {attempt_id} is not live")
        return self._release(a, outcome, heard_share, ended_at)

    def _release(self, a: Attempt, outcome: Outcome | None, heard_share: float | None,
                 ended_at: datetime) -> Attempt:
        """Release `a` with `outcome`, or by the reap rule when the outcome is None."""
        sub = self.subscribers[a.subscriber_id]
        d = self.deliveries[a.delivery_id] if a.delivery_id is not None else None
        cb = self.callbacks[a.callback_id] if a.callback_id is not None else None
        mine = self.deliveries_of(sub.id) if cb is not None else []
        before = self.unanswered.get(sub.id)
        slot = None
        if self._learner is not None and d is not None:
            slot = self._learner.after_call(
                sub, a, d, outcome or rules.reaped(a.answered_at is not None), ended_at)
        if outcome is None:
            c = rules.reap(self.programme, sub, a, d, cb, mine, ended_at, before, slot)
        else:
            c = rules.release(self.programme, sub, a, d, cb, mine, outcome, heard_share,
                              ended_at, before, slot)
        end = c.ended
        assert end is not None
        if before is not None:
            self.unanswered[sub.id] = unanswered.after_call(before, end.outcome.answered,
                                                            end.ended_at)
        self.engagement[sub.id] = after_call(self.engagement[sub.id], self.programme.at_risk,
                                             end.outcome, end.heard_share, end.ended_at)
        self._apply(sub.id, c, end.ended_at)
        return a

    def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        """The call of a live attempt was never placed (Asterisk refused the Originate: it
        was shutting down, say): as if it had not been claimed, it costs her no attempt, and
        its work is due again at `due_at`. False if the attempt is not live."""
        a = self.attempts.get(attempt_id)
        if a is None or not a.live:
            return False
        d = self.deliveries[a.delivery_id] if a.delivery_id is not None else None
        cb = self.callbacks[a.callback_id] if a.callback_id is not None else None
        self._apply(a.subscriber_id, rules.unclaim(a, d, cb, due_at), due_at)
        return True

    def _unblock(self, sub_id: int) -> None:
        for kind, item_id in self._queues.unblock(sub_id):
            item = self.callbacks[item_id] if kind == "callback" else self.deliveries[item_id]
            if item.next_attempt_at is not None:
                self._queues.push(kind, item.next_attempt_at, item_id)

    def reap(self, now: datetime) -> list[int]:
        """Close the live calls whose lease has run out (their owner died), by the one reap
        rule (scheduler.rules.reaped)."""
        dead = []
        for until, attempt_id in self._queues.due("lease", now):
            a = self.attempts.get(attempt_id)
            if a is not None and a.live and a.acquired_until == until:
                self._release(a, None, None, now)
                dead.append(attempt_id)
        return dead

    def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        """Her missed call: a new callback request, or None when it merges with a recent one."""
        sub = self.subscriber(sub_id)
        last_id = self._last_callback.get(sub_id)
        cb = callbacks.on_missed_call(self.programme, sub,
                                      self.callbacks[last_id] if last_id else None, now)
        if cb is None:
            return None
        cb.id = self._next("callback")
        self.callbacks[cb.id] = cb
        self._last_callback[sub_id] = cb.id
        assert cb.next_attempt_at is not None
        self._queues.push("callback", cb.next_attempt_at, cb.id)
        return cb

    # ---- reading -----------------------------------------------------------------------------
    def deliveries_of(self, sub_id: int) -> list[Delivery]:
        return [self.deliveries[i] for i in self._by_sub.get(sub_id, [])]

    def callbacks_of(self, sub_id: int) -> list[CallbackRequest]:
        return sorted((c for c in self.callbacks.values() if c.subscriber_id == sub_id),
                      key=lambda c: c.id)

    def live_attempts(self) -> list[Attempt]:
        return [self.attempts[i] for i in self._live.values()]

    def next_wake(self) -> datetime | None:
        """The earliest instant at which plan, claim or reap may have something to do."""
        return self._queues.next_wake(self._is_live)

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
    def from_rows(cls, programme: Programme, rows: Rows,
                  rng: random.Random | None = None) -> "MemoryStore":
        """A store rebuilt from saved rows, as after a restart (indexes are rebuilt; what
        retry_slots learned is not: it starts again from her next calls)."""
        store = cls(programme, rng=rng)
        memory_rows.load(store, deepcopy(rows))
        return store
