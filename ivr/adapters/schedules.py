"""Several programmes in one installation (config.programmes): one ScheduleStore per programme
over the same store, each claiming, planning and reaping only the women of its programme
(her record's `programme`), and Schedules, the scheduling store `ivr run` and the operators'
commands use: the calls of every programme in turn (one claim shares its room among them),
and each change to a woman by her programme's rules. A one-programme installation has one
ScheduleStore behind it and asks nothing more of the database.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Sequence

from ivr.adapters.schedule_store import Enrolment, ScheduleStore
from ivr.adapters.store import Store
from ivr.errors import BadInput
from scheduler.followups import FollowUp, StoredAnswer
from scheduler.model import Attempt, CallbackRequest, LifeEvent, Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import Programme, ProgrammeError
from scheduler.questions_model import Answer, FollowUpToOpen


class Schedules(ScheduleStore):
    """The first programme is the installation's default (an unknown caller's, and what
    reading needs of a programme); `of(name)` is one programme's ScheduleStore, `hers(id)`
    a woman's. What reads the database (her record, her calls, the workers) is the same for
    every programme; what decides by a programme's rules goes to hers."""

    def __init__(self, store: Store, programmes: Sequence[Programme], **options: Any):
        if not programmes:
            raise ProgrammeError("an installation runs at least one programme")
        super().__init__(store, programmes[0], **options)
        self.by_name: dict[str, ScheduleStore] = {}
        for p in programmes:
            if p.name in self.by_name:
                raise ProgrammeError(f"two programmes are named {p.name!r} (each programme's "
                                     "`name` must differ)")
            self.by_name[p.name] = ScheduleStore(store, p, **options)
        self._turn = 0          # the programme whose calls a claim takes first

    @property
    def programmes(self) -> list[Programme]:
        return [s.programme for s in self.by_name.values()]

    @property
    def several(self) -> bool:
        return len(self.by_name) > 1

    def of(self, name: str | None) -> ScheduleStore:
        """A programme's store by its name; None: the default (allowed only when the
        installation runs one programme)."""
        if name is None:
            if self.several:
                raise BadInput(f"this installation runs several programmes "
                               f"({', '.join(self.by_name)}): name hers (--programme)")
            return next(iter(self.by_name.values()))
        try:
            return self.by_name[name]
        except KeyError:
            raise BadInput(f"programme {name!r} is not run by this installation (it runs: "
                           f"{', '.join(self.by_name)}; [ivr] programmes)") from None

    async def hers(self, sub_id: int) -> ScheduleStore:
        """Her programme's store (the default for a woman with no record: its own method
        then says so)."""
        if not self.several:
            return self.of(None)
        rows = await self.store.fetchall("SELECT programme FROM subscribers WHERE id = ?",
                                         (sub_id,))
        if not rows:
            return self.of(self.programme.name)
        try:
            return self.by_name[rows[0][0]]
        except KeyError:
            raise BadInput(f"woman {sub_id} is in programme {rows[0][0]!r}, which this "
                           f"installation does not run (it runs: {', '.join(self.by_name)})"
                           ) from None

    async def _attempts(self, attempt_id: int) -> ScheduleStore:
        """The store of the woman of an attempt (the default's for a test call)."""
        rows = await self.store.fetchall(
            "SELECT subscriber_id FROM attempts WHERE id = ?", (attempt_id,))
        sub_id = rows[0][0] if rows else None
        return self.of(self.programme.name) if sub_id is None else await self.hers(sub_id)

    # ------------------------------------------------------------ every programme in turn
    async def run_plans(self, now: datetime, most: int | None = None,
                        share: tuple[int, int] | None = None) -> int:
        """Each programme's plans (`most` women at most for each)."""
        return sum([await s.run_plans(now, most, share) for s in self.by_name.values()])

    async def claim(self, now: datetime, owner: str, limit: int) -> list[Attempt]:
        """Each programme's due calls, up to what is left of `limit`; the programme asked
        first turns at every claim, so that a busy one never starves the others."""
        stores = list(self.by_name.values())
        first, self._turn = self._turn % len(stores), self._turn + 1
        out: list[Attempt] = []
        for s in stores[first:] + stores[:first]:
            if len(out) < limit:
                out += await s.claim(now, owner, limit - len(out))
        return out

    async def reap(self, now: datetime) -> list[int]:
        return [i for s in self.by_name.values() for i in await s.reap(now)]

    # ------------------------------------------------------------ by her programme
    async def release(self, attempt_id: int, outcome: Outcome, heard_share: float | None,
                      ended_at: datetime) -> Attempt:
        return await (await self._attempts(attempt_id)).release(attempt_id, outcome,
                                                                heard_share, ended_at)

    async def unclaim(self, attempt_id: int, due_at: datetime) -> bool:
        return await (await self._attempts(attempt_id)).unclaim(attempt_id, due_at)

    async def missed_call(self, sub_id: int, now: datetime) -> CallbackRequest | None:
        return await (await self.hers(sub_id)).missed_call(sub_id, now)

    async def enrol(self, sub: Subscriber, now: datetime, *, actor: str = "system",
                    name: str | None = None, partner: str | None = None,
                    health_worker: str | None = None, consent_date: date | None = None,
                    re_enrol: bool = False) -> Subscriber:
        """In the default programme, only when it is the only one (else: of(name).enrol)."""
        return await self.of(None).enrol(sub, now, actor=actor, name=name, partner=partner,
                                         health_worker=health_worker,
                                         consent_date=consent_date, re_enrol=re_enrol)

    async def enrol_many(self, rows: list[Enrolment], now: datetime, *,
                         actor: str) -> list[Subscriber]:
        return await self.of(None).enrol_many(rows, now, actor=actor)

    async def update(self, sub_id: int, now: datetime, *, actor: str,
                     **fields: Any) -> Subscriber:
        return await (await self.hers(sub_id)).update(sub_id, now, actor=actor, **fields)

    async def register_birth(self, sub_id: int, dob: date, now: datetime, *,
                             actor: str = "system") -> Subscriber:
        return await (await self.hers(sub_id)).register_birth(sub_id, dob, now, actor=actor)

    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime, *,
                         actor: str = "system") -> Subscriber:
        return await (await self.hers(sub_id)).life_event(sub_id, event, now, actor=actor)

    async def pause(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return await (await self.hers(sub_id)).pause(sub_id, now, actor=actor)

    async def resume(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return await (await self.hers(sub_id)).resume(sub_id, now, actor=actor)

    async def change_slot(self, sub_id: int, slot: str, now: datetime, *,
                          actor: str = "system") -> Subscriber:
        return await (await self.hers(sub_id)).change_slot(sub_id, slot, now, actor=actor)

    async def opt_out(self, sub_id: int, now: datetime, *, actor: str = "system",
                      reason: str = "by_user",
                      detail: dict[str, Any] | None = None) -> Subscriber:
        return await (await self.hers(sub_id)).opt_out(sub_id, now, actor=actor,
                                                       reason=reason, detail=detail)

    async def record_answers(self, sub_id: int, attempt_id: int | None, week: str,
                             answers: list[Answer], now: datetime, *,
                             actor: str = "system") -> list[StoredAnswer]:
        return await (await self.hers(sub_id)).record_answers(sub_id, attempt_id, week,
                                                              answers, now, actor=actor)

    async def open_follow_up(self, sub_id: int, follow_up: FollowUpToOpen, now: datetime, *,
                             answer_id: int | None = None, attempt_id: int | None = None,
                             actor: str = "system") -> FollowUp | None:
        return await (await self.hers(sub_id)).open_follow_up(
            sub_id, follow_up, now, answer_id=answer_id, attempt_id=attempt_id, actor=actor)

    async def close_follow_up(self, follow_up_id: int, outcome: str, actor: str,
                              now: datetime, *, come_on: date | None = None) -> FollowUp:
        rows = await self.store.fetchall(
            "SELECT subscriber_id FROM follow_ups WHERE id = ?", (follow_up_id,))
        store = await self.hers(rows[0][0]) if rows else self.of(self.programme.name)
        return await store.close_follow_up(follow_up_id, outcome, actor, now, come_on=come_on)
