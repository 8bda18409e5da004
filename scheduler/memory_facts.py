"""Workers, assignments, answers and follow-ups in memory (scheduler/followups.py's facts), the
twin of ivr/adapters/workers.py and ivr/adapters/answers.py. Pure. The caller (MemorySchedule)
checks that the woman exists; the checks and decisions are scheduler/followups.py's."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from scheduler.followups import (Assignment, FollowUp, FollowUpOutcome, StoredAnswer, Worker,
                                 check_answers, check_assign, check_close, check_worker,
                                 stored_value, to_write)
from scheduler.model import SchedulerError
from scheduler.notifications import Notification
from scheduler.questions_model import Answer, FollowUpToOpen


class MemoryFacts:
    def __init__(self) -> None:
        self.workers: dict[int, Worker] = {}
        self.assignments: dict[int, Assignment] = {}
        self.answers: dict[int, StoredAnswer] = {}
        self.follow_ups: dict[int, FollowUp] = {}
        self.notifications: list[Notification] = []
        self._ids = {"worker": 0, "assignment": 0, "answer": 0, "follow_up": 0}

    # ---- workers ---------------------------------------------------------------------------
    def add_worker(self, name: str, phone: str, role: str, now: datetime) -> Worker:
        name, r = check_worker(name, phone, role)
        taken = [w for w in self.workers.values() if w.active and w.phone == phone]
        if taken:
            raise SchedulerError(f"this phone is already a worker's (worker {taken[0].id})")
        w = Worker(self._next("worker"), name, phone, r, now)
        self.workers[w.id] = w
        return w

    def worker(self, worker_id: int) -> Worker:
        return check_assign(self.workers.get(worker_id), worker_id)

    def list_workers(self) -> list[Worker]:
        return sorted((w for w in self.workers.values() if w.active), key=lambda w: w.id)

    def assign(self, worker_id: int, sub_id: int, now: datetime) -> Assignment:
        w = self.worker(worker_id)
        for a in self.current(subscriber_id=sub_id):
            if a.role is w.role:
                if a.worker_id == worker_id:
                    return a
                self.assignments[a.id] = replace(a, until=now)
        a = Assignment(self._next("assignment"), worker_id, sub_id, w.role, now)
        self.assignments[a.id] = a
        return a

    def unassign(self, worker_id: int, sub_id: int, now: datetime) -> Assignment:
        self.worker(worker_id)
        for a in self.current(subscriber_id=sub_id, worker_id=worker_id):
            a = self.assignments[a.id] = replace(a, until=now)
            return a
        raise SchedulerError(f"worker {worker_id} does not follow woman {sub_id}")

    def current(self, *, subscriber_id: int | None = None,
                worker_id: int | None = None) -> list[Assignment]:
        return [a for a in sorted(self.assignments.values(), key=lambda a: a.id)
                if a.until is None
                and subscriber_id in (None, a.subscriber_id) and worker_id in (None, a.worker_id)]

    # ---- answers ---------------------------------------------------------------------------
    def record_answers(self, sub_id: int, attempt_id: int | None, week: str,
                       answers: list[Answer], now: datetime) -> list[StoredAnswer]:
        answers = check_answers(week, answers)
        current = {a.question: a for a in self.answers_of(sub_id) if a.week == week}
        out = []
        for a in to_write(current, answers):
            before = current.get(a.question_key)
            if before is not None:
                self.answers[before.id] = replace(before, superseded_at=now)
            stored = StoredAnswer(self._next("answer"), sub_id, a.question_key, week,
                                  stored_value(a), a.status, attempt_id, now)
            self.answers[stored.id] = stored
            out.append(stored)
        return out

    def answers_of(self, sub_id: int, *, history: bool = False) -> list[StoredAnswer]:
        return sorted((a for a in self.answers.values() if a.subscriber_id == sub_id
                       and (history or a.superseded_at is None)),
                      key=lambda a: (a.week, a.question, a.id))

    # ---- follow-ups ------------------------------------------------------------------------
    def open_follow_up(self, sub_id: int, f: FollowUpToOpen, now: datetime, *,
                       answer_id: int | None = None,
                       attempt_id: int | None = None) -> FollowUp | None:
        if any(x.open and x.subscriber_id == sub_id and x.rule == f.rule_key
               for x in self.follow_ups.values()):
            return None
        owner = [a.worker_id for a in self.current(subscriber_id=sub_id) if a.role is f.owner_role]
        new = FollowUp(self._next("follow_up"), sub_id, f.rule_key, f.reason, f.due, f.owner_role,
                       f.question_key, owner[0] if owner else None, answer_id, attempt_id, now)
        self.follow_ups[new.id] = new
        return new

    def list_follow_ups(self, *, open_only: bool = True, worker_id: int | None = None,
                        subscriber_id: int | None = None) -> list[FollowUp]:
        role = self.worker(worker_id).role if worker_id is not None else None
        return sorted((f for f in self.follow_ups.values()
                       if (f.open or not open_only)
                       and subscriber_id in (None, f.subscriber_id)
                       and (worker_id is None or f.worker_id == worker_id
                            or (f.worker_id is None and f.owner_role is role))),
                      key=lambda f: (f.due_on, f.id))

    def to_close(self, follow_up_id: int, outcome: str) -> tuple[FollowUp, FollowUpOutcome]:
        """The open follow-up and the outcome to close it with (check_close)."""
        f = self.follow_ups.get(follow_up_id)
        result = check_close(f, follow_up_id, outcome)
        assert f is not None
        return f, result

    def close_follow_up(self, follow_up_id: int, outcome: str, actor: str,
                        now: datetime) -> FollowUp:
        f, result = self.to_close(follow_up_id, outcome)
        f = self.follow_ups[f.id] = replace(f, closed_at=now, outcome=result, closed_by=actor)
        return f

    def notifications_of(self, sub_id: int) -> list[Notification]:
        return [n for n in self.notifications if n.subscriber_id == sub_id]

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]
