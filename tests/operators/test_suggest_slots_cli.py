"""`ivr women show`: her answer pattern per slot; `ivr women suggest-slots`: the women whose
answers say another slot suits them better (both stores, masked phones, nothing changed)."""
import csv
import io
import json

from tests.operators.conftest import LMP, TODAY, dmy

PHONES = [f"+91 98765 {43210 + i}" for i in range(6)]


def enrol(cli, phone, slot="09-12"):
    r = cli("enrol", "--phone", phone, "--lang", "hi", "--lmp", dmy(LMP), "--slot", slot,
            "--consent-date", dmy(TODAY))
    assert r.exit_code == 0, r.output


def counts(cli, sub_id, slot, calls, answered):
    cli.sql("INSERT INTO slot_answers (subscriber_id, slot, calls, answered) VALUES (?, ?, ?, ?)",
            sub_id, slot, calls, answered)


def women(cli):
    """1: answers in the evening, never in her morning slot (suggested 18-21);
    2: the same but too few evening calls; 3: answers in her slot (nothing to suggest);
    4: paused (not listed); 5: her slot 18-21 suits her worse than 12-15; 6: no calls."""
    for i, phone in enumerate(PHONES):
        enrol(cli, phone, "18-21" if i == 4 else "09-12")
    counts(cli, 1, "09-12", 9, 0)
    counts(cli, 1, "18-21", 6, 5)
    counts(cli, 2, "09-12", 9, 0)
    counts(cli, 2, "18-21", 2, 2)
    counts(cli, 3, "09-12", 9, 8)
    counts(cli, 3, "18-21", 5, 1)
    counts(cli, 4, "09-12", 9, 0)
    counts(cli, 4, "18-21", 6, 6)
    counts(cli, 5, "18-21", 8, 0)
    counts(cli, 5, "12-15", 7, 7)
    assert cli("women", "pause", "4").exit_code == 0


def test_suggest_slots_lists_the_women_whose_answers_suggest_another_slot(cli):
    women(cli)
    r = cli("women", "suggest-slots", "--json")
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(x["id"], x["slot"], x["suggested"]) for x in rows] == [
        (1, "09-12", "18-21"), (5, "18-21", "12-15")]
    first = rows[0]
    assert first["phone"] == "*********210" and "9876543210" not in r.stdout
    assert (first["calls_slot"], first["calls_suggested"]) == (9, 6)
    assert first["chance_suggested"] > 0.5 > first["chance_slot"]
    assert first["probability"] >= 0.99
    # with 2 calls enough, woman 2 too; nothing was changed
    two = cli("women", "suggest-slots", "--min-calls", "2", "--json")
    assert [json.loads(x)["id"] for x in two.stdout.splitlines()] == [1, 2, 5]
    assert cli.sql("SELECT slot FROM subscribers ORDER BY id") == [
        ("09-12",), ("09-12",), ("09-12",), ("09-12",), ("18-21",), ("09-12",)]


def test_suggest_slots_table_and_csv(cli):
    women(cli)
    table = cli("women", "suggest-slots")
    assert table.exit_code == 0 and "p(better)" in table.stdout
    assert "*********210" in table.stdout and "9876543210" not in table.stdout
    csv_out = cli("women", "suggest-slots", "--csv", "--reveal")
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert [(r["id"], r["phone"], r["suggested"]) for r in rows] == [
        ("1", "'+919876543210", "18-21"), ("5", "'+919876543214", "12-15")]
    assert cli("women", "suggest-slots", "--json", "--csv").exit_code == 2
    none = cli("women", "suggest-slots", "--min-calls", "20")
    assert none.exit_code == 0 and none.stdout == "" and "no woman" in none.stderr


def test_women_show_prints_her_answer_pattern_per_slot(cli):
    women(cli)
    shown = json.loads(cli("women", "show", "1", "--json").stdout)
    pattern = {p["slot"]: p for p in shown["answer_pattern"]}
    assert list(pattern) == ["09-12", "12-15", "15-18", "18-21"]
    assert (pattern["09-12"]["calls"], pattern["09-12"]["answered"]) == (9, 0)
    assert (pattern["18-21"]["calls"], pattern["18-21"]["answered"]) == (6, 5)
    # shrunk toward everyone's: no call of hers in 12-15, everyone's figure there
    # (7 of 7 answered, + one pseudo-answer and one pseudo-miss: 8 / 9)
    assert pattern["12-15"]["chance"] == round(8 / 9, 3)
    assert 0 < pattern["09-12"]["chance"] < 0.3 and 0.6 < pattern["18-21"]["chance"] < 5 / 6
    text = cli("women", "show", "6").stdout
    assert "answer pattern" in text and "*********215" in text
