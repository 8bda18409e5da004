"""Issue 5, the in-call part, against the real sandbox Asterisk: replay, call centre, opt-out,
hang-up mid-message and a wrong key, each ending in the right stored state.  (The fallback
language is in test_call_outcomes.py.)

Every real call costs seconds, so the calls of this module are placed at once, by one
service, in one module fixture; each test then reads its own call's stored state and what
Asterisk itself reported running on that call (AMI AGIExecStart events).  The simulated
phones press their keys 3 s apart from 3 s after answer (README, sandbox phones).
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import pytest

from ivr import constants as C
from ivr.adapters.schedule_store import ScheduleStore
from ivr.adapters.store import CallRecord
from ivr.adapters.subscribers import find_live_subscriber
from ivr.agi_route import OPT_OUT_ACTOR, OPT_OUT_REASON
from ivr.app import Service, call_and_close, running
from ivr.config import Config, load_config
from ivr.controller import CallRequest
from ivr.protocol.ami import UserEvent
from scheduler.model import Attempt as ScheduledAttempt
from scheduler.model import CallbackRequest, Subscriber
from scheduler.outcome import Outcome
from scheduler.programme import load_programme
from tests.conftest import MESSAGE_SECONDS, TEST_MESSAGE
from tests.e2e.agi_events import AgiCommand, AgiLog, observer

pytestmark = pytest.mark.sandbox

# sim-phones numbers: 9190000 2 <keys> presses <keys>; 9190000 7 <N> hangs up after N s
REPLAY = "919000021"           # 1 during her message
OPT_OUT = "9190000291"         # 9 during her message, then 1 to confirm
CALL_CENTRE = "919000020"      # 0 during her message
HANGS_UP = "919000072"         # hangs up 2 s after answer: mid-message (0.3 s greeting + 3 s)
WRONG_KEY = "9190000255"       # 5 during her (4 s, Marathi) message: not a key there, ignored;
                               # then 5 at the menu: the "invalid" prompt and the menu again
LANGUAGE = {WRONG_KEY: "mr"}
OWNER = "test-incall"


@dataclass
class Batch:
    attempts: dict[str, CallRecord] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    commands: dict[str, list[AgiCommand]] = field(default_factory=dict)
    user_events: list[UserEvent] = field(default_factory=list)
    started: float = 0.0
    # the woman who opts out: her rows after the call, and what the scheduler does next
    subscriber: dict = field(default_factory=dict)
    deliveries: list[dict] = field(default_factory=list)
    callbacks: list[dict] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)
    live_after: Subscriber | None = None
    claimed_after: list[ScheduledAttempt] = field(default_factory=list)
    missed_call_after: CallbackRequest | None = None

    def attempt(self, number: str) -> CallRecord:
        if number in self.errors:
            raise self.errors[number]
        return self.attempts[number]


def _ours(service: Service, number: str):
    """Commands of our own live call to `number` (the sandbox is shared: other tests may
    call the same simulated numbers at the same time)."""
    def match(cmd: AgiCommand) -> bool:
        live = service.controller.live.get(cmd.attempt_id)
        return live is not None and live.channel_id == cmd.uniqueid and live.request.phone == number
    return match


async def _test_call(service: Service, number: str) -> CallRecord:
    request = CallRequest(phone=number, language=LANGUAGE.get(number, "hi"),
                          message_key=TEST_MESSAGE, trunk=service.config.trunk(), kind="test")
    return await call_and_close(service, request)


async def _replay_then_hang_up(service: Service, agi: AgiLog) -> CallRecord:
    """She presses 1 and hears her message a second time to the end; then the test hangs up
    (the rest of the call, two menu time-outs, would cost 11 s and is covered elsewhere)."""
    call = asyncio.ensure_future(_test_call(service, REPLAY))
    try:
        second = await agi.wait_ended(
            lambda c: _ours(service, REPLAY)(c) and c.plays(TEST_MESSAGE), 2, timeout=30)
        await service.controller.ami.hangup(second.channel)
        return await asyncio.wait_for(call, 30)
    finally:
        if not call.done():
            call.cancel()
            await asyncio.wait([call], timeout=10)


async def _opt_out_call(service: Service, now: datetime, batch: Batch) -> CallRecord:
    """The real path of a scheduled call: enrol her, claim her first message, place it,
    release it; then ask the scheduler for her next calls."""
    schedule = ScheduleStore(service.store, load_programme(service.config.programme))
    woman = await schedule.enrol(Subscriber(id=0, language="hi", slot="09-12", phone=OPT_OUT,
                                            lmp=now.date() - timedelta(weeks=12)),
                                 now, actor="test")
    due = min(d.next_attempt_at for d in await schedule.deliveries_of(woman.id)
              if d.next_attempt_at is not None)
    claimed = await schedule.claim(due, owner=OWNER, limit=10)
    assert [c.subscriber_id for c in claimed] == [woman.id], claimed
    attempt = claimed[0]
    request = CallRequest(phone=OPT_OUT, language="hi", message_key=TEST_MESSAGE,
                          trunk=service.config.trunk(), kind="scheduled", subscriber_id=woman.id,
                          delivery_id=attempt.delivery_id, number=attempt.number)
    report = await service.controller.place_call(request, attempt.id)
    await schedule.release(attempt.id, report.outcome, report.heard_share,
                           due + timedelta(minutes=1))
    # months later: nothing is due for her, and a missed call from her is not called back
    later = due + timedelta(days=90)
    await schedule.run_plans(later)
    batch.claimed_after = await schedule.claim(later, owner=OWNER, limit=100)
    batch.missed_call_after = await schedule.missed_call(woman.id, later)
    batch.claimed_after += await schedule.claim(later + timedelta(hours=1), owner=OWNER,
                                                limit=100)
    final = await service.store.attempt(attempt.id)
    assert final is not None
    return final


async def _run(config: Config, sandbox) -> Batch:
    batch = Batch()
    agi = AgiLog()
    async with running(config, agi_port=0) as service, observer(sandbox, config, agi):
        service.controller.ami.add_listener(
            lambda e: batch.user_events.append(e) if isinstance(e, UserEvent) else None)
        batch.started = service.controller.clock()
        now = datetime.fromtimestamp(batch.started, timezone.utc)
        jobs = {
            REPLAY: _replay_then_hang_up(service, agi),
            OPT_OUT: _opt_out_call(service, now, batch),
            CALL_CENTRE: _test_call(service, CALL_CENTRE),
            HANGS_UP: _test_call(service, HANGS_UP),
            WRONG_KEY: _test_call(service, WRONG_KEY),
        }
        results = await asyncio.wait_for(
            asyncio.gather(*jobs.values(), return_exceptions=True), 90)
        for number, result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                batch.errors[number] = result
            else:
                batch.attempts[number] = result
                batch.commands[number] = agi.commands(result.uniqueid)
        store = service.store
        subs = await store.fetchall("SELECT * FROM subscribers WHERE phone = ?", (OPT_OUT,))
        if subs:
            sub_id = subs[0]["id"]
            batch.subscriber = dict(subs[0])
            batch.deliveries = [dict(r) for r in await store.fetchall(
                "SELECT * FROM deliveries WHERE subscriber_id = ? ORDER BY id", (sub_id,))]
            batch.callbacks = [dict(r) for r in await store.fetchall(
                "SELECT * FROM callback_requests WHERE subscriber_id = ?", (sub_id,))]
            batch.audit = [dict(r) for r in await store.fetchall(
                "SELECT * FROM audit WHERE subscriber_id = ? ORDER BY id", (sub_id,))]
            batch.live_after = await find_live_subscriber(store, OPT_OUT)
    return batch


@pytest.fixture(scope="module")
def batch(sandbox, test_sounds, tmp_path_factory) -> Batch:
    cfg = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    cfg = replace(cfg, database=tmp_path_factory.mktemp("incall") / "ivr.db", sounds=test_sounds,
                  trunks=tuple(replace(t, ring_timeout=4.0) for t in cfg.trunks),
                  call_centre=True)
    return asyncio.run(_run(cfg, sandbox))


def _script(commands: list[AgiCommand]) -> list[str]:
    """The call as Asterisk ran it: 'play <sound>' / 'ask <sound>' / 'set <value>'."""
    out = []
    for c in commands:
        words = c.command.split()
        if c.verb == "STREAM FILE":
            out.append("play " + words[2].rsplit("/", 1)[-1])
        elif c.verb == "GET DATA":
            out.append("ask " + words[2].rsplit("/", 1)[-1])
        elif c.verb == "SET VARIABLE" and words[2] == C.VAR_RESULT:
            out.append("set " + words[3])
    return out


def test_replay_plays_her_message_again_to_the_end(batch):
    a = batch.attempt(REPLAY)
    assert a.outcome is Outcome.ANSWERED
    assert (a.keys, a.plays) == ("1", 2)
    assert a.heard_share == pytest.approx(1.0, abs=0.02)
    assert a.heard_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.05)
    script = _script(batch.commands[REPLAY])
    assert script[:3] == ["play ivr-greeting", f"play {TEST_MESSAGE}", f"play {TEST_MESSAGE}"]
    assert a.ended == "hangup"           # the test hung up once the second play had ended


def test_opt_out_is_stored_before_the_call_ends_and_stops_every_further_call(batch):
    a = batch.attempt(OPT_OUT)
    assert a.outcome is Outcome.ANSWERED and a.kind == "scheduled"
    assert (a.keys, a.ended) == ("91", "opted_out")
    assert _script(batch.commands[OPT_OUT])[-3:] == [
        f"ask {C.PROMPT_OPTOUT_CONFIRM}", f"play {C.PROMPT_OPTOUT_DONE}", "set opted_out"]
    sub = batch.subscriber
    assert (sub["status"], sub["status_reason"]) == ("opted_out", OPT_OUT_REASON)
    # recorded during the call: after it was answered, before the controller saw it end
    assert a.answered_at < sub["updated_at"] < a.ended_at
    assert batch.live_after is None      # no active record for her number any more
    # the scheduler will not call her again: nothing claimable months later, no callback
    assert batch.claimed_after == []
    assert batch.missed_call_after is None
    # the message she was called for is cancelled, not retried (release kept it so)
    assert [(d["id"], d["status"], d["next_attempt_at"]) for d in batch.deliveries] == [
        (a.delivery_id, "cancelled", None)]
    assert not [c for c in batch.callbacks if c["status"] == "pending"], batch.callbacks
    # the audit trail: who, when, on which call and channel (her number masked in it)
    row = [r for r in batch.audit if r["action"] == "opt_out"]
    assert len(row) == 1
    assert (row[0]["actor"], row[0]["at"]) == (OPT_OUT_ACTOR, sub["updated_at"])
    detail = json.loads(row[0]["detail"])
    assert (detail["attempt"], detail["via"]) == (a.id, "key")
    assert (detail["previous_status"], detail["status"]) == ("active", "opted_out")
    assert detail["channel"].startswith("Local/") and detail["channel"].endswith(";1")
    assert OPT_OUT not in detail["channel"] and OPT_OUT[-3:] in detail["channel"]


def test_hang_up_mid_message_is_a_partial_listen_not_a_failure(batch):
    a = batch.attempt(HANGS_UP)
    assert a.outcome is Outcome.ANSWERED and a.reason == 4
    assert (a.ended, a.keys, a.plays) == ("hangup", "", 1)
    # 2 s after answer, less the 0.3 s greeting: about 1.7 s of the 3 s message
    assert 1.0 < a.heard_seconds < 2.2
    assert a.heard_share == pytest.approx(a.heard_seconds / MESSAGE_SECONDS["hi"], abs=0.01)
    assert _script(batch.commands[HANGS_UP])[-1] == f"play {TEST_MESSAGE}"


def test_wrong_key_gets_the_invalid_prompt_then_the_menu_again(batch):
    a = batch.attempt(WRONG_KEY)
    assert a.outcome is Outcome.ANSWERED
    assert a.language_played == "mr"
    # the 5 during the message was not a key
    assert (a.keys, a.ended, a.plays) == ("5", "no_input", 1)
    assert a.heard_share == pytest.approx(1.0, abs=0.02)
    assert _script(batch.commands[WRONG_KEY]) == [
        "play ivr-greeting", f"play {TEST_MESSAGE}", f"ask {C.PROMPT_MENU}",
        f"play {C.PROMPT_INVALID}", f"ask {C.PROMPT_MENU}", f"play {C.PROMPT_GOODBYE}",
        "set no_input"]


def test_call_centre_transfers_her_to_an_agent(batch):
    a = batch.attempt(CALL_CENTRE)
    assert a.outcome is Outcome.ANSWERED
    assert (a.keys, a.ended) == ("0", "call_centre")
    assert _script(batch.commands[CALL_CENTRE])[-2:] == [
        f"play {C.PROMPT_CALL_CENTRE}", "set call_centre"]
    # the sandbox's simulated agent answered her call (its channel inherits the attempt id and
    # shares the call's linkedid, our channel's uniqueid) ...
    answered = [e for e in batch.user_events if e.name == C.USEREVENT_SIM_AGENT
                and e.headers.get("Linkedid") == a.uniqueid]
    assert len(answered) == 1, batch.user_events
    assert answered[0].headers.get(C.VAR_ATTEMPT_ID) == str(a.id)
    # ... and the call-centre context saw the Dial answered
    dialled = [e for e in batch.user_events if e.name == C.USEREVENT_CALL_CENTRE
               and e.headers.get("Uniqueid") == a.uniqueid]
    assert [e.headers.get("DialStatus") for e in dialled] == ["ANSWER"], batch.user_events
    # the agent talked to her (3 s) after the IVR had finished: the call outlasts the flow
    assert a.ended_at - a.answered_at > 6.0
