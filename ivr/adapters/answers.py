"""Her answers and the follow-ups opened for her workers, in the store (tables of migration
008_answers): the twin of scheduler/memory_facts.py's answers and follow-ups. Each write is
one transaction with its audit row, which names questions, statuses and rules, never an
answer's value nor a follow-up's reason (health data). The checks and decisions are
scheduler/followups.py's."""
from __future__ import annotations

from datetime import date, datetime

from ivr.adapters.columns import day, epoch, instant
from ivr.adapters.schedule_rows import her_record
from ivr.adapters.store import Store
from ivr.adapters.subscribers import audit
from ivr.adapters.workers import Workers, inserted_id, matching
from scheduler.followups import (FollowUp, FollowUpOutcome, StoredAnswer, check_answers,
                                 check_close, stored_value, to_write)
from scheduler.model import Delivery
from scheduler.notifications import Notification, on_close
from scheduler.programme import Programme
from scheduler.questions_model import Answer, AnswerStatus, FollowUpToOpen, OwnerRole

_ANSWER_COLUMNS = ("id, subscriber_id, question, week, value, status, attempt_id, answered_at, "
                   "superseded_at")
_FOLLOW_UP_COLUMNS = ("id, subscriber_id, rule, reason, due_on, owner_role, question, "
                      "worker_id, answer_id, attempt_id, opened_at, closed_at, outcome, closed_by")


def _answer(r) -> StoredAnswer:
    return StoredAnswer(r["id"], r["subscriber_id"], r["question"], r["week"], r["value"],
                        AnswerStatus(r["status"]), r["attempt_id"], instant(r["answered_at"]),
                        instant(r["superseded_at"]))


def _follow_up(r) -> FollowUp:
    return FollowUp(r["id"], r["subscriber_id"], r["rule"], r["reason"], day(r["due_on"]),
                    OwnerRole(r["owner_role"]), r["question"], r["worker_id"], r["answer_id"],
                    r["attempt_id"], instant(r["opened_at"]), instant(r["closed_at"]),
                    FollowUpOutcome(r["outcome"]) if r["outcome"] else None, r["closed_by"])


class Answers:
    def __init__(self, store: Store, workers: Workers, programme: Programme | None = None):
        """`programme`: her calls' slots and policy, needed to close a follow-up (ask_to_come
        places a notification call); the readers go without."""
        self.store = store
        self.workers = workers
        self.programme = programme

    async def record_answers(self, sub_id: int, attempt_id: int | None, week: str,
                             answers: list[Answer], now: datetime, *,
                             actor: str = "system") -> list[StoredAnswer]:
        answers = check_answers(week, answers)
        async with self.store.transaction():
            await her_record(self.store, sub_id)
            rows = await self.store.fetchall(
                f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE subscriber_id = ? AND week = ? "
                "AND superseded_at IS NULL", (sub_id, week))
            current = {r["question"]: _answer(r) for r in rows}
            out = []
            for a in to_write(current, answers):
                before = current.get(a.question_key)
                if before is not None:
                    await self.store.execute("UPDATE answers SET superseded_at = ? WHERE id = ?",
                                             (epoch(now), before.id))
                answer_id = await inserted_id(
                    self.store, "INSERT INTO answers (subscriber_id, question, week, value, "
                    "status, attempt_id, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (sub_id, a.question_key, week, stored_value(a), a.status.value, attempt_id,
                     epoch(now)))
                out.append(StoredAnswer(answer_id, sub_id, a.question_key, week, stored_value(a),
                                        a.status, attempt_id, now))
            if out:
                await audit(self.store, actor=actor, action="answers", at=now,
                            subscriber_id=sub_id,
                            detail={"week": week, "attempt": attempt_id,
                                    "questions": {a.question: a.status.value for a in out}})
            return out

    async def answers_of(self, sub_id: int, *, history: bool = False) -> list[StoredAnswer]:
        rows = await self.store.fetchall(
            f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE subscriber_id = ?"
            f"{'' if history else ' AND superseded_at IS NULL'} ORDER BY week, question, id",
            (sub_id,))
        return [_answer(r) for r in rows]

    async def open_follow_up(self, sub_id: int, follow_up: FollowUpToOpen, now: datetime, *,
                             answer_id: int | None = None, attempt_id: int | None = None,
                             actor: str = "system") -> FollowUp | None:
        f = follow_up
        async with self.store.transaction():
            await her_record(self.store, sub_id)
            owner = [a.worker_id for a in await self.workers.assignments(subscriber_id=sub_id)
                     if a.role is f.owner_role]
            worker_id = owner[0] if owner else None
            rows = await self.store.fetchall(
                "INSERT INTO follow_ups (subscriber_id, rule, reason, due_on, owner_role, "
                "question, worker_id, answer_id, attempt_id, opened_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (sub_id, f.rule_key, f.reason, f.due.isoformat(), f.owner_role.value,
                 f.question_key, worker_id, answer_id, attempt_id, epoch(now)))
            if not rows:
                return None                 # one of the same rule is open for her already
            await audit(self.store, actor=actor, action="follow_up_open", at=now,
                        subscriber_id=sub_id,
                        detail={"follow_up": rows[0][0], "rule": f.rule_key, "worker": worker_id,
                                "role": f.owner_role.value, "due_on": f.due.isoformat()})
            return FollowUp(rows[0][0], sub_id, f.rule_key, f.reason, f.due, f.owner_role,
                            f.question_key, worker_id, answer_id, attempt_id, now)

    async def follow_ups(self, *, open_only: bool = True, worker_id: int | None = None,
                         subscriber_id: int | None = None) -> list[FollowUp]:
        where, params = matching(subscriber_id=subscriber_id)
        if worker_id is not None:
            role = (await self.workers.worker(worker_id)).role
            where += " AND (worker_id = ? OR (worker_id IS NULL AND owner_role = ?))"
            params += (worker_id, role.value)
        rows = await self.store.fetchall(
            f"SELECT {_FOLLOW_UP_COLUMNS} FROM follow_ups WHERE 1 = 1{where}"
            f"{' AND closed_at IS NULL' if open_only else ''} ORDER BY due_on, id", params)
        return [_follow_up(r) for r in rows]

    async def close_follow_up(self, follow_up_id: int, outcome: str, actor: str,
                              now: datetime, *, come_on: date | None = None) -> FollowUp:
        async with self.store.transaction():
            rows = await self.store.fetchall(
                f"SELECT {_FOLLOW_UP_COLUMNS} FROM follow_ups WHERE id = ?", (follow_up_id,))
            before = _follow_up(rows[0]) if rows else None
            result = check_close(before, follow_up_id, outcome)
            assert before is not None
            sub = await her_record(self.store, before.subscriber_id)
            assert self.programme is not None, "closing a follow-up needs the programme"
            call = on_close(self.programme, sub, result, come_on, now)
            if call is not None:
                assert come_on is not None
                await self._notify(call, sub.slot, follow_up_id, come_on, actor, now)
            await self.store.execute(
                "UPDATE follow_ups SET closed_at = ?, outcome = ?, closed_by = ? WHERE id = ?",
                (epoch(now), result.value, actor, follow_up_id))
            await audit(self.store, actor=actor, action="follow_up_close", at=now,
                        subscriber_id=before.subscriber_id,
                        detail={"follow_up": follow_up_id, "rule": before.rule,
                                "outcome": result.value})
            rows = await self.store.fetchall(
                f"SELECT {_FOLLOW_UP_COLUMNS} FROM follow_ups WHERE id = ?", (follow_up_id,))
            return _follow_up(rows[0])

    async def _notify(self, call: Delivery, slot: str, follow_up_id: int, come_on: date,
                      actor: str, now: datetime) -> None:
        """Her notification call: its delivery, its row, an audit row (no date: health data)."""
        rows = await self.store.fetchall(
            "INSERT INTO deliveries (subscriber_id, message_key, slot, due_at, status, "
            "next_attempt_at) VALUES (?, ?, ?, ?, 'pending', ?) "
            "ON CONFLICT (subscriber_id, message_key) DO NOTHING RETURNING id",
            (call.subscriber_id, call.message_key, slot, epoch(call.due_at),
             epoch(call.next_attempt_at)))
        if not rows:
            return              # she is asked to come that day already: one call is enough
        delivery_id = rows[0][0]
        await self.store.execute(
            "INSERT INTO notifications (delivery_id, follow_up_id, subscriber_id, come_on) "
            "VALUES (?, ?, ?, ?)", (delivery_id, follow_up_id, call.subscriber_id,
                                    come_on.isoformat()))
        await audit(self.store, actor=actor, action="notification", at=now,
                    subscriber_id=call.subscriber_id,
                    detail={"follow_up": follow_up_id, "delivery": delivery_id})

    async def notifications_of(self, sub_id: int) -> list[Notification]:
        await her_record(self.store, sub_id)
        rows = await self.store.fetchall(
            "SELECT delivery_id, follow_up_id, subscriber_id, come_on FROM notifications "
            "WHERE subscriber_id = ? ORDER BY delivery_id", (sub_id,))
        return [Notification(r["delivery_id"], r["follow_up_id"], r["subscriber_id"],
                             date.fromisoformat(r["come_on"])) for r in rows]
