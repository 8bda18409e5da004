"""Her answer to a question as an RFC 4733 telephone-event over real SIP (issue 15): a PJSIP
call to a sipp UAS (dialplan/sandbox/sipp/uas_answer_questions.xml) that listens to her
message, lets the menu pass in silence (the flow ends normally and asks the questions), then
presses "1": yes to the fever question; the number question gets silence and is skipped. The answer
is stored with the attempt and the fever opens a follow-up for her health worker.

Uses the carrier trunk's contact port like test_sip.py / test_dtmf_sip.py: they run one after
the other in one pytest process, never at once.
"""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from ivr.app import running
from scheduler.outcome import Outcome
from tests.conftest import ROOT
from tests.e2e.agi_events import AgiLog, observer
from tests.e2e.test_questions_incall import (PROGRAMME, Her, call_her, enrol_and_claim,
                                             question_sounds)
from tests.e2e.test_sip import sipp_phone

pytestmark = pytest.mark.sandbox

SCENARIO = ROOT / "dialplan" / "sandbox" / "sipp" / "uas_answer_questions.xml"


async def test_question_answered_by_rfc4733_dtmf_opens_a_followup(call_config, sandbox,
                                                                   test_sounds, tmp_path):
    config = replace(call_config, sounds=question_sounds(test_sounds, tmp_path / "sounds"))
    agi = AgiLog()
    her = Her()
    async with sipp_phone(SCENARIO, sandbox.ports.sipp_port, tmp_path, timeout=90) as phone:
        async with running(config, programme=PROGRAMME, agi_port=0) as service, \
                observer(sandbox, config, agi):
            schedule = service.schedule
            now = datetime.fromtimestamp(service.controller.clock(), timezone.utc)
            worker = await schedule.add_worker("Asha Two", "919812300002", "health_worker",
                                               now, actor="test")
            claimed = await enrol_and_claim(schedule, worker, {"sip": her}, now)
            await asyncio.wait_for(call_her(service, schedule, her, "919000099",
                                            claimed[her.sub_id], agi, trunk="carrier"), 90)
    attempt = her.attempt
    assert attempt is not None and attempt.outcome is Outcome.ANSWERED, phone.output[-2000:]
    assert attempt.channel and attempt.channel.startswith("PJSIP/carrier-")
    assert (attempt.keys, attempt.plays, attempt.answers, attempt.ended) == ("", 1, 1, "no_input")
    assert her.script.count("ask test-q-weight") == 2
    assert {a.question: (a.value, a.attempt_id) for a in her.answers} == {
        "fever": ("1", attempt.id), "weight": (None, attempt.id)}
    assert [(f.rule, f.worker_id) for f in her.follow_ups] == [("fever", worker.id)]
    assert phone.process.returncode == 0, phone.output[-2000:]   # ended by Asterisk's BYE
