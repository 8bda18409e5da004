"""The scheduler's stateful machine (tests/scheduler/test_scheduler_machine.py) run against
both stores in lockstep: MemoryStore and ScheduleStore on a temp SQLite file get the same
enrolments, changes, time jumps, calls, outcomes and crashes, and must answer alike at every
step (the same claims, the same rows). The invariants are checked on the SQLite rows.

test_lockstep_machine_postgres runs the same machine with a third store in lockstep, the
PostgreSQL store on the private cluster (its tables emptied before each example).

A crash: MemoryStore's rows are saved and reloaded; the SQLite connection is closed and the
same file opened again (PostgreSQL: its pool closed and opened again). The worker's calls
in progress are lost either way; their leases run out and reap() closes them, and every owed
message is attempted again.
"""
import asyncio
import shutil
import tempfile
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from hypothesis import settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from contract_drive import utc
from contract_stores import MemoryFace, SqliteFace
from ivr.adapters.deliveries import _DELIVERY_COLUMNS, _delivery
from scheduler.model import (AttemptKind, CallbackStatus, DeliveryStatus, LifeEvent,
                             SchedulerError, Subscriber, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from scheduler.slots import local_date, zone

PROGRAMME = load_programme("mmitra")
ZONES = ["Asia/Kolkata", "Europe/London", "Africa/Cairo"]
STARTS = [utc(2026, 3, 26), utc(2026, 10, 22), utc(2025, 4, 22), utc(2026, 1, 5)]
OUTCOMES = [Outcome.ANSWERED, Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION,
            Outcome.UNREACHABLE, Outcome.FAILED, Outcome.REJECTED, Outcome.INVALID_NUMBER]
STEP_TIMEOUT = 30.0


def _closed(cb):
    """MemoryStore leaves next_attempt_at on a request it cancels (she left); SQLite clears
    it. Neither calls: compare a closed request without it."""
    return cb if cb.status is CallbackStatus.PENDING else replace(cb, next_attempt_at=None)


class LockstepMachine(RuleBasedStateMachine):
    PG_DSN: str | None = None           # set: PostgreSQL runs in lockstep too

    @initialize(start=st.sampled_from(STARTS))
    def setup(self, start):
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="ivr-contract-"))
        self.mem = MemoryFace(PROGRAMME)
        self.sql = self.run(SqliteFace(PROGRAMME, self.dir / "ivr.db").open())
        self.sqls = [self.sql]
        if self.PG_DSN is not None:
            pg = self.run(SqliteFace(PROGRAMME, self.PG_DSN, self.dir / "pg.key").open())
            self.sqls.append(pg)
            self.run(pg.store.execute(
                "TRUNCATE subscribers, deliveries, attempts, callback_requests, missed_calls, "
                "audit, call_centre_list, erased_numbers, workers, assignments, answers, "
                "follow_ups RESTART IDENTITY CASCADE"))
        self.now = start
        self.worker: set[int] = set()
        self.owner, self.crashes, self.women = "worker-0", 0, 0

    def teardown(self):
        if hasattr(self, "loop"):
            for face in self.sqls:
                self.run(face.close())
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, coro):
        return self.loop.run_until_complete(asyncio.wait_for(coro, STEP_TIMEOUT))

    def both(self, method, *args):
        """Call one operation on both stores; they must agree (or both refuse)."""
        results = []
        for face in (self.mem, *self.sqls):
            try:
                results.append(("ok", self.run(getattr(face, method)(*args))))
            except SchedulerError:
                results.append(("refused", None))
        for other in results[1:]:
            assert results[0] == other, f"{method}{args}: {results[0]} != {other}"
        return results[1][1]

    # ---- women -------------------------------------------------------------------------------
    @rule(tz=st.sampled_from(ZONES), slot=st.sampled_from([s.name for s in PROGRAMME.slots]),
          age=st.integers(30, 290), infant=st.booleans())
    def enrol(self, tz, slot, age, infant):
        today = local_date(self.now, zone(tz))
        self.women += 1
        sub = Subscriber(id=0, phone=f"9199{self.women:08d}", language="hi", slot=slot,
                         timezone=tz)
        if infant:
            sub.child_dob = today - timedelta(days=age % 300)
        else:
            sub.lmp = today - timedelta(days=age)
        self.both("enrol", sub, self.now)

    @precondition(lambda self: self.women)
    @rule(data=st.data(), action=st.sampled_from(["pause", "resume", "opt_out", "birth",
                                                  "miscarriage", "missed_call", "missed_call",
                                                  "change_slot"]))
    def change(self, data, action):
        sub_id = data.draw(st.integers(1, self.women))
        if action == "birth":
            tz = self.run(self.sql.subscriber(sub_id)).timezone
            self.both("register_birth", sub_id, local_date(self.now, zone(tz)), self.now)
        elif action == "miscarriage":
            self.both("life_event", sub_id, LifeEvent.MISCARRIAGE, self.now)
        elif action == "change_slot":
            slot = data.draw(st.sampled_from([s.name for s in PROGRAMME.slots]))
            self.both("change_slot", sub_id, slot, self.now)
        else:
            self.both(action, sub_id, self.now)

    # ---- time and calls ----------------------------------------------------------------------
    @rule(minutes=st.integers(1, 3 * 24 * 60))
    def advance(self, minutes):
        self.tick(self.now + timedelta(minutes=minutes))

    @rule(outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=25),
          crash_at=st.integers(0, 40))
    def run_the_service(self, outcomes, crash_at):
        """The live loop: jump to the next wake, place the calls, finish them a minute later."""
        for step, outcome in enumerate(outcomes):
            if step == crash_at:
                self.crash_and_restart()
            wake = self.wake()
            if wake is None:
                return
            self.tick(max(wake, self.now + timedelta(seconds=1)))
            ended = self.now + timedelta(minutes=1)
            for attempt_id in sorted(self.worker):
                self.finish(attempt_id, outcome, 0.5, ended)
            self.now = ended

    def wake(self):
        """SQLite does not count work that waits for a live call or a resume; MemoryStore
        may wake earlier for nothing, never later."""
        m, s = self.run(self.mem.next_wake()), self.run(self.sql.next_wake())
        assert s is None or (m is not None and m <= s)
        for other in self.sqls[1:]:
            assert self.run(other.next_wake()) == s
        return s

    def tick(self, now):
        self.now = now
        self.both("run_plans", now)
        self.both("reap", now)
        for a in self.both("claim", now, self.owner, 1000):
            sub = self.run(self.sql.subscriber(a.subscriber_id))
            local = now.astimezone(zone(sub.timezone)).time()
            assert PROGRAMME.window.contains(local), "call outside the calling window"
            if a.kind is AttemptKind.SCHEDULED:
                assert PROGRAMME.slot(sub.slot).contains(local), "call outside her slot"
            self.worker.add(a.id)

    @precondition(lambda self: self.worker)
    @rule(data=st.data(), outcome=st.sampled_from(OUTCOMES), heard=st.floats(0, 1),
          seconds=st.integers(1, 200))
    def finish_call(self, data, outcome, heard, seconds):
        attempt_id = data.draw(st.sampled_from(sorted(self.worker)))
        self.now += timedelta(seconds=seconds)
        self.finish(attempt_id, outcome, heard, self.now)

    def finish(self, attempt_id, outcome, heard, at):
        self.worker.discard(attempt_id)
        self.both("release", attempt_id, outcome, heard if outcome.answered else None, at)

    @rule()
    def crash_and_restart(self):
        before = self.rows()
        self.run(self.mem.restart())
        for face in self.sqls:
            self.run(face.restart())
        assert self.rows() == before                   # nothing lost
        self.worker.clear()                            # the calls in progress are lost
        self.crashes += 1
        self.owner = f"worker-{self.crashes}"

    # ---- the same rows, and the invariants on SQLite's -----------------------------------------
    def rows(self):
        return [[self.run(f.live_attempts())] +
                [(self.run(f.subscriber(i)), self.run(f.deliveries_of(i)),
                  [_closed(c) for c in self.run(f.callbacks_of(i))])
                 for i in range(1, self.women + 1)]
                for f in (self.mem, *self.sqls)]

    @invariant()
    def same_rows_in_every_store(self):
        if hasattr(self, "loop"):
            m, *others = self.rows()
            for s in others:
                for a, b in zip(m, s, strict=True):
                    assert a == b

    @invariant()
    def sqlite_rows_keep_the_invariants(self):
        if not hasattr(self, "loop"):
            return
        deliveries = [_delivery(r) for r in self.run(self.sql.store.fetchall(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries"))]
        live = self.run(self.sql.live_attempts())
        assert all(d.attempts <= PROGRAMME.retry.max_attempts for d in deliveries)
        assert all(n == 1 for n in Counter(a.subscriber_id for a in live).values())
        pending = [d for d in deliveries if d.status is DeliveryStatus.PENDING]
        assert all(n == 1 for n in Counter(d.subscriber_id for d in pending).values())
        live_deliveries = {a.delivery_id for a in live}
        for d in pending:
            sub = self.run(self.sql.subscriber(d.subscriber_id))
            assert not sub.status.ended
            assert d.next_attempt_at is not None or d.id in live_deliveries
        for a in live:
            sub = self.run(self.sql.subscriber(a.subscriber_id))
            if sub.status is not SubscriberStatus.ACTIVE:
                assert sub.updated_at >= a.claimed_at   # she changed during the call


LockstepMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40,
                                             deadline=None)
test_lockstep_machine = LockstepMachine.TestCase


def test_lockstep_machine_postgres(pg_cluster):
    """Memory, SQLite and PostgreSQL in lockstep (fewer examples: each costs more)."""
    class WithPostgres(LockstepMachine):
        PG_DSN = pg_cluster.create_database("lockstep")
    run_state_machine_as_test(WithPostgres, settings=settings(
        max_examples=40, stateful_step_count=40, deadline=None))
