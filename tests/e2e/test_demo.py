"""`ivr demo` against the real sandbox Asterisk (issue 15 item 7): its campaign (one woman
here, who answers and listens), then its two scenes as the command runs them:
- the pesinet check-in: the carer's "presses keys" phone answers the week's questions (fever
  yes, stools normal, weight 5.1 kg); the answers are stored with the call's attempt and the
  fever opens a follow-up for the doctor the scene enrolled;
- the answered line: the campaign's woman calls it from her number (sipp), hears her latest
  message, presses 1 to hear it again; the line records the call.
The campaign plays the test tones (every mmitra message is the test message); the check-in
synthesises the French files it plays with espeak-ng, as `ivr demo` does on a fresh home.
"""
from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import pytest

from ivr.commands.demo import show_check_in, show_line
from ivr.config import load_config
from ivr.demo import DEMO_WOMEN, DemoRow, run_demo
from ivr.demo_scenes import CARER, DOCTOR, CheckInScene, LineScene, run_check_in, run_line_call
from ivr.phone import mask_name
from scheduler.outcome import Outcome
from scheduler.programme import PROGRAMMES_DIR, load_programme
from tests.conftest import TEST_MESSAGE
from tests.e2e.run_helpers import all_messages_are

pytestmark = pytest.mark.sandbox

WOMAN = DEMO_WOMEN[0]          # answers and listens
MMITRA = load_programme("mmitra")


@dataclass
class Demo:
    campaign: list[DemoRow]
    check_in: CheckInScene
    line: LineScene


async def _run(config, sip_port: int) -> Demo:
    now = datetime.now(timezone.utc)
    campaign = await asyncio.wait_for(run_demo(config, now, ring_timeout=4.0, women=(WOMAN,),
                                               programme=MMITRA), 120)
    check_in = await asyncio.wait_for(run_check_in(config, now, ring_timeout=4.0), 150)
    line = await asyncio.wait_for(run_line_call(config, WOMAN, programme=MMITRA,
                                                sip_port=sip_port), 150)
    return Demo(campaign, check_in, line)


@pytest.fixture(scope="module")
def demo(sandbox, test_sounds, tmp_path_factory) -> Demo:
    home = tmp_path_factory.mktemp("demo-home")
    sounds = home / "sounds"
    shutil.copytree(test_sounds, sounds)
    all_messages_are(sounds, TEST_MESSAGE, PROGRAMMES_DIR / "mmitra.toml")
    cfg = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    cfg = replace(cfg, home=home, sounds=sounds)
    return asyncio.run(_run(cfg, sandbox.ports.sip_port))


def test_demo_campaign_woman_heard_her_message(demo):
    [row] = demo.campaign
    assert [a["outcome"] for a in row.attempts] == [Outcome.ANSWERED.value]


def test_demo_check_in_question_answers_by_keys_are_stored_with_the_call(demo):
    scene = demo.check_in
    assert [c["outcome"] for c in scene.calls] == [Outcome.ANSWERED.value]
    assert scene.calls[0]["keys"] == "111"              # the menu's keys; answers are apart
    assert {a.question: (a.value, a.status.value) for a in scene.answers} == {
        "fever": ("1", "answered"), "stools": ("1", "answered"), "weight": ("5.1", "answered")}
    assert len({a.attempt_id for a in scene.answers}) == 1
    assert scene.answers[0].attempt_id is not None
    assert scene.message_key.startswith("pesinet-i")
    assert scene.child.language == "fr" and scene.child.phone == CARER.phone


def test_demo_check_in_fever_opens_a_followup_for_the_doctor_worker(demo):
    scene = demo.check_in
    assert (scene.doctor.name, scene.doctor.role.value) == (DOCTOR[0], "doctor")
    [f] = scene.follow_ups
    assert (f.rule, f.reason, f.owner_role.value, f.worker_id) == (
        "fever", "fever this week", "doctor", scene.doctor.id)
    fever = next(a for a in scene.answers if a.question == "fever")
    assert f.answer_id == fever.id
    [row] = scene.follow_up_rows                       # as `ivr followups list` shows it
    assert (row["rule"], row["owner"], row["state"]) == ("fever", mask_name(DOCTOR[0]), "open")
    assert CARER.phone not in row["phone"] and row["phone"].startswith("****")


def test_demo_answered_line_call_from_her_number_is_recorded(demo):
    [call] = demo.line.calls
    assert (call.kind, call.subscriber_id, call.did) == ("woman", demo.line.subscriber.id,
                                                         "18005550100")
    assert call.played[:2] == ("latest", "latest")      # her message, then 1: again
    assert call.keys.startswith("1") and call.ended == "hangup"
    assert WOMAN.phone not in call.caller and call.caller.endswith(WOMAN.phone[-3:])


def test_demo_scenes_on_screen_are_masked(demo, capsys):
    show_check_in(demo.check_in, as_json=False)
    show_line(demo.line, as_json=False)
    out = capsys.readouterr().out
    assert "fever 1 (yes), stools 1, weight 5.1" in out
    assert mask_name(DOCTOR[0]) in out and DOCTOR[0] not in out and "fever this week" in out
    assert "latest latest" in out
    assert CARER.phone not in out and WOMAN.phone not in out


def test_demo_scenes_as_json_objects(demo, capsys):
    show_check_in(demo.check_in, as_json=True)
    show_line(demo.line, as_json=True)
    check_in, line = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert check_in["scene"] == "check_in" and check_in["phone"].startswith("****")
    assert {a["question"]: a["value"] for a in check_in["answers"]} == {
        "fever": "1", "stools": "1", "weight": "5.1"}
    assert [(f["rule"], f["owner"]) for f in check_in["follow_ups"]] == [
        ("fever", mask_name(DOCTOR[0]))]
    assert line["scene"] == "answered_line" and line["calls"][0]["kind"] == "woman"
    assert CARER.phone not in str(check_in) and WOMAN.phone not in str(line)
