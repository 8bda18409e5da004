"""Which questions the in-call route asks (CallRoute._questions): her message's, with their
prompts in the language the message plays in; none for a call with no woman, a message with
no question or unknown to the programme; none, logged, when a prompt file is missing."""
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from audio.catalogue import Catalogue
from ivr.agi_route import CallRoute
from ivr.config import Trunk
from ivr.live_call import CallRequest, LiveCall
from scheduler.programme import load_programme
from tests.conftest import _tone

PROGRAMME = load_programme(Path(__file__).parents[1] / "e2e" / "programmes" / "checkin.toml")


def route(sounds: Path) -> CallRoute:
    return CallRoute(SimpleNamespace(), SimpleNamespace(), Catalogue(sounds), "hi",
                     SimpleNamespace(programme=PROGRAMME))


def call(message: str = "test-msg", subscriber_id: int | None = 5) -> LiveCall:
    return LiveCall(9, CallRequest("919000011", "hi", message, Trunk("sim", "x/{digits}"),
                                   kind="scheduled", subscriber_id=subscriber_id), "ivr-9")


@pytest.fixture
def sounds(tmp_path) -> Path:
    for prompt in ("test-q-fever", "test-q-weight"):
        _tone(tmp_path / "hi" / f"{prompt}.wav", 0.2, 550)
    _tone(tmp_path / "mr" / "test-q-fever.wav", 0.2, 550)        # mr lacks the weight prompt
    return tmp_path


def test_question_plan_of_her_message_in_the_language_played(sounds):
    plan = route(sounds)._questions(call(), "hi", PROGRAMME)
    assert plan is not None
    assert [q.key for q in plan.questions] == ["fever", "weight"]
    assert plan.prompts == {"fever": f"{sounds}/test-q-fever", "weight": f"{sounds}/test-q-weight"}
    assert plan.invalid == f"{sounds}/ivr-invalid"


@pytest.mark.parametrize("live", [call(subscriber_id=None), call(message="other-msg")])
def test_no_question_without_a_woman_or_for_a_message_without_questions(sounds, live):
    assert route(sounds)._questions(live, "hi", PROGRAMME) is None


def test_question_prompt_missing_in_her_language_asks_none_and_logs(sounds, caplog):
    with caplog.at_level(logging.ERROR, logger="ivr.agi_route"):
        assert route(sounds)._questions(call(), "mr", PROGRAMME) is None
    assert "test-q-weight missing in mr: questions not asked" in caplog.text
