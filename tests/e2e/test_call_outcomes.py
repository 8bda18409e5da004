"""One call end to end against the real sandbox Asterisk: every simulated phone behaviour
gives the right stored outcome; the language of the woman picks the file Asterisk plays."""
from __future__ import annotations

import asyncio

import pytest

from ivr.app import place_test_call, running
from scheduler.outcome import Outcome
from tests.conftest import MESSAGE_SECONDS, TEST_MESSAGE

pytestmark = pytest.mark.sandbox

# number (E.164 digits of the sim-phones network) -> what must be stored
BEHAVIOURS = {
    "919000011": dict(outcome=Outcome.ANSWERED, ended="no_input", full=True),   # answers, listens
    "919000021": dict(outcome=Outcome.ANSWERED, keys="1", full=True),           # presses 1: replay
    "919000031": dict(outcome=Outcome.BUSY),
    "919000041": dict(outcome=Outcome.NO_ANSWER),
    "919000051": dict(outcome=Outcome.CONGESTION),
    "919000061": dict(outcome=Outcome.REJECTED),
    "919000072": dict(outcome=Outcome.ANSWERED, ended="hangup", full=False),    # hangs up after 2 s
    "919000081": dict(outcome=Outcome.ANSWERED, ended="no_input", full=True),   # stays on
}


async def test_every_simulated_phone_gives_the_right_stored_outcome(call_config):
    async with running(call_config, agi_port=0) as service:
        attempts = await asyncio.wait_for(asyncio.gather(*(
            place_test_call(service, to=number, language="hi", message=TEST_MESSAGE)
            for number in BEHAVIOURS)), 120)
    by_number = {a.phone: a for a in attempts}
    for number, want in BEHAVIOURS.items():
        a = by_number[number]
        assert a.outcome is want["outcome"], (number, a)
        assert a.started_at and a.ended_at and a.ended_at >= a.started_at
        if want["outcome"] is Outcome.ANSWERED:
            assert a.answered_at is not None and a.reason == 4, (number, a)
            assert a.message_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.05)
            if want.get("full"):
                assert a.heard_share == pytest.approx(1.0, abs=0.02), (number, a)
            else:
                assert a.heard_share < 0.99, (number, a)
            if "ended" in want:
                assert a.ended == want["ended"], (number, a)
            if "keys" in want:
                assert want["keys"] in (a.keys or ""), (number, a)
        else:
            assert a.answered_at is None and a.heard_seconds is None, (number, a)
    # the hang-up 2 s after answer, during a 3 s message (greeting first) is a partial listen,
    # not a failure
    assert by_number["919000072"].heard_seconds < MESSAGE_SECONDS["hi"]
    # causes as Asterisk reported them on the dialled leg
    assert by_number["919000031"].cause == 17
    assert by_number["919000061"].cause == 21


async def test_hindi_and_marathi_women_hear_different_files(call_config):
    async with running(call_config, agi_port=0) as service:
        hi, mr = await asyncio.wait_for(asyncio.gather(
            place_test_call(service, to="919000011", language="hi", message=TEST_MESSAGE),
            place_test_call(service, to="919000012", language="mr", message=TEST_MESSAGE)), 60)
    assert (hi.language_played, mr.language_played) == ("hi", "mr")
    # heard_seconds comes from Asterisk's own endpos: each equals the length of its own file
    assert hi.heard_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.05)
    assert mr.heard_seconds == pytest.approx(MESSAGE_SECONDS["mr"], abs=0.05)


async def test_missing_language_falls_back_and_is_recorded(call_config):
    async with running(call_config, agi_port=0) as service:
        a = await asyncio.wait_for(place_test_call(
            service, to="919000013", language="gu", message=TEST_MESSAGE), 60)
    assert a.outcome is Outcome.ANSWERED
    assert a.language == "gu" and a.language_played == "hi"
    assert a.heard_seconds == pytest.approx(MESSAGE_SECONDS["hi"], abs=0.05)
