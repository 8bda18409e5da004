"""`ivr calls` and `ivr women show` say how many of her message's questions she answered in
each call (attempts.answers); the values stay out of the calls list (health data)."""
import json

from tests.operators.test_calls_report import add_calls, enrol


def test_calls_show_how_many_questions_she_answered(cli):
    enrol(cli, "9876543210")
    add_calls(cli, [(1, 1, "answered", 1.0, 7200, "scheduled"),
                    (1, 2, "answered", 1.0, 3600, "scheduled")])
    cli.sql("UPDATE attempts SET answers = 2, keys = '' WHERE number = 2")
    calls = [json.loads(x) for x in cli("calls", "--json").stdout.splitlines()]
    assert [(c["attempt"], c["answers"]) for c in calls] == [(2, 2), (1, None)]
    table = cli("calls").stdout
    assert "answers" in table.splitlines()[0]
    shown = json.loads(cli("women", "show", "1", "--json").stdout)
    assert [(c["attempt"], c["answers"]) for c in shown["calls"]] == [(2, 2), (1, None)]
