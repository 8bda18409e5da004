"""Changes to a woman in the scheduling store on SQLite: enrolment, record fixes, birth, life
events, pause, resume, opt-out, time slot. Each is one transaction, audited (who, when,
what), and her messages are planned again at once, so a change takes effect before her next
call. The checks and decisions are the pure ones (scheduler/lifecycle.py, scheduler/rules.py);
this class reads her record, looks up her phone, and writes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from ivr.adapters.columns import epoch, instant
from ivr.adapters.erasure import erased_numbers, forget_erased
from typing import Any, Callable

from ivr.adapters.schedule_bulk import insert_women, live_phones
from ivr.adapters.schedule_rows import apply, her_deliveries, her_record, plan_her
from ivr.adapters.store import Store
from ivr.adapters.subscribers import _iso, audit
from scheduler import lifecycle, rules
from scheduler.model import LifeEvent, SchedulerError, Subscriber
from scheduler.programme import Programme
from scheduler.slots import zone


@dataclass(frozen=True)
class Enrolment:
    """One woman to enrol, with the record's extra fields (imports)."""
    subscriber: Subscriber
    name: str | None = None
    partner: str | None = None
    health_worker: str | None = None
    consent_date: date | None = None


class Women:
    def __init__(self, store: Store, programme: Programme):
        self.store = store
        self.programme = programme

    async def enrol(self, sub: Subscriber, now: datetime, *, actor: str = "system",
                    name: str | None = None,
                    partner: str | None = None, health_worker: str | None = None,
                    consent_date: date | None = None, re_enrol: bool = False) -> Subscriber:
        """Check and insert her, and plan her first message at once. SchedulerError when the
        record is invalid or her phone is already live (active or paused), or when the
        number opted out (opt-out is final) and `re_enrol` (she asked to come back, with a
        consent date on or after her opt-out) is not given."""
        async with self.store.transaction():
            return await self._enrol(Enrolment(sub, name, partner, health_worker, consent_date),
                                     now, actor, re_enrol)

    async def opted_out(self, phone: str) -> tuple[str, date] | None:
        """(who, the day) when this number's last record opted out, or its record was erased
        after an opt-out; None when it may be enrolled."""
        tz = zone(self.programme.timezone)
        rows = await self.store.fetchall(
            "SELECT id, status, updated_at FROM subscribers WHERE phone = ? ORDER BY id DESC "
            "LIMIT 1", (phone,))
        if rows and rows[0]["status"] == "opted_out":
            left = instant(rows[0]["updated_at"])
            assert left is not None                      # every record has updated_at
            return f"woman {rows[0]['id']}", left.astimezone(tz).date()
        erased = await erased_numbers(self.store, [phone])
        if phone in erased:
            return "a woman whose record was erased", erased[phone].astimezone(tz).date()
        return None

    async def enrol_many(self, rows: list[Enrolment], now: datetime, *,
                         actor: str) -> list[Subscriber]:
        """All or nothing: one transaction (an import), the same checks as enrol(), each
        error naming its row (1-based). Written in bulk (executemany): tens of thousands of
        women a second."""
        subs = []
        for n, e in enumerate(rows, start=1):
            try:
                sub = lifecycle.enrol(self.programme, e.subscriber, now)
            except SchedulerError as err:
                raise SchedulerError(f"row {n}: {err}") from None
            if not sub.phone:
                raise SchedulerError(f"row {n}: a phone number is needed")
            subs.append(sub)
        first: dict[str, int] = {}
        for n, sub in enumerate(subs, start=1):
            if first.setdefault(sub.phone, n) != n:
                raise SchedulerError(f"row {n}: the same phone as row {first[sub.phone]}")
        async with self.store.transaction():
            live = await live_phones(self.store, list(first))
            if live:
                phone, woman = next(iter(live.items()))
                raise SchedulerError(f"row {first[phone]}: this phone is already enrolled "
                                     f"(woman {woman})")
            return await insert_women(self.store, self.programme, rows, subs, now, actor)

    async def _enrol(self, e: Enrolment, now: datetime, actor: str,
                     re_enrol: bool = False) -> Subscriber:
        sub = lifecycle.enrol(self.programme, e.subscriber, now)
        if not sub.phone:
            raise SchedulerError("a phone number is needed")
        live = await self.store.fetchall(
            "SELECT id FROM subscribers WHERE phone = ? AND status IN ('active', 'paused')",
            (sub.phone,))
        if live:
            raise SchedulerError(f"this phone is already enrolled (woman {live[0][0]})")
        gone = await self.opted_out(sub.phone)
        if gone and not re_enrol:
            raise SchedulerError(
                f"this number opted out ({gone[0]}, {gone[1]}): opt-out is final; enrol her "
                "again only when she asks to come back, with --re-enrol and the date of her "
                "new consent (--consent-date)")
        if re_enrol and not gone:
            raise SchedulerError("--re-enrol: this number has not opted out; enrol her "
                                 "without --re-enrol")
        if gone and (e.consent_date is None or e.consent_date < gone[1]):
            raise SchedulerError(f"--re-enrol needs her new consent: a --consent-date on or "
                                 f"after her opt-out ({gone[1]})")
        if gone:
            await forget_erased(self.store, sub.phone)
        rows = await self.store.fetchall(
            "INSERT INTO subscribers (phone, name, language, slot, timezone, programme, track, lmp,"
            " edd, child_dob, partner, health_worker, consent_date, status, enrolled_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (sub.phone, e.name, sub.language, sub.slot, sub.timezone, self.programme.name,
             sub.track.value, _iso(sub.lmp), _iso(sub.edd), _iso(sub.child_dob), e.partner,
             e.health_worker, _iso(e.consent_date), sub.status.value, epoch(now), epoch(now)))
        sub = replace(sub, id=int(rows[0][0]))
        await audit(self.store, actor=actor, action="enrol", at=now, subscriber_id=sub.id,
                    detail={"language": sub.language, "slot": sub.slot, "track": sub.track.value,
                            "partner": e.partner,
                            **({"re_enrol": True, "opted_out": gone[0],
                                "consent_date": _iso(e.consent_date)} if gone else {})})
        await plan_her(self.store, self.programme, sub, now)
        return await her_record(self.store, sub.id)

    async def register_birth(self, sub_id: int, dob: date, now: datetime, *,
                             actor: str = "system") -> Subscriber:
        return await self._change(sub_id, now, actor, "birth", {"child_dob": dob.isoformat()},
                                  lambda s: lifecycle.register_birth(s, dob, now))

    async def life_event(self, sub_id: int, event: LifeEvent, now: datetime, *,
                         actor: str = "system") -> Subscriber:
        return await self._change(sub_id, now, actor, event.value, None,
                                  lambda s: lifecycle.life_event(s, event, now))

    async def pause(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return await self._change(sub_id, now, actor, "pause", None,
                                  lambda s: lifecycle.pause(s, now))

    async def resume(self, sub_id: int, now: datetime, *, actor: str = "system") -> Subscriber:
        return await self._change(sub_id, now, actor, "resume", None,
                                  lambda s: lifecycle.resume(s, now))

    async def opt_out(self, sub_id: int, now: datetime, *, actor: str = "system",
                      reason: str = "by_user", detail: dict | None = None) -> Subscriber:
        return await self._change(sub_id, now, actor, "opt_out", detail,
                                  lambda s: lifecycle.opt_out(s, now, reason))

    async def change_slot(self, sub_id: int, slot: str, now: datetime, *,
                          actor: str = "system") -> Subscriber:
        return await self._change(sub_id, now, actor, "change_slot", {"slot": slot},
                                  lambda s: lifecycle.change_slot(self.programme, s, slot, now),
                                  new_slot=True)

    UPDATABLE = ("phone", "name", "language", "timezone", "lmp", "edd", "partner",
                 "health_worker", "consent_date")

    async def update(self, sub_id: int, now: datetime, *, actor: str,
                     **fields: Any) -> Subscriber:
        """Fix her record (a wrong number, name, language, dates...). The same checks as at
        enrolment apply (lifecycle.fix_record), and her number must be free; her messages
        are planned again at once (a corrected LMP may change the message due). The audit
        row names the fields changed, never their values."""
        unknown = set(fields) - set(self.UPDATABLE)
        if unknown:
            raise SchedulerError(f"cannot update {', '.join(sorted(unknown))}; "
                                 f"fields: {', '.join(self.UPDATABLE)}")
        async with self.store.transaction():
            before = await her_record(self.store, sub_id)
            after = lifecycle.fix_record(self.programme, before, fields, now)
            if "phone" in fields:
                live = await self.store.fetchall(
                    "SELECT id FROM subscribers WHERE phone = ? AND id != ? "
                    "AND status IN ('active', 'paused')", (after.phone, sub_id))
                if live:
                    raise SchedulerError(f"this phone is already enrolled (woman {live[0][0]})")
                gone = None if after.phone == before.phone else await self.opted_out(after.phone)
                if gone:
                    raise SchedulerError(f"this number opted out ({gone[0]}, {gone[1]}): "
                                         "opt-out is final; it cannot become her number")
            await self.store.execute(
                "UPDATE subscribers SET phone = ?, language = ?, timezone = ?, lmp = ?, edd = ?, "
                "updated_at = ? WHERE id = ?",
                (after.phone, after.language, after.timezone, _iso(after.lmp), _iso(after.edd),
                 epoch(now), sub_id))
            for key in ("name", "partner", "health_worker", "consent_date"):
                if key in fields:
                    value = fields[key]
                    await self.store.execute(f"UPDATE subscribers SET {key} = ? WHERE id = ?",
                                             (_iso(value) if isinstance(value, date) else value,
                                              sub_id))
            await audit(self.store, actor=actor, action="update", at=now, subscriber_id=sub_id,
                        detail={"fields": sorted(fields)})
            await plan_her(self.store, self.programme, await her_record(self.store, sub_id), now)
            return await her_record(self.store, sub_id)

    async def _change(self, sub_id: int, now: datetime, actor: str, action: str,
                      detail: dict[str, Any] | None, change: Callable[[Subscriber], Subscriber],
                      *, new_slot: bool = False) -> Subscriber:
        async with self.store.transaction():
            before = await her_record(self.store, sub_id)
            after = change(before)
            mine = await her_deliveries(self.store, sub_id) if new_slot else []
            await apply(self.store, self.programme, before,
                        rules.change(self.programme, before, after, mine, now, new_slot=new_slot),
                        now)
            await audit(self.store, actor=actor, action=action, at=now, subscriber_id=sub_id,
                        detail={**(detail or {}), "status": after.status.value,
                                "previous_status": before.status.value})
            return await her_record(self.store, sub_id)
