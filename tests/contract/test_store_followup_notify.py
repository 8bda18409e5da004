"""The contract of the doctor's "ask her to come" (issue 15, item 2), one suite for every
store: closing a follow-up with ask_to_come and a date places her notification call, a
delivery claimed and retried like her messages, beside her weekly message and never at the
same time as it."""
from datetime import date, timedelta

import pytest

from contract_drive import utc, woman
from scheduler.followups import FollowUpOutcome
from scheduler.model import DeliveryStatus, SchedulerError
from scheduler.notifications import Notification, is_notification
from scheduler.outcome import Outcome
from scheduler.questions_model import FollowUpToOpen, OwnerRole

NOW = utc(2026, 11, 24, 6)                      # 11:30 in Kolkata: inside her 09-12 slot
COME = date(2026, 12, 1)
DOCTOR = FollowUpToOpen("weight_loss", "weight lower than last week", date(2026, 11, 26),
                        OwnerRole.DOCTOR)


async def her_follow_up(face, n=1):
    sub = (await face.enrol(woman(n, lmp=date(2026, 6, 1)), NOW)).id
    await face.run_plans(NOW)
    f = await face.open_follow_up(sub, DOCTOR, NOW)
    assert f is not None
    return sub, f


def pending(deliveries):
    return [d for d in deliveries if d.status is DeliveryStatus.PENDING]


async def test_followup_ask_to_come_places_a_call_beside_her_weekly_message(face):
    sub, f = await her_follow_up(face)
    [weekly] = pending(await face.deliveries_of(sub))
    closed = await face.close_follow_up(f.id, "ask_to_come", "dr rao", NOW, come_on=COME)
    assert (closed.outcome, closed.closed_by, closed.open) == (
        FollowUpOutcome.ASK_TO_COME, "dr rao", False)
    await face.restart()
    await face.run_plans(NOW + timedelta(minutes=1))       # planning leaves it alone
    owed = pending(await face.deliveries_of(sub))
    assert [d.message_key for d in owed] == [weekly.message_key, "notify:come:2026-12-01"]
    call = owed[1]
    assert (call.attempts, call.next_attempt_at) == (0, NOW)
    assert await face.notifications_of(sub) == [Notification(call.id, f.id, sub, COME)]

    # one live call per woman: her weekly message first (due first), then the notification
    [first] = await face.claim(NOW, "node-a", 10)
    assert (first.message_key, first.delivery_id) == (weekly.message_key, weekly.id)
    assert await face.claim(NOW, "node-a", 10) == []
    await face.release(first.id, Outcome.ANSWERED, 1.0, NOW + timedelta(minutes=1))
    [second] = await face.claim(NOW + timedelta(minutes=1), "node-a", 10)
    assert (second.message_key, second.delivery_id, second.number, second.language,
            second.phone) == ("notify:come:2026-12-01", call.id, 1, "hi", "919900000001")

    # retried by the programme's policy, like a message
    await face.release(second.id, Outcome.NO_ANSWER, None, NOW + timedelta(minutes=2))
    await face.restart()
    again = next(d for d in await face.deliveries_of(sub) if d.id == call.id)
    assert again.status is DeliveryStatus.PENDING and again.attempts == 1
    assert again.next_attempt_at is not None and again.next_attempt_at > NOW
    [third] = await face.claim(again.next_attempt_at, "node-a", 10)
    assert (third.delivery_id, third.number) == (call.id, 2)
    await face.release(third.id, Outcome.ANSWERED, 1.0, again.next_attempt_at)
    done = next(d for d in await face.deliveries_of(sub) if d.id == call.id)
    assert done.status is DeliveryStatus.DELIVERED
    # her weekly messages go on as before
    assert [d.message_key for d in pending(await face.deliveries_of(sub))
            if not is_notification(d.message_key)] != []


@pytest.mark.parametrize("outcome, come_on, error", [
    ("ask_to_come", None, "ask_to_come needs the date"),
    ("ask_to_come", date(2026, 11, 23), "the date to come 2026-11-23 is in the past "
                                        r"\(today is 2026-11-24\)"),
    ("visited", COME, "a date to come goes with the outcome ask_to_come, not visited"),
])
async def test_followup_ask_to_come_refused_writes_nothing(face, outcome, come_on, error):
    sub, f = await her_follow_up(face)
    before = await face.deliveries_of(sub)
    with pytest.raises(SchedulerError, match=error):
        await face.close_follow_up(f.id, outcome, "dr rao", NOW, come_on=come_on)
    await face.restart()
    assert [x.id for x in await face.follow_ups()] == [f.id]            # still open
    assert await face.deliveries_of(sub) == before
    assert await face.notifications_of(sub) == []


async def test_followup_ask_to_come_today_and_not_for_a_woman_who_left(face):
    sub, f = await her_follow_up(face)
    today = await face.close_follow_up(f.id, "ask_to_come", "dr", NOW, come_on=date(2026, 11, 24))
    assert today.outcome is FollowUpOutcome.ASK_TO_COME
    other, g = await her_follow_up(face, 2)
    await face.opt_out(other, NOW)
    with pytest.raises(SchedulerError, match=f"woman {other} gets no calls \\(opted_out\\)"):
        await face.close_follow_up(g.id, "ask_to_come", "dr", NOW, come_on=COME)
    assert [x.id for x in await face.follow_ups()] == [g.id]


async def test_followup_asked_twice_for_one_day_is_one_call(face):
    sub, f = await her_follow_up(face)
    await face.close_follow_up(f.id, "ask_to_come", "dr", NOW, come_on=COME)
    g = await face.open_follow_up(sub, DOCTOR, NOW)
    assert g is not None
    await face.close_follow_up(g.id, "ask_to_come", "dr", NOW, come_on=COME)
    assert [n.follow_up_id for n in await face.notifications_of(sub)] == [f.id]
    assert [d.message_key for d in await face.deliveries_of(sub)].count(
        "notify:come:2026-12-01") == 1


async def test_followup_notification_never_replayed_on_her_callback(face):
    sub, f = await her_follow_up(face)
    [weekly] = pending(await face.deliveries_of(sub))
    await face.close_follow_up(f.id, "ask_to_come", "dr", NOW, come_on=COME)
    assert await face.missed_call(sub, NOW) is not None
    [cb] = await face.claim(NOW, "node-a", 10)
    assert (cb.kind.value, cb.message_key) == ("callback", weekly.message_key)
