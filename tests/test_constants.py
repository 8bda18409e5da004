"""The names shared with Asterisk (ivr/constants.py) appear in the files of dialplan/."""
from pathlib import Path

import pytest

from ivr import constants as C

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = sorted((ROOT / "dialplan").glob("*.conf"))


def dialplan_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in PRODUCTION)


def test_there_are_production_dialplan_files():
    assert PRODUCTION, "dialplan/*.conf missing"


@pytest.mark.parametrize("context", [C.CONTEXT_OUTBOUND, C.CONTEXT_AGI_FAILED, C.CONTEXT_INBOUND,
                                     C.CONTEXT_MISSED_CALL])
def test_contexts_are_defined(context):
    assert f"[{context}]" in dialplan_text()


@pytest.mark.parametrize("name", [C.VAR_ATTEMPT_ID, C.VAR_AGI_TOKEN, C.VAR_LANG, C.VAR_AGI_URL,
                                  C.VAR_RESULT, C.USEREVENT_MISSED_CALL, f"/{C.AGI_ROUTE_CALL},",
                                  f"/{C.AGI_ROUTE_INBOUND},"])
def test_names_are_used_by_the_dialplan(name):
    assert name in dialplan_text()


def test_sim_phones_live_in_the_sandbox_only():
    assert f"[{C.CONTEXT_SIM_PHONES}]" not in dialplan_text()
    sandbox = "\n".join(p.read_text(encoding="utf-8")
                        for p in (ROOT / "dialplan" / "sandbox").rglob("*.conf*"))
    assert f"[{C.CONTEXT_SIM_PHONES}]" in sandbox


def test_every_user_event_of_the_dialplan_is_in_the_header_table():
    """An AMI UserEvent with a header USER_EVENT_HEADERS does not list is refused by the
    controller (ivr/protocol/ami.py): the table and the dialplan must agree."""
    import re
    files = PRODUCTION + sorted((ROOT / "dialplan" / "sandbox").rglob("*.conf*"))
    seen = {}
    for path in files:
        for m in re.finditer(r"UserEvent\(([A-Za-z]+)((?:,[^\n]*)?)\)\s*$",
                             path.read_text(encoding="utf-8"), re.M):
            seen[m.group(1)] = tuple(re.findall(r",\s*([A-Za-z_][\w-]*):", m.group(2)))
    ours = {name: headers for name, headers in seen.items() if name.startswith("Ivr")}
    assert ours == {name: tuple(h) for name, h in C.USER_EVENT_HEADERS.items()}
