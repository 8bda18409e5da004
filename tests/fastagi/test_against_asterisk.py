"""Our FastAGI server and the in-call flow against the REAL sandbox Asterisk: simulated
phones that listen, press 1, opt out with 9 then 1, or hang up mid-message each give the
right CallResult, and IVR_RESULT is really set on the channel.  All calls run at once
(about 12 s of wall time)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ivr import constants as C
from ivr.adapters.fastagi import AgiSession, FastAgiServer, run_flow
from ivr.config import load_config
from ivr.flow import CallFlow, CallPlan, CallResult
from tests.fastagi.sim import ami, make_sounds, originate

pytestmark = pytest.mark.sandbox

MESSAGE_SECONDS = 4.0
PROMPT_SECONDS = 0.3


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> Path:
    lengths = {"msg": MESSAGE_SECONDS, **{p: PROMPT_SECONDS for p in C.PROMPTS}}
    return make_sounds(tmp_path_factory.mktemp("sounds"), "hi", lengths)


def plan_for(sounds: Path, attempt_id: int, **kw) -> CallPlan:
    prompts = {p: str(sounds / p) for p in C.PROMPTS}
    prompts.update(kw.pop("prompts", {}))
    base = dict(attempt_id=attempt_id, message=str(sounds / "msg"),
                message_seconds=MESSAGE_SECONDS, language="hi", prompts=prompts,
                call_centre=False, menu_timeout_ms=1500)
    base.update(kw)
    return CallPlan(**base)


# attempt id -> (number of the simulated phone, plan overrides)
CALLS = {
    1: ("919000011", {}),                                   # answers, presses nothing
    2: ("9190000211", {}),                                  # presses 1 at 3 s and 6 s
    3: ("9190000291", {"menu_timeout_ms": 4000}),           # 9 at 3 s, then 1 at 6 s
    4: ("9190000703", {}),                                  # hangs up 3 s after answering
    5: ("919000012", {"prompts": {C.PROMPT_GREETING: "/nonexistent/greeting"}}),
}


async def test_simulated_phones_give_the_right_call_results(sandbox, sounds):
    config = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    loop = asyncio.get_running_loop()
    results: dict[int, asyncio.Future[tuple[CallResult, str | None]]] = {
        i: loop.create_future() for i in CALLS}

    async def recorded() -> bool:
        return True

    async def handler(session: AgiSession) -> None:
        attempt_id = int(session.request.args[0])
        assert session.request.route == C.AGI_ROUTE_CALL
        try:
            plan = plan_for(sounds, attempt_id, **dict(CALLS[attempt_id][1]))
            result = await run_flow(session, CallFlow(plan), record_opt_out=recorded)
            # GET VARIABLE works on a dead channel too: what did the flow leave for the dialplan?
            reply = await session.command("GET", "VARIABLE", C.VAR_RESULT)
            results[attempt_id].set_result((result, reply.data if reply.result == "1" else None))
        except Exception as e:
            results[attempt_id].set_exception(e)
            raise

    async with FastAgiServer(handler, port=0) as server, ami(config.ami) as manager:
        responses = await asyncio.wait_for(asyncio.gather(*(
            originate(manager, digits, i, server.url) for i, (digits, _) in CALLS.items())), 30)
        assert [r.get("Reason") for r in responses] == ["4"] * len(CALLS)
        done = await asyncio.wait_for(asyncio.gather(*results.values()), 60)
    got = dict(zip(CALLS, done, strict=True))

    listened, variable = got[1]
    assert (listened.ended, listened.plays, listened.keys) == ("no_input", 1, "")
    assert listened.heard_seconds == pytest.approx(MESSAGE_SECONDS, abs=0.01)
    assert listened.heard_share == pytest.approx(1.0, abs=0.005)
    assert variable == "no_input"

    replayed, variable = got[2]
    assert replayed.keys == "11" and replayed.plays == 3     # 1 interrupted plays 1 and 2
    assert replayed.heard_share == pytest.approx(1.0, abs=0.005)
    assert not replayed.opted_out and variable == replayed.ended

    opted, variable = got[3]
    assert opted.opted_out and opted.ended == "opted_out" and opted.keys == "91"
    assert 0.0 < opted.heard_share < 1.0          # 9 interrupted the message
    assert variable == "opted_out"

    hung, variable = got[4]
    assert hung.ended == "hangup" and hung.plays == 1 and not hung.opted_out
    assert 1.5 < hung.heard_seconds < 3.0          # a partial listen, from Asterisk's endpos
    assert 0.3 < hung.heard_share < 0.75
    assert variable is None                        # not set after a hang-up

    missing_greeting, variable = got[5]            # a missing prompt does not end the call
    assert missing_greeting.ended == "no_input" and missing_greeting.heard_share == pytest.approx(
        1.0, abs=0.005)
    assert variable == "no_input"
