"""`ivr simulate`: one JSON object with the issue's keys; clear errors."""
import json

from click.testing import CliRunner

from cli import main

KEYS = {"women", "messages_due", "messages_delivered", "messages_undelivered",
        "messages_superseded", "attempts", "max_attempts_per_message", "calls_outside_slot",
        "calls_outside_window", "double_live_attempts", "callbacks_served", "at_risk"}


def run(*args):
    return CliRunner().invoke(main, ["simulate", *args])


def test_json_is_one_object_with_the_keys():
    r = run("--programme", "mmitra", "--women", "40", "--days", "45", "--answer-rate", "0.7",
            "--seed", "3", "--json")
    assert r.exit_code == 0, r.output
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert KEYS <= set(data)
    assert data["women"] == 40 and data["programme"] == "mmitra" and data["seed"] == 3
    assert data["calls_outside_slot"] == data["calls_outside_window"] == 0
    assert data["double_live_attempts"] == 0 and 0 < data["max_attempts_per_message"] <= 9
    assert data["messages_due"] > 0 and data["attempts"] >= data["messages_delivered"]


def test_text_output_and_kilkari():
    r = run("--programme", "kilkari", "--women", "10", "--days", "20", "--timezone",
            "Europe/London", "--timezone", "Asia/Kolkata")
    assert r.exit_code == 0, r.output
    assert any(line.split() == ["programme", "kilkari"] for line in r.stdout.splitlines())


def test_a_programme_file_with_a_mistake_names_the_line(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('name = "p"\nlanguages = ["en"]\nwindow = "9-21"\n', encoding="utf-8")
    r = run("--programme", str(f), "--women", "1", "--days", "1")
    assert r.exit_code == 1
    assert f"{f}, line 3:" in r.output and "09:00-12:00" in r.output


def test_bad_values_are_usage_errors():
    assert run("--programme", "mmitra", "--answer-rate", "1.5").exit_code == 2
    assert run("--programme", "mmitra", "--women", "0").exit_code == 2
    r = run("--programme", "mmitra", "--timezone", "Mars/Base")
    assert r.exit_code == 2 and "unknown time zone 'Mars/Base'" in r.output
    r = run("--programme", "nosuch")
    assert r.exit_code == 1 and "no programme named 'nosuch'" in r.output
