"""The answered line (issue 15) against the real sandbox Asterisk, sipp as the caller: it
INVITEs the line's DID (18005550100, sandbox-from-carrier -> the production [ivr-inbound]),
is answered, keys RFC 4733 DTMF at set times, and hangs up (or waits for Asterisk's BYE).
The FastAGI server is the test's own (X-Ivr-Test-Agi-Url names it)."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from ivr.adapters.schedule_store import ScheduleStore
from ivr.app import running
from ivr.sandbox import line_caller
from ivr.sandbox.line_caller import LINE_DID
from scheduler.programme import load_programme
from tests.conftest import _tone
from tests.e2e.run_helpers import (TEST_MESSAGE, all_messages_are, quick_programme, with_programme,
                                   woman_on)

pytestmark = pytest.mark.sandbox


async def call_the_line(sandbox, tmp_path, agi_url: str, caller: str,
                        keys: list[tuple[int, str]], hang_up_after_ms: int | None) -> None:
    await line_caller.call_the_line(sandbox.ports.sip_port, tmp_path, agi_url, caller, keys,
                                    hang_up_after_ms)


async def line_rows(store):
    rows = await store.fetchall(
        "SELECT kind, caller, did, subscriber_id, worker_id, ended, keys, played, done "
        "FROM inbound_calls ORDER BY id")
    return [dict(r) for r in rows]


async def wait_for_row(store, count: int) -> list[dict]:
    """The route writes its row after the call: wait for it (bounded)."""
    async with asyncio.timeout(30):
        while len(rows := await line_rows(store)) < count:
            await asyncio.sleep(0.1)
    return rows


def line_programme(call_config, tmp_path, more: str = ""):
    """mmitra with the test message for every message (and `more` of the file's text)."""
    path = quick_programme(tmp_path, gaps={})
    path.write_text(path.read_text(encoding="utf-8") + more, encoding="utf-8")
    all_messages_are(call_config.sounds, TEST_MESSAGE, path)
    return with_programme(call_config, path), load_programme(path)


async def test_answered_line_known_woman_hears_her_message_then_changes_her_slot(
        call_config, sandbox, tmp_path):
    config, programme = line_programme(call_config, tmp_path)
    phone = "919000077"
    async with running(config, agi_port=0) as service:
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        sub = await schedule.enrol(woman_on(phone, now), now, actor="test")
        [latest] = [d.message_key for d in await schedule.deliveries_of(sub.id)][-1:]
        # her message (3 s in hi) plays whole; 3 at 4.5 s (at the menu), then slot 1
        await call_the_line(sandbox, tmp_path, service.controller.agi_url, "+" + phone,
                            [(4500, "3"), (2000, "1")], hang_up_after_ms=3000)
        [row] = await wait_for_row(service.store, 1)
        after = await schedule.subscriber(sub.id)
        audit = await service.store.fetchall(
            "SELECT actor, action FROM audit WHERE subscriber_id = ? AND action = 'change_slot'",
            (sub.id,))
    first_slot = programme.slots[0].name
    assert first_slot != "12-15"                       # woman_on's slot: a real change
    assert (row["kind"], row["subscriber_id"], row["did"]) == ("woman", sub.id, LINE_DID)
    assert (row["played"], row["done"], row["keys"], row["ended"]) == (
        "latest", f"slot:{first_slot}", "31", "hangup"), row
    assert after.slot == first_slot
    assert [tuple(a) for a in audit] == [("line", "change_slot")]
    assert phone not in row["caller"] and row["caller"].endswith(phone[-3:])
    assert latest                                      # she has a message to hear


async def test_answered_line_unknown_number_hears_why_and_reaches_the_call_centre(
        call_config, sandbox, tmp_path):
    config = replace(call_config, call_centre=True)
    async with running(config, agi_port=0) as service:
        # 0 during the explanation: the call centre (the sandbox's agent answers, hangs up)
        await call_the_line(sandbox, tmp_path, service.controller.agi_url, "+919000076",
                            [(1500, "0")], hang_up_after_ms=None)
        [row] = await wait_for_row(service.store, 1)
    assert (row["kind"], row["subscriber_id"], row["worker_id"]) == ("unknown", None, None)
    assert row["ended"] == "call_centre" and row["keys"] == "0"


QUESTIONS = """
[[question]]
key = "fever"
type = "yes_no"
track = "pregnancy"
prompts = { hi = "tq-fever", mr = "tq-fever", gu = "tq-fever", en = "tq-fever" }

[[question]]
key = "weight"
type = "number"
decimals = 1
min = 1.0
max = 30.0
track = "pregnancy"
prompts = { hi = "tq-weight", mr = "tq-weight", gu = "tq-weight", en = "tq-weight" }

[[followup]]
key = "fever"
question = "fever"
equals = "yes"
owner = "doctor"
due_days = 1
reason = "fever this week"
"""


async def test_answered_line_agent_keys_a_child_code_and_answers_her_questions(
        call_config, sandbox, tmp_path):
    for prompt in ("tq-fever", "tq-weight"):
        if not (call_config.sounds / "hi" / f"{prompt}.wav").exists():
            _tone(call_config.sounds / "hi" / f"{prompt}.wav", 0.3, 550)
    config, programme = line_programme(call_config, tmp_path, QUESTIONS)
    agent_phone = "919000075"
    async with running(config, agi_port=0) as service:
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        child = await schedule.enrol(woman_on("919000074", now), now, actor="test")
        other = await schedule.enrol(woman_on("919000073", now), now, actor="test")
        agent = await schedule.add_worker("Awa", agent_phone, "agent", now, actor="test")
        await schedule.assign(agent.id, child.id, now, actor="test")
        code = str(child.id)
        keys = [(1500, code[0])] + [(400, k) for k in code[1:]] + [(400, "#"),
                (2500, "1"),                                       # fever: yes
                (2500, "1"), (400, "2"), (400, "3"), (400, "#")]   # weight 12.3 kg
        await call_the_line(sandbox, tmp_path, service.controller.agi_url, "+" + agent_phone,
                            keys, hang_up_after_ms=3000)
        [row] = await wait_for_row(service.store, 1)
        answers = await schedule.answers_of(child.id)
        follow_ups = await schedule.follow_ups(subscriber_id=child.id)
        theirs = await schedule.answers_of(other.id)
    assert (row["kind"], row["worker_id"], row["subscriber_id"]) == ("agent", agent.id, child.id)
    assert row["done"] == f"child:{child.id}"
    assert sorted((a.question, a.value, a.attempt_id) for a in answers) == [
        ("fever", "1", None), ("weight", "12.3", None)]
    assert [(f.rule, f.owner_role.value) for f in follow_ups] == [("fever", "doctor")]
    assert theirs == []


async def test_answered_line_woman_says_her_baby_is_born_then_stops_the_calls(
        call_config, sandbox, tmp_path):
    config, programme = line_programme(call_config, tmp_path)
    phone = "919000072"
    async with running(config, agi_port=0) as service:
        schedule = ScheduleStore(service.store, programme)
        now = datetime.now(timezone.utc)
        sub = await schedule.enrol(woman_on(phone, now), now, actor="test")
        worker = await schedule.add_worker("Asha", "919000071", "health_worker", now,
                                           actor="test")
        await schedule.assign(worker.id, sub.id, now, actor="test")
        # 5 during her message, 1 confirms; 9 during "noted", 1 confirms: Asterisk hangs up
        await call_the_line(sandbox, tmp_path, service.controller.agi_url, phone,
                            [(1500, "5"), (1500, "1"), (2000, "9"), (1500, "1")],
                            hang_up_after_ms=None)
        [row] = await wait_for_row(service.store, 1)
        after = await schedule.subscriber(sub.id)
        [follow_up] = await schedule.follow_ups(subscriber_id=sub.id)
        audit = await service.store.fetchall(
            "SELECT actor, action FROM audit WHERE subscriber_id = ? AND actor = 'line' "
            "ORDER BY id", (sub.id,))
    assert (row["done"], row["ended"], row["keys"]) == ("birth opt_out", "opted_out", "5191"), row
    assert after.status.value == "opted_out"
    assert (follow_up.owner_role.value, follow_up.worker_id) == ("health_worker", worker.id)
    assert "born" in follow_up.reason
    assert [a["action"] for a in audit][-1] == "opt_out"
