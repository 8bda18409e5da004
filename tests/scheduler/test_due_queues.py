"""The in-memory store's queues (scheduler/due_queues.py): earliest first, only what is due,
no entry taken out once the reader wants no more, waiting work kept per woman, and the
leases of ended calls dropped before the next wake-up is computed."""
from datetime import datetime, timedelta, timezone

from scheduler.due_queues import DueQueues

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_due_entries_come_earliest_first_and_only_up_to_now():
    q = DueQueues()
    for minutes, item in ((5, 1), (1, 2), (9, 3), (3, 4)):
        q.push("delivery", at(minutes), item)
    assert [i for _, i in q.due("delivery", at(5))] == [2, 4, 1]
    assert list(q.due("delivery", at(8))) == []
    assert list(q.due("callback", at(99))) == []                 # each kind its own queue
    assert list(q.due("delivery", at(9))) == [(at(9), 3)]


def test_nothing_is_taken_out_once_the_reader_wants_no_more():
    q = DueQueues()
    for item in range(5):
        q.push("callback", at(item), item)
    taken: list[int] = []
    for _, item in q.due("callback", at(10), lambda: len(taken) < 2):
        taken.append(item)
    assert taken == [0, 1]
    assert [i for _, i in q.due("callback", at(10), lambda: False)] == []
    assert [i for _, i in q.due("callback", at(10))] == [2, 3, 4]   # the rest stayed


def test_an_entry_pushed_while_reading_counts_when_due():
    q = DueQueues()
    q.push("plan", at(1), 1)
    seen = []
    for _, item in q.due("plan", at(5)):
        seen.append(item)
        if item == 1:
            q.push("plan", at(2), 2)
            q.push("plan", at(6), 3)
    assert seen == [1, 2]


def test_waiting_work_is_kept_per_woman_and_given_back_once():
    q = DueQueues()
    q.block(7, "delivery", 70)
    q.block(7, "callback", 71)
    q.block(8, "delivery", 80)
    assert q.unblock(7) == [("delivery", 70), ("callback", 71)]
    assert q.unblock(7) == []
    assert q.unblock(8) == [("delivery", 80)]


def test_next_wake_is_the_earliest_entry_after_dropping_ended_calls_leases():
    q = DueQueues()
    assert q.next_wake(lambda attempt: True) is None
    q.push("lease", at(1), 100)              # an ended call's lease
    q.push("lease", at(4), 101)
    q.push("delivery", at(3), 1)
    assert q.next_wake(lambda attempt: attempt != 100) == at(3)
    assert q.next_wake(lambda attempt: True) == at(3)           # 100's lease is gone for good
    assert list(q.due("lease", at(9))) == [(at(4), 101)]
