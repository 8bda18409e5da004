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


@pytest.mark.parametrize("context", [C.CONTEXT_OUTBOUND, C.CONTEXT_AGI_FAILED, C.CONTEXT_MISSED_CALL])
def test_contexts_are_defined(context):
    assert f"[{context}]" in dialplan_text()


@pytest.mark.parametrize("name", [C.VAR_ATTEMPT_ID, C.VAR_AGI_TOKEN, C.VAR_LANG, C.VAR_AGI_URL, C.VAR_RESULT,
                                  C.USEREVENT_MISSED_CALL, f"/{C.AGI_ROUTE_CALL},"])
def test_names_are_used_by_the_dialplan(name):
    assert name in dialplan_text()


def test_sim_phones_live_in_the_sandbox_only():
    assert f"[{C.CONTEXT_SIM_PHONES}]" not in dialplan_text()
    sandbox = "\n".join(p.read_text(encoding="utf-8")
                        for p in (ROOT / "dialplan" / "sandbox").rglob("*.conf*"))
    assert f"[{C.CONTEXT_SIM_PHONES}]" in sandbox
