"""Several programmes in one database (ivr/adapters/schedules.py), on SQLite and PostgreSQL:
each woman's calls follow her programme's rules (window, slots, zone, retries), whichever
programme's store claims first; a name the installation does not run is refused."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ivr.adapters.schedules import Schedules
from ivr.adapters.store import Store
from ivr.errors import BadInput
from scheduler.content import Track
from scheduler.model import Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import ProgrammeError, load_programme

MMITRA, PESINET = load_programme("mmitra"), load_programme("pesinet")
# 10:30 UTC: 16:00 in Kolkata (her slot 09-12 is closed), 10:30 in Bamako (his 08-11 is open)
NOW = datetime(2026, 12, 1, 10, 30, tzinfo=timezone.utc)
OWNER = "test-node"


def her() -> Subscriber:
    return Subscriber(id=0, phone="919000020001", language="hi", slot="09-12",
                      timezone="Asia/Kolkata", lmp=date(2026, 9, 1))


def child() -> Subscriber:
    return Subscriber(id=0, phone="22370000001", language="fr", slot="08-11",
                      timezone="Africa/Bamako", child_dob=date(2026, 10, 1), track=Track.INFANT)


def local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


async def enrolled(store: Store) -> tuple[Schedules, int, int]:
    schedules = Schedules(store, [MMITRA, PESINET])
    woman = await schedules.of("mmitra").enrol(her(), NOW - timedelta(hours=1))
    kid = await schedules.of("pesinet").enrol(child(), NOW - timedelta(hours=1))
    return schedules, woman.id, kid.id


async def test_programmes_each_woman_claimed_in_her_own_slot_and_zone(database):
    async with await Store.open(database.address, key_file=database.key_file) as store:
        schedules, woman, kid = await enrolled(store)
        rows = await store.fetchall("SELECT id, programme FROM subscribers ORDER BY id")
        assert [tuple(r) for r in rows] == [(woman, "mmitra"), (kid, "pesinet")]
        # the same instant: his slot is open in Bamako, hers closed in Kolkata
        first = await schedules.claim(NOW, OWNER, 10)
        assert [(a.subscriber_id, a.language) for a in first] == [(kid, "fr")]
        # hers moved to her slot's next opening, 09:00 in Kolkata (03:30 UTC)
        [d] = [d for d in await schedules.deliveries_of(woman) if d.next_attempt_at]
        assert local(d.next_attempt_at, "Asia/Kolkata").replace(tzinfo=None) == \
            datetime(2026, 12, 2, 9, 0)
        # next morning 09:15 in Kolkata is 03:45 in Bamako: outside his window, hers is open
        morning = datetime(2026, 12, 2, 3, 45, tzinfo=timezone.utc)
        second = await schedules.claim(morning, OWNER, 10)
        assert [(a.subscriber_id, a.language) for a in second] == [(woman, "hi")]
        # the leases are each programme's (mmitra's and pesinet's retry.lease)
        assert first[0].acquired_until == NOW + PESINET.retry.lease
        assert second[0].acquired_until == morning + MMITRA.retry.lease


async def test_programmes_release_applies_her_programmes_retry_rules(database):
    async with await Store.open(database.address, key_file=database.key_file) as store:
        schedules, woman, kid = await enrolled(store)
        [a] = await schedules.claim(NOW, OWNER, 10)
        ended = NOW + timedelta(minutes=1)
        released = await schedules.release(a.id, Outcome.NO_ANSWER, None, ended)
        assert released.outcome is Outcome.NO_ANSWER
        [d] = await schedules.deliveries_of(kid)
        assert d.next_attempt_at is not None
        # his next attempt is inside his slot (08-11, Bamako) and after pesinet's gap
        again = local(d.next_attempt_at, "Africa/Bamako")
        assert 8 <= again.hour < 11 and d.next_attempt_at >= ended + PESINET.retry.gap(
            Outcome.NO_ANSWER)
        # her own call is not touched by his release
        [mine] = await schedules.deliveries_of(woman)
        assert mine.attempts == 0


async def test_programmes_plans_and_reaps_only_their_own_women(database):
    async with await Store.open(database.address, key_file=database.key_file) as store:
        schedules, woman, kid = await enrolled(store)
        [a] = await schedules.claim(NOW, OWNER, 10)
        # mMitra's store alone neither claims nor reaps his call
        mmitra = schedules.of("mmitra")
        late = NOW + timedelta(days=1)
        assert await mmitra.reap(late) == []
        assert await schedules.of("pesinet").reap(late) == [a.id]


async def test_programmes_refuse_a_name_the_installation_does_not_run(database):
    async with await Store.open(database.address, key_file=database.key_file) as store:
        schedules, woman, kid = await enrolled(store)
        with pytest.raises(BadInput, match="'kilkari' is not run by this installation"):
            schedules.of("kilkari")
        with pytest.raises(BadInput, match="runs several programmes"):
            await schedules.enrol(her(), NOW)
        await store.execute("UPDATE subscribers SET programme = 'kilkari' WHERE id = ?",
                            (woman,))
        with pytest.raises(BadInput, match="in programme 'kilkari', which this installation"):
            await schedules.pause(woman, NOW)
        with pytest.raises(ProgrammeError, match="two programmes are named 'mmitra'"):
            Schedules(store, [MMITRA, MMITRA])


async def test_programmes_missed_call_served_by_her_programme_and_found_in_her_region(database):
    """A missed call (or the answered line) from a Mali number in national form: read in
    India's region first it is nobody's, in Mali's it is his; his callback follows Pesinet's
    window (08:00-20:00 in Bamako), not mMitra's."""
    from ivr.adapters.subscribers import find_caller
    async with await Store.open(database.address, key_file=database.key_file) as store:
        schedules = Schedules(store, [MMITRA, PESINET])
        kid = await schedules.of("pesinet").enrol(
            Subscriber(id=0, phone="22376123456", language="fr", slot="08-11",
                       timezone="Africa/Bamako", child_dob=date(2026, 10, 1),
                       track=Track.INFANT), NOW)
        assert await find_caller(store, "76123456", ["IN"]) == ("9176123456", None)
        digits, found = await find_caller(store, "76123456", ["IN", "ML"])
        assert digits == "22376123456" and found is not None and found.id == kid.id
        # 21:00 in Bamako (02:30 in Kolkata, outside mMitra's window too): Pesinet's next
        # window opens at 08:00 in Bamako
        late = datetime(2026, 12, 1, 21, 0, tzinfo=timezone.utc)
        cb = await schedules.missed_call(kid.id, late)
        assert cb is not None and cb.next_attempt_at is not None
        assert local(cb.next_attempt_at, "Africa/Bamako").replace(tzinfo=None) == \
            datetime(2026, 12, 2, 8, 0)


async def test_programmes_reap_each_call_at_the_end_of_its_own_programmes_lease(database):
    """Two programmes with different leases (mMitra 2 min, Pesinet 30 min), both calls
    claimed at the same instant: a reap after 5 min closes hers only (her lease ran out, his
    has 25 min left); his, renewed for his own lease, is reaped only once that runs out."""
    short = replace(MMITRA, retry=replace(MMITRA.retry, lease=timedelta(minutes=2)))
    long = replace(PESINET, retry=replace(PESINET.retry, lease=timedelta(minutes=30)))
    # 08:30 UTC: 14:00 in Kolkata (her 12-15 open), 08:30 in Bamako (his 08-11 open)
    at = datetime(2026, 12, 1, 8, 30, tzinfo=timezone.utc)
    async with await Store.open(database.address, key_file=database.key_file) as store:
        schedules = Schedules(store, [short, long])
        woman = await schedules.of("mmitra").enrol(replace(her(), slot="12-15"),
                                                   at - timedelta(hours=1))
        kid = await schedules.of("pesinet").enrol(child(), at - timedelta(hours=1))
        claimed = {a.subscriber_id: a for a in await schedules.claim(at, OWNER, 10)}
        hers, his = claimed[woman.id], claimed[kid.id]
        assert (hers.acquired_until, his.acquired_until) == (at + timedelta(minutes=2),
                                                            at + timedelta(minutes=30))
        assert await schedules.reap(at + timedelta(minutes=1)) == []
        assert await schedules.reap(at + timedelta(minutes=5)) == [hers.id]
        # his keeper renews at half his lease, for his lease
        renewed = at + timedelta(minutes=15)
        assert await schedules.extend(his.id, OWNER, renewed + long.retry.lease)
        assert await schedules.reap(at + timedelta(minutes=31)) == []
        assert await schedules.reap(renewed + long.retry.lease) == [his.id]
        assert (await store.attempt(hers.id)).outcome is not None
