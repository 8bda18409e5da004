"""The simulated population's quiet phones (a lost phone, a new number) answer at most as
often as her answer rate says, never more: with no answers and no missed calls, nothing is
answered."""
import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from cli import main
from scheduler.simulation import QUIET_ANSWER, Population, simulate

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_answer_rate_means_no_call_is_answered(mmitra, seed):
    pop = Population(women=60, answer_rate=0.0, missed_call_rate=0.0, silent_share=0.5)
    s = simulate(mmitra, pop, days=60, seed=seed, start=START).summary
    assert s["attempts"] > 500 and s["attempts_callback"] == 0
    assert s["answered"] == 0 and s["messages_delivered"] == 0


def test_a_quiet_phone_answers_less_often_than_her_rate_not_more(mmitra):
    """An answer rate under QUIET_ANSWER, every phone going quiet some day: the answers stay
    near the rate (her factor, at most 1.6 x 1.15), not pulled up towards QUIET_ANSWER."""
    rate = QUIET_ANSWER / 4
    pop = Population(women=300, answer_rate=rate, missed_call_rate=0.0, silent_share=1.0)
    s = simulate(mmitra, pop, days=30, seed=5, start=START).summary
    assert s["attempts"] > 3000
    assert 0 < s["answer_rate_observed"] < 2 * rate


def test_the_command_with_no_answers_and_no_missed_calls_answers_nothing():
    r = CliRunner().invoke(main, ["simulate", "--programme", "mmitra", "--women", "80", "--days",
                                  "40", "--answer-rate", "0", "--missed-call-rate", "0",
                                  "--seed", "1", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["attempts"] > 0 and data["answered"] == 0
