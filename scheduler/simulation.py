"""A simulated year: the real scheduler (MemoryStore + the pure decisions) against a simulated
population of phones. Pure: time is simulated, randomness comes from a seeded random.Random.

The harness checks the scheduler from outside: it keeps its own set of live calls and looks
at the local time of every call it is asked to place, so `calls_outside_slot`,
`calls_outside_window` and `double_live_attempts` are measured, not reported by the store.
"""
from __future__ import annotations

import heapq
import random
from collections import Counter
from typing import Any, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from scheduler.engagement import at_risk
from scheduler.memory import MemoryStore
from scheduler.model import (Attempt, AttemptKind, CallbackStatus, DeliveryStatus, LifeEvent,
                             SchedulerError, Subscriber, SubscriberStatus)
from scheduler.outcome import Outcome
from scheduler.policy import RetrySlots
from scheduler.programme import Programme
from scheduler.retry_slots import Learner, reachable, slot_at
from scheduler.slots import TimeSlot, day_start, local_date, zone
from scheduler.timeline import PREGNANCY_DAYS, her_slot, her_zone

DEFAULT_SLOT_ANSWER = (("09-12", 0.9), ("12-15", 1.0), ("15-18", 1.0), ("18-21", 1.15))
QUIET_ANSWER = 0.02               # a phone gone quiet answers at most this share of calls


@dataclass(frozen=True)
class Population:
    women: int
    answer_rate: float = 0.6          # mean chance a scheduled call is answered (1.0: all are)
    slot_answer: tuple[tuple[str, float], ...] = DEFAULT_SLOT_ANSWER   # factor by slot
    busy_share: float = 0.2           # of unanswered calls: busy
    unreachable_share: float = 0.1    # of unanswered calls: switched off; the rest ring out
    full_listen: float = 0.45         # answered calls heard to the end; others stop at random
    missed_call_rate: float = 0.05    # chance she gives a missed call after a call she missed
    silent_share: float = 0.1         # women whose phone goes quiet from a random day (lost phone,
                                      # new number, lost interest): from then on they answer
                                      # QUIET_ANSWER of calls, or their own chance if lower
    enrol: str = "spread"             # "spread": mid-pregnancy or after birth; "lmp": at her LMP
    stagger_days: int = 28            # "lmp": LMPs spread over this many days from the start
    life_events: bool = True          # births vary around the EDD, some losses, opt-outs, pauses
    timezones: tuple[str, ...] = ("Asia/Kolkata",)
    slot_mismatch: float | None = None  # None: her chance does not depend on the call's time.
                                      # A share s: every woman has a best slot, where she
                                      # answers as above; in the programme's other slots she
                                      # answers off_slot_answer as often. Her best slot is her
                                      # chosen slot, except for a share s of women, for whom it
                                      # is another slot drawn at random
    off_slot_answer: float = 0.5      # her chance outside her best slot, as a share of it
    away_day_answer: float = 0.5      # with slot_mismatch, the weekday effect: every woman has
                                      # one away day a week (market day, work, travel: a
                                      # weekday drawn at random), where she answers this share
                                      # as often, in every slot (1.0: no weekday effect)

    def __post_init__(self) -> None:
        if self.women < 0:
            raise ValueError("women must be 0 or more")
        if not 0.0 <= self.answer_rate <= 1.0:
            raise ValueError("answer rate must be between 0 and 1")
        if self.enrol not in ("spread", "lmp"):
            raise ValueError("enrol must be 'spread' or 'lmp'")
        for share in (self.busy_share, self.unreachable_share, self.full_listen,
                      self.missed_call_rate, self.silent_share, self.off_slot_answer,
                      self.away_day_answer, self.slot_mismatch or 0.0):
            if not 0.0 <= share <= 1.0:
                raise ValueError("shares and rates must be between 0 and 1")


@dataclass
class Woman:
    """What the simulation drew for a woman: the truth a policy must learn."""
    factor: float
    birth: date | None = None
    silent_from: datetime | None = None
    best: str | None = None           # her best slot (slot_mismatch given), else None
    away: int | None = None           # her away weekday, 0 = Monday (slot_mismatch given)


class BestSlot(Learner):
    """The ceiling of retry_slots (`simulate(oracle=True)`): it knows the truth the simulation
    drew, and sends each later attempt to the reachable slot (`reachable`, as learned) where
    her true chance (the slot's factor, off_slot_answer outside her best slot) is highest,
    her own slot on a tie. Not a rule a programme can run: a bound for the learned rule."""

    def __init__(self, programme: Programme, rng: random.Random,
                 chance: Callable[[int, str], float]):
        super().__init__(programme, rng)
        self.chance = chance

    def after_call(self, sub: Subscriber, a: Attempt, d: Any, outcome: Outcome,
                   ended_at: datetime) -> TimeSlot | None:
        p = self.programme
        if outcome.answered and p.retry.delivered_share <= 0:
            return None
        own = her_slot(p, sub)
        among = reachable(p, her_zone(sub), d.attempts, outcome, ended_at)
        return max(among, key=lambda s: (self.chance(sub.id, s.name), s is own))


@dataclass
class SimResult:
    summary: dict[str, Any]
    store: MemoryStore = field(repr=False)
    women: dict[int, Woman] = field(repr=False, default_factory=dict)   # by subscriber id


class _Sim:
    def __init__(self, programme: Programme, population: Population, seed: int,
                 start: datetime, days: int, keep_attempts: bool, oracle: bool = False):
        self.p, self.pop, self.rng = programme, population, random.Random(seed)
        self.start, self.end = start, start + timedelta(days=days)
        rng = random.Random(f"retry-slots-{seed}")
        self.oracle = oracle
        self.store = MemoryStore(programme, keep_closed_attempts=keep_attempts, rng=rng,
                                 learner=BestSlot(programme, rng, self.slot_chance)
                                 if oracle else None)
        self.channel_seconds = 0.0
        self.events: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        self.seq = 0
        self.women: dict[int, Woman] = {}
        self.live: set[int] = set()
        self.counts: Counter[str] = Counter()
        self.heard_total = 0.0
        self.pickup: Counter[int] = Counter()
        self.tried: Counter[int] = Counter()
        self.slot_factor = dict(population.slot_answer)

    def at(self, when: datetime, kind: str, *payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, kind, payload))

    # ---- the population ----------------------------------------------------------------------
    def populate(self) -> None:
        rng, pop = self.rng, self.pop
        slots = [s.name for s in self.p.slots]
        for _ in range(pop.women):
            tz_name = rng.choice(pop.timezones)
            tz = zone(tz_name)
            today = local_date(self.start, tz)
            woman = Woman(factor=1.0 if pop.answer_rate >= 1 else rng.uniform(0.4, 1.6))
            if pop.answer_rate < 1 and rng.random() < pop.silent_share:
                woman.silent_from = self.start + (self.end - self.start) * rng.random()
            sub = Subscriber(id=0, language=rng.choice(self.p.languages), slot=rng.choice(slots),
                             timezone=tz_name)
            if pop.slot_mismatch is not None:
                woman.best = sub.slot
                if len(slots) > 1 and rng.random() < pop.slot_mismatch:
                    woman.best = rng.choice([x for x in slots if x != sub.slot])
                woman.away = rng.randrange(7)
            if pop.enrol == "lmp":
                lmp = today + timedelta(days=rng.randrange(max(1, pop.stagger_days)))
                enrol_at = day_start(lmp, tz)
                sub.lmp = lmp
            elif rng.random() < 0.8:
                enrol_at = self.start + timedelta(hours=rng.uniform(0, 24 * 14))
                sub.lmp = local_date(enrol_at, tz) - timedelta(days=rng.randrange(42, 252))
            else:
                enrol_at = self.start + timedelta(hours=rng.uniform(0, 24 * 14))
                sub.child_dob = local_date(enrol_at, tz) - timedelta(days=rng.randrange(0, 120))
            self.at(enrol_at, "enrol", sub, woman)

    def plan_life(self, sub: Subscriber, woman: Woman) -> None:
        rng, tz = self.rng, zone(sub.timezone)
        if sub.child_dob is None:
            assert sub.lmp is not None
            lmp: date = sub.lmp
            edd = lmp + timedelta(days=PREGNANCY_DAYS)
            if not self.pop.life_events:
                woman.birth = edd
                self.at(day_start(edd, tz), "birth", sub.id, edd)
            else:
                woman.birth = edd + timedelta(days=round(rng.gauss(0, 7)))
                seen = day_start(woman.birth + timedelta(days=rng.randrange(0, 8)), tz)
                seen += timedelta(hours=rng.uniform(9, 18))
                r = rng.random()
                if r < 0.03:
                    when = day_start(lmp + timedelta(days=rng.randrange(42, 140)), tz)
                    self.at(when + timedelta(hours=12), "event", sub.id, LifeEvent.MISCARRIAGE)
                elif r < 0.035:
                    self.at(seen, "event", sub.id, LifeEvent.STILL_BIRTH)
                else:
                    self.at(seen, "birth", sub.id, woman.birth)
        if not self.pop.life_events:
            return
        horizon = (self.end - self.start).total_seconds()
        for chance, kind in ((0.005, LifeEvent.INFANT_DEATH), (0.001, LifeEvent.MATERNAL_DEATH)):
            if rng.random() < chance:
                self.at(self.start + timedelta(seconds=rng.uniform(0, horizon)), "event", sub.id,
                        kind)
        if rng.random() < 0.02:
            self.at(self.start + timedelta(seconds=rng.uniform(0, horizon)), "opt_out", sub.id)
        if rng.random() < 0.03:
            when = self.start + timedelta(seconds=rng.uniform(0, horizon))
            self.at(when, "pause", sub.id)
            self.at(when + timedelta(days=rng.randrange(7, 29)), "resume", sub.id)

    # ---- events ------------------------------------------------------------------------------
    def handle(self, now: datetime, kind: str, payload: tuple[Any, ...]) -> None:
        s = self.store
        try:
            if kind == "release":
                attempt_id, sub_id, outcome, heard = payload
                self.live.discard(sub_id)
                s.release(attempt_id, outcome, heard, now)
            elif kind == "enrol":
                sub, woman = payload
                sub = s.enrol(sub, now)
                self.women[sub.id] = woman
                self.plan_life(sub, woman)
            elif kind == "birth":
                s.register_birth(payload[0], payload[1], now)
            elif kind == "event":
                s.life_event(payload[0], payload[1], now)
            elif kind == "missed":
                self.counts["missed_calls"] += 1
                if s.missed_call(payload[0], now) is not None:
                    self.counts["callbacks_requested"] += 1
            else:
                getattr(s, kind)(payload[0], now)            # opt_out, pause, resume
        except SchedulerError:
            self.counts["events_refused"] += 1               # e.g. a pause after a loss

    def place(self, a: Attempt, now: datetime) -> None:
        """The phone network: the harness checks the call, then decides what came of it."""
        rng, pop, c = self.rng, self.pop, self.counts
        sub = self.store.subscribers[a.subscriber_id]
        tz = zone(sub.timezone)
        c["attempts"] += 1
        if a.subscriber_id in self.live:
            c["double_live_attempts"] += 1
        self.live.add(a.subscriber_id)
        local_at = now.astimezone(tz)
        local = local_at.time()
        if not self.p.window.contains(local):
            c["calls_outside_window"] += 1
        if a.kind is AttemptKind.SCHEDULED:
            if not self.p.slot(sub.slot).contains(local) and not self.elsewhere(a, local):
                c["calls_outside_slot"] += 1
            woman = self.women[sub.id]
            chance = pop.answer_rate * self.slot_factor.get(sub.slot, 1.0) * woman.factor
            if woman.best is not None:
                slot = slot_at(self.p.slots, local)
                chance = pop.answer_rate * woman.factor * self.slot_chance(
                    sub.id, slot.name if slot is not None else "")
                if local_at.weekday() == woman.away:
                    chance *= pop.away_day_answer
            if woman.silent_from is not None and now >= woman.silent_from:
                chance = min(chance, QUIET_ANSWER)
            self.tried[a.number] += 1
        else:
            c["attempts_callback"] += 1
            chance = 1.0 if pop.answer_rate >= 1 else 0.9
        if pop.answer_rate >= 1 or rng.random() < chance:
            heard = 1.0 if rng.random() < pop.full_listen else rng.uniform(0.02, 1.0)
            outcome, seconds = Outcome.ANSWERED, 8 + heard * self.p.message_seconds
            c["answered"] += 1
            self.heard_total += heard
            if a.kind is AttemptKind.SCHEDULED:
                self.pickup[a.number] += 1
        else:
            heard = None
            r = rng.random()
            if r < pop.busy_share:
                outcome, seconds = Outcome.BUSY, 3
            elif r < pop.busy_share + pop.unreachable_share:
                outcome, seconds = Outcome.UNREACHABLE, 2
            else:
                outcome, seconds = Outcome.NO_ANSWER, 30
            quiet = self.women[sub.id].silent_from
            if (quiet is None or now < quiet) and rng.random() < pop.missed_call_rate:
                later = now + timedelta(minutes=rng.uniform(5, 360))
                self.at(later, "missed", sub.id)
                if rng.random() < 0.3:                       # she tries twice in a row
                    self.at(later + timedelta(minutes=rng.uniform(0.5, 3)), "missed", sub.id)
        self.channel_seconds += seconds
        self.at(now + timedelta(seconds=seconds), "release", a.id, sub.id, outcome, heard)

    def slot_chance(self, sub_id: int, slot: str) -> float:
        """Her chance in a slot relative to answer_rate x her factor (slot_mismatch given):
        the slot's factor, times off_slot_answer outside her best slot."""
        factor = self.slot_factor.get(slot, 1.0)
        return factor if slot == self.women[sub_id].best else factor * self.pop.off_slot_answer

    def elsewhere(self, a: Attempt, local: time) -> bool:
        """A later attempt in another programme slot, as retry_slots not own allows."""
        return (self.p.retry.retry_slots is not RetrySlots.OWN and a.number > 1
                and slot_at(self.p.slots, local) is not None)

    # ---- the loop ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.populate()
        s, now = self.store, self.start
        while True:
            wake = s.next_wake()
            t = self.events[0][0] if self.events else None
            if wake is not None and (t is None or wake < t):
                t = wake
            if t is None or t >= self.end:
                break
            now = max(now, t)
            while self.events and self.events[0][0] <= now:
                _, _, kind, payload = heapq.heappop(self.events)
                self.handle(now, kind, payload)
            s.run_plans(now)
            s.reap(now)
            for a in s.claim(now, "simulation", limit=1 << 30):
                self.place(a, now)
        return self.summary()

    def summary(self) -> dict[str, Any]:
        s, c = self.store, self.counts
        status = Counter(d.status for d in s.deliveries.values() if d.due_at < self.end)
        subs = Counter(x.status for x in s.subscribers.values())
        reasons = Counter(x.status_reason for x in s.subscribers.values()
                          if x.status is SubscriberStatus.DEACTIVATED)
        scheduled = [d.attempts for d in s.deliveries.values()]
        risky = sum(1 for x in s.subscribers.values() if x.status is SubscriberStatus.ACTIVE
                    and at_risk(s.engagement[x.id], self.p.at_risk, self.end))
        delivered = status[DeliveryStatus.DELIVERED]
        picked, cumulative = 0, {}
        for n in sorted(self.tried):
            picked += self.pickup[n]
            cumulative[str(n)] = round(picked / max(1, _first_attempts(self.tried)), 4)
        return {
            "programme": self.p.name, "women": len(s.subscribers),
            "days": (self.end - self.start).days,
            "messages_due": sum(status.values()),
            "messages_delivered": status[DeliveryStatus.DELIVERED],
            "messages_undelivered": status[DeliveryStatus.UNDELIVERED],
            "messages_superseded": status[DeliveryStatus.SUPERSEDED],
            "messages_cancelled": status[DeliveryStatus.CANCELLED],
            "messages_pending": status[DeliveryStatus.PENDING],
            "attempts": c["attempts"], "attempts_callback": c["attempts_callback"],
            "answered": c["answered"],
            "answer_rate_observed": round(c["answered"] / c["attempts"], 4) if c["attempts"] else 0,
            "heard_mean": round(self.heard_total / c["answered"], 4) if c["answered"] else 0,
            "pickup_by_attempt": cumulative,
            "max_attempts_per_message": max(scheduled, default=0),
            "calls_outside_slot": c["calls_outside_slot"],
            "calls_outside_window": c["calls_outside_window"],
            "double_live_attempts": c["double_live_attempts"],
            "missed_calls": c["missed_calls"], "callbacks_requested": c["callbacks_requested"],
            "callbacks_served": sum(1 for r in s.callbacks.values()
                                    if r.status is CallbackStatus.SERVED),
            "at_risk": risky,
            "women_by_status": {k.value: v for k, v in sorted(subs.items())},
            "deactivated_by_reason": dict(sorted(reasons.items())),
            "events_refused": c["events_refused"],
            "retry_slots": "oracle" if self.oracle else self.p.retry.retry_slots.value,
            "slot_mismatch": self.pop.slot_mismatch,
            "attempts_per_delivered": _per(c["attempts"], delivered),
            "channel_minutes_per_delivered": _per(self.channel_seconds / 60, delivered),
        }


def _per(total: float, delivered: int) -> float | None:
    return round(total / delivered, 4) if delivered else None


def _first_attempts(tried: Counter[int]) -> int:
    """Messages attempted at least once (the denominator of pick-up by attempt number)."""
    return tried.get(1, 0)


def simulate(programme: Programme, population: Population, *, days: int, seed: int,
             start: datetime, keep_attempts: bool = False,
             retry_slots: RetrySlots | None = None, oracle: bool = False) -> SimResult:
    """Run `days` of the programme from `start` (aware UTC) and summarise. The store keeps
    the live attempts only unless keep_attempts (memory: the year's attempts of 10,000
    women take about 360 MB more). `retry_slots` overrides the programme's (random: the
    simulation's comparator). attempts_per_delivered: all attempts (scheduled and
    callback) per message delivered; channel_minutes_per_delivered: the minutes a trunk
    channel was held per message delivered, by the simulated network's own call lengths
    (answered: 8 s + the share heard of the message; busy 3 s, switched off 2 s, no answer
    30 s of ringing). `oracle` (needs the population's slot_mismatch): later attempts go
    where her true chance is highest (`BestSlot`), the ceiling of learned."""
    if oracle:
        if population.slot_mismatch is None:
            raise ValueError("the oracle needs slot_mismatch (a best slot per woman)")
        retry_slots = RetrySlots.LEARNED          # later attempts may leave her slot
    if retry_slots is not None:
        programme = replace(programme, retry=replace(programme.retry, retry_slots=retry_slots))
    if days < 1:
        raise ValueError("days must be at least 1")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    sim = _Sim(programme, population, seed, start, days, keep_attempts, oracle)
    return SimResult(sim.run(), sim.store, sim.women)
