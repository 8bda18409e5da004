"""`ivr enrol`, `ivr women ...`: one woman's record, masked unless --reveal, every change
audited."""
import json
from datetime import timedelta

from tests.operators.conftest import LMP, TODAY, dmy


def enrol(cli, phone="+91 98765 43210", *extra, lmp=LMP):
    return cli("enrol", "--phone", phone, "--lang", "hi", "--lmp", dmy(lmp),
               "--consent-date", dmy(TODAY), "--name", "सीमा", "--partner", "KEM", *extra)


def test_enrol_then_list_and_show_masked_unless_reveal(cli):
    r = enrol(cli, "+91 98765 43210", "--json", "--actor", "asha")
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout)
    assert record["phone"] == "*********210" and record["lmp"] == LMP.isoformat()
    assert record["name"] == "स." and "सीमा" not in r.stdout            # her initial only
    assert record["deliveries"][0]["status"] == "pending"
    assert record["history"][0]["actor"] == "asha"
    listed = cli("women", "list")
    assert " स. " in listed.stdout and "*********210" in listed.stdout
    assert "9876543210" not in listed.stdout and "सीमा" not in listed.stdout
    shown = cli("women", "show", "1", "--reveal")
    assert "+919876543210" in shown.stdout and "history:" in shown.stdout
    assert "सीमा" in shown.stdout
    found = cli("women", "list", "--phone", "098765 43210", "--json")
    assert [json.loads(x)["id"] for x in found.stdout.splitlines()] == [1]


def test_enrol_refusals(cli):
    assert enrol(cli).exit_code == 0
    again = enrol(cli, "9876543210")
    assert again.exit_code == 1 and "already enrolled" in again.stderr
    bad = enrol(cli, "12345")
    assert bad.exit_code == 2 and "too short" in bad.output
    r = cli("enrol", "--phone", "9876543211", "--lang", "hi", "--lmp", "3/15/2026",
            "--consent-date", dmy(TODAY))
    assert r.exit_code == 2 and "day first" in r.output
    r = cli("enrol", "--phone", "9876543211", "--lang", "xx", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY))
    assert r.exit_code == 1 and "'xx' is not offered" in r.stderr
    r = cli("enrol", "--phone", "9876543211", "--lang", "hi", "--consent-date", dmy(TODAY))
    assert r.exit_code == 1 and "LMP" in r.stderr
    assert cli("women", "show", "99").exit_code == 1


def test_update_event_pause_resume_opt_out_are_audited(cli):
    assert enrol(cli, lmp=TODAY - timedelta(weeks=36)).exit_code == 0
    r = cli("women", "update", "1", "--slot", "18-21", "--name", "Seema", "--actor", "op1")
    assert r.exit_code == 0, r.output
    bad = cli("women", "update", "1", "--slot", "07-08", "--name", "Nobody")
    assert bad.exit_code == 1 and "no slot '07-08'" in bad.stderr
    assert json.loads(cli("women", "show", "1", "--json", "--reveal").stdout)["name"] == \
        "Seema"                                                      # neither
    assert cli("women", "update", "1").exit_code == 2
    assert cli("women", "pause", "1").exit_code == 0
    assert cli("women", "resume", "1").exit_code == 0
    birth = cli("women", "event", "1", "birth", "--date", dmy(TODAY - timedelta(days=1)),
                "--json")
    assert birth.exit_code == 0 and json.loads(birth.stdout)["track"] == "infant"
    assert cli("women", "event", "1", "birth").exit_code == 2        # no --date
    assert cli("women", "event", "1", "infant-death").exit_code == 2  # not confirmed
    assert cli("women", "opt-out", "1", "--yes").exit_code == 0
    ended = cli("women", "pause", "1")
    assert ended.exit_code == 1 and "only an active woman" in ended.stderr
    audit = cli.sql("SELECT actor, action FROM audit WHERE action != 'reveal' ORDER BY id")
    assert [a for _, a in audit] == ["enrol", "update", "change_slot", "pause", "resume",
                                     "birth", "opt_out"]
    assert audit[1][0] == "op1" and audit[2][0] == "op1"
    status = json.loads(cli("women", "show", "1", "--json").stdout)
    assert (status["status"], status["status_reason"], status["slot"]) == \
        ("opted_out", "by_user", "18-21")


def test_life_event_stops_her_messages(cli):
    assert enrol(cli).exit_code == 0
    r = cli("women", "event", "1", "miscarriage", "--yes", "--json")
    assert r.exit_code == 0
    record = json.loads(r.stdout)
    assert record["status"] == "deactivated" and record["status_reason"] == "miscarriage"
    assert record["deliveries"][0]["status"] == "cancelled"


def test_json_times_are_rfc3339_with_her_zones_offset(cli):
    r = enrol(cli, "+91 98765 43210", "--json")
    assert r.exit_code == 0, r.output
    for record in (json.loads(r.stdout), json.loads(cli("women", "show", "1", "--json").stdout),
                   json.loads(cli("women", "list", "--json").stdout)):
        assert record["enrolled_at"].endswith("+05:30") and "T" in record["enrolled_at"]
    shown = json.loads(cli("women", "show", "1", "--json").stdout)
    assert shown["deliveries"][0]["due"].endswith("+05:30")
    assert shown["history"][0]["at"].endswith("+05:30")
    text = cli("women", "show", "1").stdout                   # tables stay short
    assert "+05:30" not in text


def test_list_filters_and_name_search_ignore_ascii_case(cli):
    assert enrol(cli, "9876543210", "--name", "Seema Patil", "--slot", "18-21").exit_code == 0
    assert enrol(cli, "9876543211", "--name", "Rekha 50% Kamble").exit_code == 0
    assert cli("women", "pause", "2").exit_code == 0

    def ids(*args):
        r = cli("women", "list", "--json", *args)
        assert r.exit_code == 0, r.output
        return [json.loads(x)["id"] for x in r.stdout.splitlines()]

    assert ids("--name", "sEEMA") == [1]                  # LIKE ignores ASCII case on both
    assert ids("--name", "50%") == [2] and ids("--name", "%") == [2]   # '%' is no wildcard
    assert ids("--name", "_") == [] and ids("--name", "a\\") == []        # nor '_', '\\'
    assert ids("--status", "paused") == [2] and ids("--status", "active") == [1]
    assert ids("--slot", "18-21") == [1] and ids("--partner", "KEM") == [1, 2]
    assert ids("--partner", "kem") == []                  # exact name
    assert ids("--lang", "hi", "--limit", "1") == [1]
