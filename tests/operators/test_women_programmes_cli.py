"""`ivr women list --phone` of an installation of two programmes (mMitra in India, Pesinet in
Mali), on SQLite and PostgreSQL: a national number is read in each programme's region (was:
the first programme's only, so a Malian woman was not found by her national number)."""
import json

import pytest

from tests.operators.test_programmes_cli import enrol_child, enrol_her


@pytest.fixture
def two(cli, monkeypatch):
    monkeypatch.setenv("IVR_PROGRAMME", "mmitra,pesinet")
    assert enrol_her(cli, "--programme", "mmitra").exit_code == 0       # +91 98765 43210
    assert enrol_child(cli, "--programme", "pesinet").exit_code == 0    # +223 70 12 34 56
    return cli


def found(cli, phone) -> list[int]:
    r = cli("women", "list", "--phone", phone, "--json")
    assert r.exit_code == 0, r.output
    return [json.loads(x)["id"] for x in r.stdout.splitlines()]


def test_women_programmes_list_by_national_number(two):
    assert found(two, "70 12 34 56") == [2]            # national, in Mali
    assert found(two, "098765 43210") == [1]           # national, in India
    assert found(two, "+223 70 12 34 56") == [2]
    assert found(two, "+91 98765 43210") == [1]
    assert found(two, "70 12 34 57") == []


def test_women_programmes_suggest_slots_by_her_programmes_slots(two):
    """Each woman read by her programme's slots (was: the first programme's, so a Pesinet
    woman, her slot not one of mMitra's, was never listed)."""
    for sid, slot, calls, answered in ((1, "09-12", 9, 0), (1, "18-21", 6, 5),
                                       (2, "17-20", 9, 0), (2, "11-14", 6, 6)):
        two.sql("INSERT INTO slot_answers (subscriber_id, slot, calls, answered) "
                "VALUES (?, ?, ?, ?)", sid, slot, calls, answered)
    r = two("women", "suggest-slots", "--json")
    assert r.exit_code == 0, r.output
    assert [(x["id"], x["slot"], x["suggested"]) for x in map(json.loads,
                                                             r.stdout.splitlines())] == [
        (1, "09-12", "18-21"), (2, "17-20", "11-14")]


def test_women_programmes_show_her_answer_pattern_by_her_slots(two):
    two.sql("INSERT INTO slot_answers (subscriber_id, slot, calls, answered) "
            "VALUES (2, '17-20', 4, 3)")
    shown = {}
    for sid in (1, 2):
        r = two("women", "show", str(sid), "--json")
        assert r.exit_code == 0, r.output
        shown[sid] = {x["slot"]: x for x in json.loads(r.stdout)["answer_pattern"]}
    assert list(shown[1]) == ["09-12", "12-15", "15-18", "18-21"]
    assert list(shown[2]) == ["08-11", "11-14", "14-17", "17-20"]
    assert (shown[2]["17-20"]["calls"], shown[2]["17-20"]["answered"]) == (4, 3)


def test_women_programmes_worker_national_number_of_either_region(two):
    r = two("workers", "add", "--name", "Awa", "--phone", "76 12 34 99", "--role", "agent")
    assert r.exit_code == 0, r.output                        # national, in Mali
    r = two("workers", "add", "--name", "Asha", "--phone", "98123 45001",
            "--role", "health_worker")
    assert r.exit_code == 0, r.output                        # national, in India
    assert two.sql("SELECT name, phone FROM workers ORDER BY id") == [
        ("Awa", "22376123499"), ("Asha", "919812345001")]
    r = two("workers", "add", "--name", "X", "--phone", "12", "--role", "agent")
    assert r.exit_code == 2 and two.sql("SELECT COUNT(*) FROM workers") == [(2,)]
