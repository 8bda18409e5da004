"""The answer and follow-up records of issue 15 (scheduler/questions_model.py)."""
from decimal import Decimal

import pytest

from scheduler.questions_model import Answer, AnswerStatus, AnswerType, OwnerRole


@pytest.mark.parametrize("value, decimals, text, number", [
    (123, 1, "12.3", Decimal("12.3")),
    (120, 1, "12.0", Decimal("12.0")),
    (5, 0, "5", Decimal(5)),
    (7, 2, "0.07", Decimal("0.07")),
    (0, 0, "0", Decimal(0)),
])
def test_question_answer_reads_its_scaled_value(value, decimals, text, number):
    a = Answer("weight", AnswerStatus.ANSWERED, value, decimals)
    assert a.answered and a.text == text and a.number == number


def test_question_answer_skipped_has_no_value():
    a = Answer("fever", AnswerStatus.SKIPPED)
    assert not a.answered and a.text == "" and a.number is None
    with pytest.raises(ValueError, match="fever"):
        Answer("fever", AnswerStatus.SKIPPED, 1)
    with pytest.raises(ValueError, match="fever"):
        Answer("fever", AnswerStatus.ANSWERED)


def test_question_words_are_the_stored_words():
    assert [t.value for t in AnswerType] == ["yes_no", "choice", "number"]
    assert [s.value for s in AnswerStatus] == ["answered", "skipped"]
    assert [r.value for r in OwnerRole] == ["health_worker", "agent", "doctor", "call_centre"]
