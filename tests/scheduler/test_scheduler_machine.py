"""A stateful machine over the in-memory store: the invariants hold through any sequence of
enrolments, time jumps, calls and their outcomes, missed calls, life changes and crashes.

Invariants: <= max_attempts per message, never a call outside her slot (a callback: outside
the window), one live attempt per woman, one pending message per woman, and a crash (rows
saved, store rebuilt, the worker's live calls lost) loses nothing: the rows are the same,
lost calls are reaped when their lease ends and every owed message is attempted again.
"""
from collections import Counter
from datetime import datetime, timedelta, timezone

from hypothesis import settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)

from scheduler.memory import MemoryStore
from scheduler.model import (AttemptKind, DeliveryStatus, LifeEvent, SchedulerError, Subscriber,
                             SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from scheduler.slots import local_date, zone

PROGRAMME = load_programme("mmitra")
ZONES = ["Asia/Kolkata", "Europe/London", "Africa/Cairo", "Australia/Lord_Howe"]
STARTS = [datetime(2026, 3, 26, tzinfo=timezone.utc),     # London springs forward on the 29th
          datetime(2026, 10, 22, tzinfo=timezone.utc),    # ... and falls back on the 25th
          datetime(2025, 4, 22, tzinfo=timezone.utc),     # Cairo: summer time from the 25th
          datetime(2026, 1, 5, tzinfo=timezone.utc)]
OUTCOMES = [Outcome.ANSWERED, Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION,
            Outcome.UNREACHABLE, Outcome.FAILED, Outcome.REJECTED]


class SchedulerMachine(RuleBasedStateMachine):
    @initialize(start=st.sampled_from(STARTS))
    def setup(self, start):
        self.store = MemoryStore(PROGRAMME)
        self.now = start
        self.worker: dict[int, str] = {}          # live calls this worker placed: id -> owner
        self.owner = "worker-0"
        self.crashes = 0
        self.deliveries_seen = 0

    # ---- women -------------------------------------------------------------------------------
    @rule(tz=st.sampled_from(ZONES), slot=st.sampled_from([s.name for s in PROGRAMME.slots]),
          age=st.integers(30, 290), infant=st.booleans())
    def enrol(self, tz, slot, age, infant):
        today = local_date(self.now, zone(tz))
        sub = Subscriber(id=0, language="hi", slot=slot, timezone=tz)
        if infant:
            sub.child_dob = today - timedelta(days=age % 300)
        else:
            sub.lmp = today - timedelta(days=age)
        self.store.enrol(sub, self.now)

    @precondition(lambda self: self.store.subscribers)
    @rule(data=st.data(), action=st.sampled_from(["pause", "resume", "opt_out", "birth",
                                                  "miscarriage", "missed_call", "missed_call"]))
    def change(self, data, action):
        sub_id = data.draw(st.sampled_from(sorted(self.store.subscribers)))
        try:
            if action == "birth":
                self.store.register_birth(sub_id, local_date(self.now, zone(
                    self.store.subscribers[sub_id].timezone)), self.now)
            elif action == "miscarriage":
                self.store.life_event(sub_id, LifeEvent.MISCARRIAGE, self.now)
            elif action == "missed_call":
                self.store.missed_call(sub_id, self.now)
            else:
                getattr(self.store, action)(sub_id, self.now)
        except SchedulerError as e:
            assert str(e)                              # refused with a message, nothing changed

    # ---- time and calls ----------------------------------------------------------------------
    @rule(minutes=st.integers(1, 3 * 24 * 60))
    def advance(self, minutes):
        self.tick(self.now + timedelta(minutes=minutes))

    @rule()
    def advance_to_next_wake(self):
        wake = self.store.next_wake()
        if wake is not None and wake > self.now:
            self.tick(wake)

    @rule(outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=40),
          crash_at=st.integers(0, 60))
    def run_the_service(self, outcomes, crash_at):
        """The live loop: jump to the next wake, place the calls, finish them a minute later."""
        for step, outcome in enumerate(outcomes):
            if step == crash_at:
                self.crash_and_restart()
            wake = self.store.next_wake()
            if wake is None:
                return
            self.tick(max(wake, self.now + timedelta(seconds=1)))
            ended = self.now + timedelta(minutes=1)
            for attempt_id in sorted(self.worker):
                self.finish(attempt_id, outcome, 0.5, ended)
            self.now = ended

    def tick(self, now):
        self.now = now
        self.store.run_plans(now)
        self.store.reap(now)
        for a in self.store.claim(now, self.owner, 1000):
            sub = self.store.subscribers[a.subscriber_id]
            local = now.astimezone(zone(sub.timezone)).time()
            assert PROGRAMME.window.contains(local), "call outside the calling window"
            if a.kind is AttemptKind.SCHEDULED:
                assert PROGRAMME.slot(sub.slot).contains(local), "call outside her slot"
            self.worker[a.id] = self.owner

    @precondition(lambda self: self.worker)
    @rule(data=st.data(), outcome=st.sampled_from(OUTCOMES), heard=st.floats(0, 1),
          seconds=st.integers(1, 200))
    def finish_call(self, data, outcome, heard, seconds):
        attempt_id = data.draw(st.sampled_from(sorted(self.worker)))
        self.now += timedelta(seconds=seconds)
        self.finish(attempt_id, outcome, heard, self.now)

    def finish(self, attempt_id, outcome, heard, at):
        del self.worker[attempt_id]
        live = self.store.attempts[attempt_id].live
        try:
            self.store.release(attempt_id, outcome, heard if outcome.answered else None, at)
            assert live
        except SchedulerError:
            assert not live                            # reaped meanwhile: its lease had ended

    @rule()
    def crash_and_restart(self):
        rows = self.store.rows()
        self.store = MemoryStore.from_rows(PROGRAMME, rows)
        assert self.store.rows() == rows               # nothing lost in the round trip
        self.worker.clear()                            # the calls in progress are lost
        self.crashes += 1
        self.owner = f"worker-{self.crashes}"

    # ---- invariants --------------------------------------------------------------------------
    @invariant()
    def at_most_max_attempts(self):
        if hasattr(self, "store"):
            assert all(d.attempts <= PROGRAMME.retry.max_attempts
                       for d in self.store.deliveries.values())

    @invariant()
    def one_live_attempt_and_one_pending_message_per_woman(self):
        if not hasattr(self, "store"):
            return
        live = Counter(a.subscriber_id for a in self.store.attempts.values() if a.live)
        assert all(n == 1 for n in live.values())
        pending = Counter(d.subscriber_id for d in self.store.deliveries.values()
                          if d.status is DeliveryStatus.PENDING)
        assert all(n == 1 for n in pending.values())
        keys = Counter((d.subscriber_id, d.message_key) for d in self.store.deliveries.values())
        assert all(n == 1 for n in keys.values())

    @invariant()
    def nothing_owed_is_forgotten(self):
        """Every pending message of an active woman has a next attempt or a live call."""
        if not hasattr(self, "store"):
            return
        live = {a.delivery_id for a in self.store.attempts.values() if a.live}
        for d in self.store.deliveries.values():
            sub = self.store.subscribers[d.subscriber_id]
            if d.status is DeliveryStatus.PENDING:
                assert not sub.status.ended
                assert d.next_attempt_at is not None or d.id in live
        assert len(self.store.deliveries) >= self.deliveries_seen
        self.deliveries_seen = len(self.store.deliveries)

    @invariant()
    def ended_women_are_never_called(self):
        if not hasattr(self, "store"):
            return
        for a in self.store.attempts.values():
            sub = self.store.subscribers[a.subscriber_id]
            if a.live and sub.status is not SubscriberStatus.ACTIVE:
                assert sub.updated_at is not None and sub.updated_at >= a.claimed_at


SchedulerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60,
                                              deadline=None)
test_scheduler_machine = SchedulerMachine.TestCase
