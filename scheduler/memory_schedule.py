"""MemoryStore (sync, for the simulation's speed) behind the async store interface
(scheduler/store.py's Schedule). Results are copies: a caller never holds a live reference
into the store. The actor of a change is not kept (the in-memory store has no audit trail).
"""
from __future__ import annotations

from copy import deepcopy
from datetime import date, datetime
from typing import Any

from scheduler.followups import Assignment, FollowUp, StoredAnswer, Worker
from scheduler.memory import MemoryStore
from scheduler.memory_facts import MemoryFacts
from scheduler.model import Attempt, CallbackRequest, Delivery, LifeEvent, Subscriber
from scheduler.notifications import Notification, on_close
from scheduler.outcome import Outcome
from scheduler.programme import Programme
from scheduler.questions_model import Answer, FollowUpToOpen


class MemorySchedule:
    def __init__(self, programme: Programme, mem: MemoryStore | None = None,
                 facts: MemoryFacts | None = None):
        self.programme = programme
        self.mem = mem if mem is not None else MemoryStore(programme)
        self.facts = facts if facts is not None else MemoryFacts()

    async def enrol(self, sub: Subscriber, now: datetime, *,
                    actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.enrol(sub, now))

    async def register_birth(self, sub_id: int, dob: date, now: datetime, *,
                             actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.register_birth(sub_id, dob, now))

    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime, *,
                         actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.life_event(sub_id, event, now))

    async def pause(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.pause(sub_id, now))

    async def resume(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.resume(sub_id, now))

    async def change_slot(self, sub_id: int, slot: str, now: datetime, *,
                          actor: str = "system") -> Subscriber:
        return deepcopy(self.mem.change_slot(sub_id, slot, now))

    async def opt_out(self, sub_id: int, now: datetime, *, actor: str = "system",
                      reason: str = "by_user",
                      detail: dict[str, Any] | None = None) -> Subscriber:
        return deepcopy(self.mem.opt_out(sub_id, now, reason))

    async def run_plans(self, now: datetime, most: int | None = None) -> int:
        return self.mem.run_plans(now, most)

    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        return deepcopy(self.mem.claim(now, owner, limit))

    async def extend(self, attempt_id: int, owner: str, until: datetime) -> bool:
        return self.mem.extend(attempt_id, owner, until)

    async def answered(self, attempt_id: int, at: datetime) -> None:
        self.mem.answered(attempt_id, at)

    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        return deepcopy(self.mem.release(attempt_id, outcome, heard_share, ended_at))

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        return self.mem.unclaim(attempt_id, due_at)

    async def reap(self, now: datetime) -> list[int]:
        return self.mem.reap(now)

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        return deepcopy(self.mem.missed_call(sub_id, now))

    async def subscriber(self, sub_id: int) -> Subscriber:
        return deepcopy(self.mem.subscriber(sub_id))

    async def deliveries_of(self, sub_id: int) -> list[Delivery]:
        return deepcopy(self.mem.deliveries_of(sub_id))

    async def callbacks_of(self, sub_id: int) -> list[CallbackRequest]:
        return deepcopy(self.mem.callbacks_of(sub_id))

    async def live_attempts(self) -> list[Attempt]:
        return sorted(deepcopy(self.mem.live_attempts()), key=lambda a: a.id)

    async def next_wake(self) -> datetime | None:
        return self.mem.next_wake()

    # ---- workers, answers, follow-ups (scheduler/memory_facts.py)
    async def add_worker(self, name: str, phone: str, role: str, now: datetime, *,
                         actor: str = "system") -> Worker:
        return self.facts.add_worker(name, phone, role, now)

    async def worker(self, worker_id: int) -> Worker:
        return self.facts.worker(worker_id)

    async def workers(self) -> list[Worker]:
        return self.facts.list_workers()

    async def assign(self, worker_id: int, sub_id: int, now: datetime, *,
                     actor: str = "system") -> Assignment:
        self.mem.subscriber(sub_id)
        return self.facts.assign(worker_id, sub_id, now)

    async def unassign(self, worker_id: int, sub_id: int, now: datetime, *,
                       actor: str = "system") -> Assignment:
        self.mem.subscriber(sub_id)
        return self.facts.unassign(worker_id, sub_id, now)

    async def assignments(self, *, subscriber_id: int | None = None,
                          worker_id: int | None = None) -> list[Assignment]:
        return self.facts.current(subscriber_id=subscriber_id, worker_id=worker_id)

    async def record_answers(self, sub_id: int, attempt_id: int | None, week: str,
                             answers: list[Answer], now: datetime, *,
                             actor: str = "system") -> list[StoredAnswer]:
        self.mem.subscriber(sub_id)
        return self.facts.record_answers(sub_id, attempt_id, week, answers, now)

    async def answers_of(self, sub_id: int, *, history: bool = False) -> list[StoredAnswer]:
        return self.facts.answers_of(sub_id, history=history)

    async def open_follow_up(self, sub_id: int, follow_up: FollowUpToOpen, now: datetime, *,
                             answer_id: int | None = None, attempt_id: int | None = None,
                             actor: str = "system") -> FollowUp | None:
        self.mem.subscriber(sub_id)
        return self.facts.open_follow_up(sub_id, follow_up, now, answer_id=answer_id,
                                         attempt_id=attempt_id)

    async def follow_ups(self, *, open_only: bool = True, worker_id: int | None = None,
                         subscriber_id: int | None = None) -> list[FollowUp]:
        return self.facts.list_follow_ups(open_only=open_only, worker_id=worker_id,
                                          subscriber_id=subscriber_id)

    async def close_follow_up(self, follow_up_id: int, outcome: str, actor: str,
                              now: datetime, *, come_on: date | None = None) -> FollowUp:
        f, result = self.facts.to_close(follow_up_id, outcome)
        call = on_close(self.programme, self.mem.subscriber(f.subscriber_id), result, come_on,
                        now)                            # checked before anything is written
        closed = self.facts.close_follow_up(follow_up_id, outcome, actor, now)
        if call is not None and not any(n.come_on == come_on for n in
                                        self.facts.notifications_of(f.subscriber_id)):
            d = self.mem.add_notification(call)
            assert come_on is not None
            self.facts.notifications.append(Notification(d.id, f.id, f.subscriber_id, come_on))
        return closed

    async def notifications_of(self, sub_id: int) -> list[Notification]:
        self.mem.subscriber(sub_id)
        return self.facts.notifications_of(sub_id)
