"""Women's and workers' names in the operators' output: initials ('S. K.') unless --reveal,
which is audited as for phone numbers; `build_report` refuses a programme it does not run;
`ivr workers list` shows its times in the installation's zone ([ivr] timezone), else UTC."""
import asyncio
import csv
import io
import json
import time
from datetime import datetime, timezone

import pytest

from ivr.adapters.store import Store
from ivr.errors import BadInput
from ivr.operators.report import ReportRequest, build_report
from ivr.phone import mask_name
from scheduler.programme import load_programme
from tests.operators.conftest import LMP, TODAY, dmy
from tests.operators.test_calls_report import population
from tests.operators.test_reveal_audit import reveals
from tests.operators.test_workers_followups_cli import add

NAME = "Sunita Kale"             # woman 2: at risk (no call answered for 4 weeks)


@pytest.mark.parametrize("text, masked", [
    ("Sunita Kale", "S. K."), ("  sunita   kale ", "S. K."), ("सीमा पाटील", "स. प."),
    ("Awa", "A."), ("", "-"), (None, "-")])
def test_one_masking_rule_for_names(text, masked):
    assert mask_name(text) == masked


def named_population(cli) -> None:
    population(cli)
    cli.sql("UPDATE subscribers SET name = ?, health_worker = ? WHERE id = 2",
            NAME, "Asha Devi")
    cli.sql("INSERT INTO call_centre_list (subscriber_id, attempt_id, reason, added_at) "
            "VALUES (2, NULL, 'opt_out_not_recorded', ?)", time.time() - 60)


def test_report_lists_show_initials_unless_revealed(cli, tmp_path, monkeypatch):
    named_population(cli)
    r = cli("report", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert [(x["woman"], x["name"]) for x in report["at_risk"]] == [(2, "S. K.")]
    assert [(x["woman"], x["name"]) for x in report["promised_calls"]] == [(2, "S. K.")]
    for shown in (r.stdout, cli("report").stdout,
                  cli("report", "--section", "at_risk", "--csv").stdout):
        assert "Sunita" not in shown and "Kale" not in shown
    page = tmp_path / "r.html"
    assert cli("report", "--html", str(page)).exit_code == 0
    assert "Sunita" not in page.read_text() and "S. K." in page.read_text()
    assert reveals(cli) == []
    monkeypatch.setenv("IVR_ACTOR", "cc-2")
    revealed = cli("report", "--section", "at_risk", "--csv", "--reveal")
    assert [x["name"] for x in csv.DictReader(io.StringIO(revealed.stdout))] == [NAME]
    assert reveals(cli) == [("cc-2", 2, "report", [2])]


def test_women_show_list_and_changes_show_initials_unless_revealed(cli, monkeypatch):
    r = cli("enrol", "--phone", "9876543210", "--lang", "hi", "--lmp", dmy(LMP),
            "--consent-date", dmy(TODAY), "--name", NAME, "--health-worker", "Asha Devi",
            "--partner", "KEM", "--json")
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout)
    assert (record["name"], record["health_worker"], record["partner"]) == \
        ("S. K.", "A. D.", "KEM")                         # a partner is a hospital: as it is
    outputs = [r.stdout, cli("women", "show", "1").stdout, cli("women", "list").stdout,
               cli("women", "list", "--json").stdout,
               cli("women", "update", "1", "--slot", "18-21", "--json").output,
               cli("women", "pause", "1", "--json").output]
    assert all("Sunita" not in out and "Asha" not in out for out in outputs)
    assert "S. K." in outputs[1] and "A. D." in outputs[1]
    assert reveals(cli) == []
    monkeypatch.setenv("IVR_ACTOR", "op-1")
    shown = cli("women", "show", "1", "--reveal")
    assert NAME in shown.stdout and "Asha Devi" in shown.stdout
    assert NAME in cli("women", "list", "--reveal").stdout
    assert reveals(cli) == [("op-1", 1, "women show", [1]), ("op-1", 1, "women list", [1])]


def test_outreach_list_shows_initials_unless_revealed(cli, monkeypatch):
    named_population(cli)
    cli.sql("DELETE FROM call_centre_list")
    r = cli("outreach", "list", "-k", "5", "--method", "at-risk", "--json")
    assert r.exit_code == 0, r.output
    assert [(x["id"], x["name"]) for x in map(json.loads, r.stdout.splitlines())] == \
        [(2, "S. K.")]
    assert "Sunita" not in cli("outreach", "list", "-k", "5", "--method", "at-risk").stdout
    monkeypatch.setenv("IVR_ACTOR", "cc-1")
    shown = cli("outreach", "list", "-k", "5", "--method", "at-risk", "--csv", "--reveal")
    assert [x["name"] for x in csv.DictReader(io.StringIO(shown.stdout))] == [NAME]
    assert reveals(cli) == [("cc-1", 2, "outreach list", [2])]


def test_workers_times_in_the_installations_zone_else_utc(cli, monkeypatch):
    assert add(cli).exit_code == 0
    [(created,)] = cli.sql("SELECT created_at FROM workers")
    text = cli("workers", "list").stdout
    assert "added (UTC)" in text.splitlines()[0]
    utc = datetime.fromtimestamp(created, timezone.utc)
    assert f"{utc:%Y-%m-%d %H:%M}" in text
    [row] = map(json.loads, cli("workers", "list", "--json").stdout.splitlines())
    assert row["created_at"] == utc.isoformat(timespec="seconds")
    monkeypatch.setenv("IVR_TIMEZONE", "America/Bogota")          # UTC-5, no summer time
    text = cli("workers", "list").stdout
    assert "added (America/Bogota)" in text.splitlines()[0]
    [row] = map(json.loads, cli("workers", "list", "--json").stdout.splitlines())
    assert row["created_at"].endswith("-05:00")
    assert datetime.fromisoformat(row["created_at"]) == utc.replace(microsecond=0)


def test_build_report_refuses_a_programme_it_does_not_run(tmp_path):
    async def go():
        async with await Store.open(tmp_path / "ivr.db") as store:
            mmitra = load_programme("mmitra")
            with pytest.raises(BadInput, match="no programme 'kilkari'.*runs: mmitra"):
                await build_report(store, [mmitra], ReportRequest(programme="kilkari"),
                                   datetime.now(timezone.utc))
            report = await build_report(store, [mmitra], ReportRequest(programme="mmitra"),
                                        datetime.now(timezone.utc))
            assert report["programme"] == "mmitra"
    asyncio.run(asyncio.wait_for(go(), 30))
