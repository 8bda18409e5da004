"""The controller's AMI user (ivr.toml; dialplan/ami/ivr-manager.conf's template) can do
exactly what the controller does, and cannot do what an attacker with its secret would want."""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from ivr import constants as C
from tests.sandbox.test_calls import TEST_CONTEXT

pytestmark = pytest.mark.sandbox

ALLOWED_CLASSES = {"call", "user", "reporting", "all"}


def reply_of(reply) -> dict:
    """panoramisk answers a single Message, or a list for actions that send event lists."""
    first = reply[0] if isinstance(reply, list) else reply
    return {k: v for k, v in first.items() if k != "content"}


async def test_the_controllers_actions_are_allowed(controller_ami):
    ami = controller_ami
    assert reply_of(await ami.send({"Action": "Ping"}))["Response"] == "Success"
    attempt = f"rights-{uuid.uuid4().hex[:8]}"
    answered = asyncio.ensure_future(ami.originate(
        attempt, f"Local/9190000812@{C.CONTEXT_SIM_PHONES}", context=TEST_CONTEXT,
        exten="listen", variables=(f"{C.VAR_ATTEMPT_ID}={attempt}", "LISTEN_SECONDS=20"),
        channel_id=f"ivr-{attempt}"))
    try:
        response = await asyncio.wait_for(answered, 15)
        assert response["Event"] == "OriginateResponse" and response["Reason"] == "4"
        channels = await ami.send({"Action": "CoreShowChannels"})
        assert isinstance(channels, list), channels
        assert response["Channel"] in {c.get("Channel") for c in channels}
        getvar = reply_of(await ami.send({"Action": "Getvar", "Variable": C.GLOBAL_AGI_URL}))
        assert getvar["Response"] == "Success" and getvar["Value"].startswith("agi://127.0.0.1:")
        plan = await ami.send({"Action": "ShowDialPlan", "Context": C.CONTEXT_OUTBOUND})
        assert isinstance(plan, list) and any(e.get("Application") == "AGI" for e in plan)
        cut = reply_of(await ami.send({"Action": "Hangup", "Channel": response["Channel"],
                                       "Cause": "16"}))
        assert cut["Response"] == "Success", cut
        gone = await ami.wait_for(lambda e: e.get("Event") == "Hangup"
                                  and e.get("Channel") == response["Channel"], 10)
        assert f"{C.VAR_ATTEMPT_ID}={attempt}" in str(gone.get("ChanVariable"))
    finally:
        if not answered.done():
            answered.cancel()


async def test_it_hears_user_events_but_only_its_classes(controller_ami):
    did = f"1800{uuid.uuid4().int % 10**6:06d}"
    await controller_ami.originate(f"rights-{did}", f"Local/{did}@{C.CONTEXT_MISSED_CALL}",
                                   context=TEST_CONTEXT, timeout_ms=5000,
                                   variables=(f"__{C.GLOBAL_MISSED_SPOOL}=",),
                                   caller_id="919876543210")
    event = await controller_ami.wait_for(lambda e: e.get("Event") == "UserEvent"
                                          and e.get("UserEvent") == C.USEREVENT_MISSED_CALL
                                          and e.get("Channel", "").startswith(f"Local/{did}@"), 10)
    assert event.get(C.HEADER_MISSED_CALL_FILE, "") == ""     # no spool: nothing written
    classes = set()
    for e in controller_ami.events:
        classes |= {c.strip() for c in str(e.get("Privilege", "all")).split(",")}
    assert classes <= ALLOWED_CLASSES, f"events of other classes reached it: {classes}"


async def test_it_hears_only_the_events_it_acts_on(controller_ami, ami):
    """manager.conf eventfilter: Hangup of its own channels, our UserEvents, OriginateResponse;
    nothing else (Newchannel, NewCallerid, VarSet... carry a raw caller ID)."""
    ours, other = f"ivr-filter-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    for channel_id in (ours, other):
        response = await controller_ami.originate(
            channel_id, f"Local/9190000812@{C.CONTEXT_SIM_PHONES}", context=TEST_CONTEXT,
            exten="listen", variables=("LISTEN_SECONDS=1",), channel_id=channel_id)
        assert response["Reason"] == "4"
    # the test observer (no filter) sees both calls end; by then the controller's user has
    # had every event of them it will get
    for channel_id in (ours, other):
        await ami.wait_for(lambda e, u=channel_id: e.get("Event") == "Hangup"
                           and e.get("Uniqueid") == u, 15)
    await controller_ami.wait_for(lambda e: e.get("Event") == "Hangup"
                                  and e.get("Uniqueid") == ours, 5)
    names = {str(e.get("Event")) for e in controller_ami.events}
    assert names <= {"Hangup", "UserEvent", "OriginateResponse"}, names
    hangups = {str(e.get("Uniqueid")) for e in controller_ami.events if e.get("Event") == "Hangup"}
    assert ours in hangups and all(u.startswith("ivr-") for u in hangups), hangups
    observed = {str(e.get("Event")) for e in ami.events}
    assert {"Newchannel", "Newexten"} <= observed          # they happened: filtered, not absent


@pytest.mark.parametrize("action,why", [
    ({"Action": "Command", "Command": "core show version"}, "Permission denied"),
    ({"Action": "ModuleLoad", "Module": "app_system.so", "LoadType": "load"},
     "Permission denied"),
    ({"Action": "ModuleCheck", "Module": "res_agi.so"}, "Permission denied"),
    ({"Action": "Reload"}, "Permission denied"),
    ({"Action": "UpdateConfig", "SrcFilename": "manager.conf", "DstFilename": "manager.conf"},
     "Permission denied"),
    ({"Action": "GetConfig", "Filename": "manager.conf"}, "Permission denied"),
])
async def test_admin_actions_are_refused(controller_ami, action, why):
    reply = reply_of(await controller_ami.send(action))
    assert reply["Response"] == "Error" and why in reply["Message"], reply


@pytest.mark.parametrize("application", ["System", "TrySystem", "Exec", "ExecIf", "Originate"])
async def test_originate_into_a_shell_needs_system(controller_ami, tmp_path, application):
    target = tmp_path / "pwned"
    data = (f"System(touch {target})" if application.startswith("Exec")
            else f"touch {target}")
    reply = reply_of(await controller_ami.send({
        "Action": "Originate", "ActionID": f"rights-{uuid.uuid4().hex[:8]}",
        "Channel": f"Local/9190000112@{C.CONTEXT_SIM_PHONES}", "Application": application,
        "Data": data, "Async": "false", "Timeout": "5000"}, wait=15))
    # Asterisk 22: "Originate Access Forbidden: app or data blacklisted" (needs "system")
    assert reply["Response"] == "Error" and "Forbidden" in reply["Message"], reply
    assert not target.exists()


async def test_dangerous_functions_cannot_be_set_from_ami(controller_ami, tmp_path):
    target: Path = tmp_path / "written"
    reply = reply_of(await controller_ami.send({"Action": "Setvar",
                                                 "Variable": f"FILE({target})",
                                                 "Value": "pwned"}))
    assert reply["Response"] == "Error" or not target.exists()
    assert not target.exists()


def test_the_sandbox_uses_the_production_template(sandbox):
    rendered = (sandbox.etc / "manager.conf").read_text()
    template = Path(__file__).resolve().parents[2] / "dialplan" / "ami" / "ivr-manager.conf"
    assert f'#include "{template}"' in rendered
    shown = sandbox.cli("manager show user ivr")
    assert "read perm: call,user,reporting" in shown
    assert "write perm: call,reporting,originate" in shown
    assert "system" not in shown and "command" not in shown
