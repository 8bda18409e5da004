"""`ivr dialplan check` (pure part): the shipped files pass; each kind of breakage is named."""
from __future__ import annotations

from pathlib import Path

import pytest

from ivr import constants as C
from ivr import flow, missed_fallback
from ivr.dialplan.check import check_dialplan, check_manager
from ivr.dialplan.parse import inline_includes, parse_dialplan

ROOT = Path(__file__).resolve().parents[2]
DIALPLAN = ROOT / "dialplan"
TEMPLATE = DIALPLAN / "ami" / "ivr-manager.conf"


def shipped() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DIALPLAN.glob("*.conf"))}


def messages(files: dict[str, str]) -> str:
    return "\n".join(str(p) for p in check_dialplan(files))


def broken(name: str, old: str, new: str) -> dict[str, str]:
    files = shipped()
    assert old in files[name], f"the test's anchor {old!r} is not in {name} any more"
    files[name] = files[name].replace(old, new, 1)
    return files


def test_the_shipped_files_pass():
    assert check_dialplan(shipped()) == []


def test_the_shipped_manager_template_passes():
    assert check_manager(str(TEMPLATE), TEMPLATE.read_text()) == []


def test_names_shared_with_the_code_agree():
    assert C.RESULT_CALL_CENTRE == flow.ENDED_CALL_CENTRE
    assert missed_fallback.VAR_MISSED_CALL_FILE == C.VAR_MISSED_CALL_FILE
    assert missed_fallback.TEST_HOLD_ENV == C.VAR_MISSED_FALLBACK_TEST_HOLD
    assert missed_fallback.SCRIPT_NAME == C.AGI_SCRIPT_MISSED_CALL


@pytest.mark.parametrize("name,old,new,expected", [
    ("ivr-outbound.conf", "\n[ivr-outbound]\n", "\n[ivr-outbund]\n",
     "context [ivr-outbound] is missing"),
    ("ivr-outbound.conf", "${IVR_ATTEMPT_ID})\n same => n,GotoIf",
     "${IVR_ATEMPT_ID})\n same => n,GotoIf", "IVR_ATEMPT_ID is not a name of ivr/constants.py"),
    ("ivr-outbound.conf", "/call,${IVR_ATTEMPT_ID})\n",
     "/call,${IVR_ATTEMPT_ID},${IVR_AGI_TOKEN})\n", "IVR_AGI_TOKEN must not appear in a step"),
    ("ivr-outbound.conf", "n,AGI(${IVR_AGI_URL}/call,", "n,AGI(${IVR_AGI_URL}/cal,",
     "FastAGI route 'cal' is not in"),
    ("ivr-outbound.conf", '"call_centre"', '"callcentre"',
     "[ivr-outbound] no longer transfers to ivr-call-centre"),
    ("ivr-outbound.conf", "?ivr-agi-failed,s,1", "?ivr-agi-failed,s,99",
     "goes to priority 99 that s@ivr-agi-failed does not have"),
    ("ivr-fallback.conf", "UserEvent(IvrAgiFailed,", "UserEvent(IvrAgiFail,",
     "UserEvent 'IvrAgiFail' is not in ivr/constants.py"),
    ("ivr-fallback.conf", "]?sorry)", "]?sory)", "goes to label 'sory' that s@ivr-apology"),
    ("ivr-fallback.conf", '"${IVR_SERVED}" != "1"', '"${IVR_SERVED}" = "1"',
     "[ivr-agi-failed] no longer apologises only (never her message) when the route never"),
    ("ivr-fallback.conf", "${IVR_SERVED}", "${IVR_SERVE}", "IVR_SERVE is not a name"),
    ("ivr-call-centre.conf", "Dial(${IVR_CALL_CENTRE},", "Dial(${IVR_CALLCENTRE},",
     "IVR_CALLCENTRE is not a name"),
    ("ivr-call-centre.conf", "Goto(ivr-apology,s,1)", "Goto(ivr-sorry,s,1)",
     "goes to context [ivr-sorry], which no checked file defines"),
    ("ivr-missed-call.conf", " same => n,Ringing()", " same => n,Answer()",
     "[ivr-missed-call] must never answer, but runs Answer()"),
    ("ivr-missed-call.conf", "n,Hangup(21)", "n,Hangup(16)", "rejects the call (cause 21)"),
    ("ivr-missed-call.conf", "exten => h,1,GotoIf", "exten => hh,1,GotoIf",
     "[ivr-missed-call] has no h extension"),
    ("ivr-missed-call.conf", " same => n,Set(AGISIGHUP=no)\n", "",
     "keeps the script alive when she hangs up"),
    ("ivr-missed-call.conf", "AGI(ivr-missed-call-fallback,", "AGI(missed-fallback,",
     "AGI script 'missed-fallback' is not in"),
    ("ivr-missed-call.conf", "fallback,${IVR_MISSED_SPOOL},${DID_DIGITS})\n ; no file",
     "fallback,${IVR_MISSED_SPOOL},${CALLER_DIGITS})\n ; no file",
     "her number must not be an AGI argument"),
    ("ivr-missed-call.conf", "MissedCallFile: ${IVR_MISSED_CALL_FILE}",
     "MissedCallFile: ${IVR_MISSED_CALL_FILE},Caller: ${CALLER_DIGITS}",
     "no longer tells the controller (IvrMissedCall"),
    ("ivr-missed-call.conf", "exten => _X.,1,", "exten => 18001234567,1,",
     "has no pattern extension"),
    ("ivr-missed-call.conf", "exten => _X.,1,", "exten => _X.,2,", "does not start at priority 1"),
    ("ivr-inbound.conf", "n,AGI(${IVR_AGI_URL}/inbound,", "n,AGI(${IVR_AGI_URL}/inbond,",
     "FastAGI route 'inbond' is not in"),
    ("ivr-inbound.conf", "/inbound,${DID_DIGITS})", "/inbound,${CALLERID(num)})",
     "her number must not be an AGI argument"),
    ("ivr-inbound.conf", "/inbound,${DID_DIGITS})", "/inbound,${DID_DIGITS},${IVR_LINE_SECRET})",
     "IVR_LINE_SECRET must not appear in a step"),
    ("ivr-inbound.conf", " same => n,Answer()\n",
     " same => n,Set(LINE=${IVR_LINE_SECRET})\n same => n,Answer()\n",
     "IVR_LINE_SECRET must not appear in a step"),
    ("ivr-inbound.conf", " same => n,Answer()\n", "",
     "[ivr-inbound] no longer answers the call"),
    ("ivr-inbound.conf", '"FAILURE"]?ivr-apology', '"FAILURE"]?ivr-outbound',
     "[ivr-inbound] no longer goes to ivr-apology"),
    ("ivr-inbound.conf", '"call_centre"]?ivr-call-centre', '"callcentre"]?ivr-call-centre',
     "[ivr-inbound] no longer transfers to ivr-call-centre"),
])
def test_each_breakage_is_reported(name, old, new, expected):
    assert expected in messages(broken(name, old, new))


def test_the_fallback_must_test_the_route_had_her_call_before_any_playback():
    """Case (a): a call the route never had hears the apology only (her answer may be
    unwritten: she is called again); the test moved after a Playback is reported."""
    files = shipped()
    text = files["ivr-fallback.conf"]
    served = ' same => n,GotoIf($["${IVR_SERVED}" != "1"]?apology)\n'
    assert served in text
    text = text.replace(served, "").replace(" same => n(play),", served + " same => n(play),")
    files["ivr-fallback.conf"] = text
    assert ("[ivr-agi-failed] plays before it tests IVR_SERVED" in messages(files))
    assert not [p for p in check_dialplan(shipped()) if "IVR_SERVED" in p.message]


def test_a_file_without_header_is_reported():
    files = shipped()
    text = files["ivr-fallback.conf"]
    files["ivr-fallback.conf"] = text[text.index("[ivr-agi-failed]"):]
    assert "ivr-fallback.conf:1: no header comment" in messages(files)


def test_a_header_must_name_what_the_file_uses():
    files = {**shipped(), "extra.conf": "; extra.conf: [ivr-extra]\n[ivr-extra]\n"
                                        "exten => s,1,Playback(${IVR_SOUNDS}/x)\n"}
    assert "extra.conf:1: the header does not mention IVR_SOUNDS" in messages(files)


def test_unreadable_lines_and_duplicate_contexts_are_reported():
    files = shipped()
    files["extra.conf"] = "; extra: [ivr-apology]\n[ivr-apology]\nexten => s,1,NoOp()\nbogus\n"
    out = messages(files)
    assert "context [ivr-apology] is defined again" in out and "cannot read this line" in out


def test_the_sandbox_only_event_is_refused_in_production():
    files = broken("ivr-fallback.conf", "UserEvent(IvrAgiFailed,",
                   f"UserEvent({C.USEREVENT_SIM_AGENT},")
    assert f"UserEvent {C.USEREVENT_SIM_AGENT!r} is not in" in messages(files)


def test_the_sandbox_dialplan_passes_in_sandbox_mode():
    text = (DIALPLAN / "sandbox" / "extensions.conf").read_text()
    files = {**shipped(), "sandbox.conf": text.split("#include", 1)[0].replace("@", "")
             + text[text.index("[sandbox-from-carrier]"):]}
    found = [p for p in check_dialplan(files, sandbox=True) if p.path == "sandbox.conf"]
    assert [p.message for p in found if "header" not in p.message] == []


def test_parser_reads_labels_and_priorities():
    plan = parse_dialplan(shipped())
    steps = plan.contexts[C.CONTEXT_APOLOGY].extens()["s"]
    assert [(s.priority, s.label, s.app) for s in steps] == [
        (1, None, "GotoIf"), (2, None, "Hangup"), (3, "sorry", "Playback"), (4, None, "Hangup")]


# ------------------------------------------------------------------------- manager.conf
def manager(text: str, user: str | None = None) -> str:
    return "\n".join(str(p) for p in check_manager("manager.conf", text, user))


GOOD = TEMPLATE.read_text()


@pytest.mark.parametrize("old,new,expected", [
    ("read = call,user,reporting", "read = call,user,reporting,system",
     "read has 'system', which the controller does not need (dangerous"),
    ("write = call,originate,reporting", "write = call,originate,reporting,command",
     "write has 'command'"),
    ("write = call,originate,reporting", "write = all", "write lacks 'originate'"),
    ("read = call,user,reporting", "read = call,reporting", "read lacks 'user'"),
    ("deny = 0.0.0.0/0.0.0.0\n", "", "needs deny = 0.0.0.0/0.0.0.0"),
    ("permit = 127.0.0.1/255.255.255.255", "permit = 0.0.0.0/0.0.0.0", "permits 0.0.0.0"),
    ("permit = 127.0.0.1/255.255.255.255", "permit = 8.8.8.8/255.255.255.255", "permits 8.8.8.8"),
])
def test_manager_rights_are_exact(old, new, expected):
    assert old in GOOD
    assert expected in manager(GOOD.replace(old, new))


def test_a_deployed_manager_conf_with_include_and_general(tmp_path):
    conf = tmp_path / "manager.conf"
    conf.write_text(f'[general]\nenabled = yes\nbindaddr = 0.0.0.0\n\n#include "{TEMPLATE}"\n'
                    "[ivr](ivr-controller)\nsecret = s3cret-s3cret\n"
                    "[admin]\nsecret = x\nread = all\nwrite = all\n")
    text = inline_includes(str(conf), lambda p: Path(p).read_text())
    out = manager(text, "ivr")
    assert "bindaddr 0.0.0.0" in out and f"channelvars must include {C.VAR_ATTEMPT_ID}" in out
    assert "[ivr]" not in out and "[admin]" not in out           # only the controller's user
    fixed = text.replace("bindaddr = 0.0.0.0",
                         f"bindaddr = 127.0.0.1\nchannelvars = {C.VAR_ATTEMPT_ID}")
    assert manager(fixed, "ivr") == ""
    assert "no AMI user [controller]" in manager(fixed, "controller")
    own = fixed.replace("secret = s3cret-s3cret", "secret = s3cret-s3cret\nwrite = all")
    assert "[ivr] write has 'all'" in manager(own, "ivr")


def test_include_loops_are_refused(tmp_path):
    a = tmp_path / "a.conf"
    a.write_text('#include "a.conf"\n')
    with pytest.raises(ValueError, match="nested too deep"):
        inline_includes(str(a), lambda p: Path(p).read_text())
