"""Issue 15, her message's questions, against the real sandbox Asterisk: simulated phones
(sim-phones "presses keys": one key every 3 s from 3 s after answer) answer the yes/no and
the number (digits ended by #) after her message; the answers are stored with the call's
attempt, the call's record counts them, and a fever opens a follow-up for her health worker.

The calls run at once in one module fixture, through the real path of a scheduled call
(enrol, claim, place, release), with the test programme tests/e2e/programmes/checkin.toml.
"""
from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import CallRecord
from ivr.app import Service, running
from ivr.config import load_config
from ivr.controller import CallRequest
from scheduler.followups import FollowUp, StoredAnswer, Worker
from scheduler.model import Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from tests.conftest import _tone
from tests.e2e.agi_events import AgiLog, observer
from tests.e2e.test_incall import _script

pytestmark = pytest.mark.sandbox

PROGRAMME = load_programme(Path(__file__).parent / "programmes" / "checkin.toml")
# 1 three times: her message three times (the last play allowed), so the flow ends normally
# and the questions come; then the answers
FEVER_AND_WEIGHT = "91900002" + "111" + "1" + "123#"   # fever yes, weight 12.3 kg
NO_FEVER = "91900002" + "111" + "2" + "1"              # fever no; weight "1" never ended by #
HANGS_UP = "919000072"                                  # hangs up during her message
PHONES = (FEVER_AND_WEIGHT, NO_FEVER, HANGS_UP)
OWNER = "test-questions"


@dataclass
class Her:
    sub_id: int = 0
    attempt: CallRecord | None = None
    script: list[str] = field(default_factory=list)
    answers: list[StoredAnswer] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)


@dataclass
class Batch:
    women: dict[str, Her] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    worker: Worker | None = None

    def her(self, phone: str) -> Her:
        if phone in self.errors:
            raise self.errors[phone]
        return self.women[phone]


async def enrol_and_claim(schedule: ScheduleStore, worker: Worker, women: dict[str, Her],
                          now: datetime) -> dict:
    """Enrol each woman in week 12 (her message test-msg is due), her worker assigned; claim
    their calls: the attempts by subscriber id."""
    for i, her in enumerate(women.values()):
        woman = await schedule.enrol(Subscriber(
            id=0, language="hi", slot="09-12", phone=f"9198765{i:05d}",
            lmp=now.date() - timedelta(weeks=12)), now, actor="test")
        await schedule.assign(worker.id, woman.id, now, actor="test")
        her.sub_id = woman.id
    due = max([d.next_attempt_at for her in women.values()
               for d in await schedule.deliveries_of(her.sub_id)
               if d.next_attempt_at is not None])
    return {a.subscriber_id: a for a in await schedule.claim(due, OWNER, 10)}


def question_sounds(test_sounds: Path, sounds: Path) -> Path:
    """The test catalogue with the test programme's question prompts (0.5 s) in hi and mr."""
    shutil.copytree(test_sounds, sounds)
    for lang in ("hi", "mr"):
        for prompt in ("test-q-fever", "test-q-weight"):
            _tone(sounds / lang / f"{prompt}.wav", 0.5, 550)
    return sounds


async def call_her(service: Service, schedule: ScheduleStore, her: Her, phone: str,
                attempt, agi: AgiLog, trunk: str | None = None) -> None:
    request = CallRequest(phone=phone, language="hi", message_key="test-msg",
                          trunk=service.config.trunk(trunk), kind="scheduled",
                          subscriber_id=her.sub_id, delivery_id=attempt.delivery_id,
                          number=attempt.number)
    report = await service.controller.place_call(request, attempt.id)
    await schedule.release(attempt.id, report.outcome, report.heard_share,
                           datetime.fromtimestamp(report.ended_at, timezone.utc))
    her.attempt = await service.store.attempt(attempt.id)
    assert her.attempt is not None
    her.script = _script(agi.commands(her.attempt.uniqueid))
    her.answers = await schedule.answers_of(her.sub_id)
    her.follow_ups = await schedule.follow_ups(subscriber_id=her.sub_id)


async def _run(config, sandbox) -> Batch:
    batch = Batch()
    agi = AgiLog()
    async with running(config, programme=PROGRAMME, agi_port=0) as service, \
            observer(sandbox, config, agi):
        schedule = service.schedule
        now = datetime.fromtimestamp(service.controller.clock(), timezone.utc)
        batch.worker = await schedule.add_worker("Asha One", "919812300001", "health_worker",
                                                 now, actor="test")
        for phone in PHONES:
            batch.women[phone] = Her()
        claimed = await enrol_and_claim(schedule, batch.worker, batch.women, now)
        jobs = {phone: call_her(service, schedule, her, phone, claimed[her.sub_id], agi)
                for phone, her in batch.women.items()}
        results = await asyncio.wait_for(asyncio.gather(*jobs.values(), return_exceptions=True),
                                         120)
        for phone, result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                batch.errors[phone] = result
    return batch


@pytest.fixture(scope="module")
def batch(sandbox, test_sounds, tmp_path_factory) -> Batch:
    sounds = question_sounds(test_sounds, tmp_path_factory.mktemp("questions") / "sounds")
    cfg = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    cfg = replace(cfg, database=tmp_path_factory.mktemp("questions") / "ivr.db", sounds=sounds,
                  trunks=tuple(replace(t, ring_timeout=4.0) for t in cfg.trunks))
    return asyncio.run(_run(cfg, sandbox))


def _values(her: Her) -> dict[str, tuple[str | None, str]]:
    return {a.question: (a.value, a.status.value) for a in her.answers}


def test_question_answers_by_keys_are_stored_with_the_attempt(batch):
    her = batch.her(FEVER_AND_WEIGHT)
    assert her.attempt is not None and her.attempt.outcome is Outcome.ANSWERED
    assert her.script[-4:] == ["ask test-q-fever", "ask test-q-weight", "play ivr-goodbye",
                               "set completed"]
    assert _values(her) == {"fever": ("1", "answered"), "weight": ("12.3", "answered")}
    assert {a.attempt_id for a in her.answers} == {her.attempt.id}
    assert her.attempt.answers == 2
    assert her.attempt.keys == "111"          # the menu's keys only: answers are health data


def test_followup_opened_for_her_health_worker_on_fever(batch):
    her = batch.her(FEVER_AND_WEIGHT)
    assert batch.worker is not None
    assert [(f.rule, f.worker_id, f.reason) for f in her.follow_ups] == [
        ("fever", batch.worker.id, "fever this week")]
    fever = next(a for a in her.answers if a.question == "fever")
    assert her.follow_ups[0].answer_id == fever.id
    assert her.attempt is not None and her.follow_ups[0].attempt_id == her.attempt.id


def test_question_number_not_ended_by_hash_is_skipped_and_no_followup(batch):
    her = batch.her(NO_FEVER)
    assert her.attempt is not None
    assert _values(her) == {"fever": ("2", "answered"), "weight": (None, "skipped")}
    assert her.script.count("ask test-q-weight") == 2      # asked again once, then skipped
    assert her.attempt.answers == 1
    assert her.follow_ups == []


def test_question_not_reached_when_she_hangs_up_is_a_silent_week(batch):
    her = batch.her(HANGS_UP)
    assert her.attempt is not None and her.attempt.ended == "hangup"
    assert not any(s.startswith("ask test-q") for s in her.script)
    assert _values(her) == {"fever": (None, "skipped"), "weight": (None, "skipped")}
    assert her.attempt.answers is None
