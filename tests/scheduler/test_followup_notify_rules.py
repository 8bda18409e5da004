"""The pure rules of the notification call (scheduler/notifications.py): the date checked,
the delivery it makes (due today in her zone, first tried in her slot), its key, planning and
callbacks leaving it alone."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from scheduler.callbacks import callback_message
from scheduler.followups import FollowUpOutcome
from scheduler.model import Delivery, DeliveryStatus, SchedulerError, Subscriber, SubscriberStatus
from scheduler.notifications import (check_come_on, come_key, come_on_of, is_notification,
                                     latest_message, notification, on_close)

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 6, tzinfo=timezone.utc)        # 11:30 in Kolkata


def her(slot="09-12", status=SubscriberStatus.ACTIVE):
    return Subscriber(id=4, language="mr", slot=slot, lmp=date(2026, 6, 1), status=status,
                      phone="919900000004")


@pytest.mark.parametrize("outcome, come_on, expected", [
    (FollowUpOutcome.ASK_TO_COME, date(2026, 12, 1), date(2026, 12, 1)),
    (FollowUpOutcome.ASK_TO_COME, TODAY, TODAY),
    (FollowUpOutcome.VISITED, None, None),
    (FollowUpOutcome.NO_ACTION, None, None),
])
def test_followup_come_on_accepted(outcome, come_on, expected):
    assert check_come_on(outcome, come_on, TODAY) == expected


@pytest.mark.parametrize("outcome, come_on, error", [
    (FollowUpOutcome.ASK_TO_COME, None, "needs the date"),
    (FollowUpOutcome.ASK_TO_COME, date(2026, 11, 23), "2026-11-23 is in the past"),
    (FollowUpOutcome.REFERRED, date(2026, 12, 1), "not referred"),
])
def test_followup_come_on_refused(outcome, come_on, error):
    with pytest.raises(SchedulerError, match=error):
        check_come_on(outcome, come_on, TODAY)


def test_followup_key_carries_the_day():
    key = come_key(date(2026, 12, 7))
    assert key == "notify:come:2026-12-07" and is_notification(key)
    assert come_on_of(key) == date(2026, 12, 7)
    assert come_on_of("mmitra-p012") is None and not is_notification("mmitra-p012")
    assert come_on_of("notify:come:tomorrow") is None


def test_followup_notification_due_today_first_tried_in_her_slot(mmitra):
    inside = notification(mmitra, her(), date(2026, 12, 1), NOW)
    assert (inside.id, inside.subscriber_id, inside.status, inside.attempts) == (
        0, 4, DeliveryStatus.PENDING, 0)
    assert inside.due_at == datetime(2026, 11, 23, 18, 30, tzinfo=timezone.utc)  # her midnight
    assert inside.next_attempt_at == NOW                                          # in her slot
    later = notification(mmitra, her(slot="18-21"), date(2026, 12, 1), NOW)
    assert later.next_attempt_at == datetime(2026, 11, 24, 12, 30, tzinfo=timezone.utc)


def test_followup_notification_for_paused_but_not_for_a_woman_who_left(mmitra):
    assert notification(mmitra, her(status=SubscriberStatus.PAUSED), TODAY, NOW) is not None
    for gone in (SubscriberStatus.OPTED_OUT, SubscriberStatus.DEACTIVATED,
                 SubscriberStatus.COMPLETED):
        with pytest.raises(SchedulerError, match="gets no calls"):
            notification(mmitra, her(status=gone), TODAY, NOW)


def test_followup_on_close_only_for_ask_to_come(mmitra):
    assert on_close(mmitra, her(), FollowUpOutcome.VISITED, None, NOW) is None
    d = on_close(mmitra, her(), FollowUpOutcome.ASK_TO_COME, date(2026, 12, 1), NOW)
    assert d is not None and d.message_key == "notify:come:2026-12-01"
    # "today" is hers: 23:00 UTC on the 23rd is already the 24th in Kolkata
    late = datetime(2026, 11, 23, 23, tzinfo=timezone.utc)
    with pytest.raises(SchedulerError, match="today is 2026-11-24"):
        on_close(mmitra, her(), FollowUpOutcome.ASK_TO_COME, date(2026, 11, 23), late)


def _d(i, key, status=DeliveryStatus.PENDING, heard=0.0):
    return Delivery(id=i, subscriber_id=4, message_key=key, due_at=NOW, status=status,
                    heard_share=heard)


def test_followup_planning_and_callbacks_skip_notifications(mmitra):
    first, second = mmitra.messages[0].key, mmitra.messages[1].key
    mine = [_d(1, first, DeliveryStatus.DELIVERED, 1.0), _d(2, second),
            _d(3, "notify:come:2026-12-01")]
    assert latest_message(mine) is mine[1]
    assert latest_message([mine[2]]) is None
    assert callback_message(mmitra, mine, NOW) == second
