"""The operators' commands in an installation of two programmes (IVR_PROGRAMME=mmitra,pesinet),
on SQLite and PostgreSQL: enrolment and import name her programme (--programme), refused
without it or with one the installation does not run; the lists show every programme."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.operators.conftest import LMP, TODAY, dmy

# a day earlier than Kolkata's today: never in the future in Bamako either
CONSENT = dmy(TODAY - timedelta(days=1))


@pytest.fixture
def two(cli, monkeypatch):
    monkeypatch.setenv("IVR_PROGRAMME", "mmitra,pesinet")
    return cli


def enrol_her(cli, *extra):
    return cli("enrol", "--phone", "+91 98765 43210", "--lang", "hi", "--lmp", dmy(LMP),
               "--consent-date", CONSENT, *extra)


def enrol_child(cli, *extra):
    return cli("enrol", "--phone", "22370123456", "--unchecked-number", "--lang", "fr",
               "--slot", "17-20", "--child-dob", dmy(TODAY - timedelta(weeks=30)),
               "--consent-date", CONSENT, *extra)


# for the calls of both: a past day in both zones, and 20:00 UTC on it: still DAY in Bamako
# (UTC), already the next day in Kolkata (UTC+5:30)
DAY = TODAY - timedelta(days=2)
EVENING = datetime(DAY.year, DAY.month, DAY.day, 20, tzinfo=timezone.utc).timestamp()


def enrol_both(cli, monkeypatch) -> None:
    """mMitra's woman 1 and Pesinet's child 2 in an installation of both."""
    monkeypatch.setenv("IVR_PROGRAMME", "mmitra,pesinet")
    assert enrol_her(cli, "--programme", "mmitra").exit_code == 0       # woman 1
    assert enrol_child(cli, "--programme", "pesinet").exit_code == 0    # child 2


def first_delivery(cli, sid: int) -> tuple:
    """(phone, language, her first delivery's id) of subscriber `sid`."""
    [row] = cli.sql("SELECT s.phone, s.language, d.id FROM subscribers s JOIN deliveries d "
                    "ON d.subscriber_id = s.id WHERE s.id = ? ORDER BY d.id LIMIT 1", sid)
    return tuple(row)


def test_programmes_enrol_names_her_programme(two):
    r = enrol_her(two)
    assert r.exit_code == 2
    assert "runs several programmes (mmitra, pesinet): name hers with --programme" in r.output
    r = enrol_her(two, "--programme", "kilkari")
    assert r.exit_code == 2 and "--programme 'kilkari': this installation does not run it" \
        in r.output and "(it runs: mmitra, pesinet" in r.output
    assert enrol_her(two, "--programme", "mmitra").exit_code == 0
    assert enrol_child(two, "--programme", "pesinet").exit_code == 0
    # a language or slot of another programme is hers to refuse: checked by her programme's
    r = enrol_child(two, "--programme", "mmitra")
    assert r.exit_code == 1 and "fr" in r.output
    assert two.sql("SELECT id, programme, language, timezone FROM subscribers ORDER BY id") == [
        (1, "mmitra", "hi", "Asia/Kolkata"), (2, "pesinet", "fr", "Africa/Bamako")]
    listed = two("women", "list")
    assert listed.exit_code == 0
    lines = [line.split() for line in listed.output.splitlines()]
    assert "programme" in lines[0] and any("pesinet" in line for line in lines)
    shown = json.loads(two("women", "show", "2", "--json").output)
    assert shown["programme"] == "pesinet" and shown["deliveries"]


def test_programmes_import_names_the_files_programme(two, tmp_path):
    f = tmp_path / "children.csv"
    f.write_text("phone,language,slot,child_dob,consent_date\n"
                 f"+223 76 12 34 56,bm,14-17,{dmy(TODAY - timedelta(weeks=10))},{CONSENT}\n",
                 encoding="utf-8")
    r = two("import", str(f))
    assert r.exit_code == 1 and "line 2: error: no programme: name hers (the installation runs: " \
        "mmitra, pesinet), or give --programme" in r.output
    r = two("import", str(f), "--programme", "kilkari")
    assert r.exit_code == 2 and "does not run it" in r.output
    r = two("import", str(f), "--programme", "pesinet")
    assert r.exit_code == 0, r.output
    assert two.sql("SELECT programme, language, slot, timezone FROM subscribers") == [
        ("pesinet", "bm", "14-17", "Africa/Bamako")]


def test_programmes_import_a_programme_column(two, tmp_path):
    """Each row names her programme, checked by its rules (region, languages, slots)."""
    f = tmp_path / "women.csv"
    child = dmy(TODAY - timedelta(weeks=10))
    f.write_text("phone,language,slot,lmp,child_dob,consent_date,programme\n"
                 f"98765 43210,hi,09-12,{dmy(LMP)},,{CONSENT},mmitra\n"
                 f"76 12 34 56,bm,14-17,,{child},{CONSENT},pesinet\n"
                 f"98765 43211,hi,09-12,{dmy(LMP)},,{CONSENT},kilkari\n"
                 f"76 12 34 57,hi,14-17,,{child},{CONSENT},pesinet\n", encoding="utf-8")
    r = two("import", str(f))
    assert r.exit_code == 1
    assert "line 4: error: programme 'kilkari' is not run by this installation" in r.output
    assert "line 5: error: language 'hi' is not offered by pesinet" in r.output
    assert two.sql("SELECT phone, programme, timezone FROM subscribers ORDER BY phone") == [
        ("22376123456", "pesinet", "Africa/Bamako"), ("919876543210", "mmitra", "Asia/Kolkata")]


def test_programmes_schedule_preview_of_one_or_all(two):
    assert enrol_her(two, "--programme", "mmitra").exit_code == 0
    assert enrol_child(two, "--programme", "pesinet").exit_code == 0
    tomorrow = dmy(TODAY + timedelta(days=1))
    every = two("schedule", "preview", "--date", tomorrow, "--json")
    assert every.exit_code == 0, every.output
    assert {json.loads(line)["woman"] for line in every.output.splitlines()} == {1, 2}
    one = two("schedule", "preview", "--date", tomorrow, "--json", "--programme", "pesinet")
    assert one.exit_code == 0, one.output
    assert {json.loads(line)["woman"] for line in one.output.splitlines()} == {2}


def test_programmes_one_programme_install_needs_no_option(cli):
    assert enrol_her(cli).exit_code == 0
    r = enrol_her(cli, "--programme", "pesinet")
    assert r.exit_code == 2 and "does not run it (it runs: mmitra" in r.output


def test_programmes_update_reads_her_number_in_her_programmes_region(two):
    assert enrol_her(two, "--programme", "mmitra").exit_code == 0
    assert enrol_child(two, "--programme", "pesinet").exit_code == 0
    r = two("women", "update", "2", "--phone", "76 12 34 57")       # national, in Mali
    assert r.exit_code == 0, r.output
    assert two.sql("SELECT phone FROM subscribers WHERE id = 2") == [("22376123457",)]


def test_programmes_report_of_one_or_every_programme(two):
    assert enrol_her(two, "--programme", "mmitra").exit_code == 0
    assert enrol_child(two, "--programme", "pesinet").exit_code == 0
    every = json.loads(two("report", "--json").output)
    assert (every["programme"], every["timezone"]) == ("mmitra, pesinet",
                                                       "Asia/Kolkata, Africa/Bamako")
    assert [(r["group"], r["enrolled"]) for r in every["funnel"]] == [
        ("all programmes", 2), ("mmitra", 1), ("pesinet", 1)]
    one = two("report", "--json", "--programme", "pesinet")
    assert one.exit_code == 0, one.output
    report = json.loads(one.output)
    assert (report["programme"], report["timezone"]) == ("pesinet", "Africa/Bamako")
    assert [r["enrolled"] for r in report["funnel"]] == [1]
    assert [r["enrolled"] for r in report["retention"]] == [1]
    assert two("report", "--programme", "kilkari").exit_code == 2
