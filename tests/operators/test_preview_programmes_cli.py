"""`ivr schedule preview` of an installation of two programmes (mMitra in Kolkata, Pesinet in
Bamako), on SQLite and PostgreSQL: without --programme each programme on its own, its day in
its own zone, its calls under its own slots, their times in its zone."""
import json
from datetime import datetime, timedelta

import pytest

from tests.operators.conftest import TODAY, dmy
from tests.operators.test_programmes_cli import enrol_child, enrol_her

TOMORROW = dmy(TODAY + timedelta(days=1))


@pytest.fixture
def two(cli, monkeypatch):
    monkeypatch.setenv("IVR_PROGRAMME", "mmitra,pesinet")
    assert enrol_her(cli, "--programme", "mmitra").exit_code == 0       # woman 1, 09-12
    assert enrol_child(cli, "--programme", "pesinet").exit_code == 0    # child 2, 17-20
    return cli


def test_preview_programmes_each_in_its_zone_json(two):
    r = two("schedule", "preview", "--date", TOMORROW, "--json")
    assert r.exit_code == 0, r.output
    calls = {c["woman"]: c for c in map(json.loads, r.output.splitlines())}
    assert set(calls) == {1, 2}
    assert (calls[1]["programme"], calls[2]["programme"]) == ("mmitra", "pesinet")
    # each call's time in its programme's zone, on the asked day there, in her slot
    her, child = (datetime.fromisoformat(calls[i]["at"]) for i in (1, 2))
    assert her.utcoffset() == timedelta(hours=5, minutes=30)
    assert child.utcoffset() == timedelta(0)
    assert her.date() == child.date() == TODAY + timedelta(days=1)
    assert (calls[1]["slot"], calls[2]["slot"]) == ("09-12", "17-20")
    assert 9 <= her.hour < 12 and 17 <= child.hour < 20


def test_preview_programmes_text_per_programme(two):
    r = two("schedule", "preview", "--date", TOMORROW)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    mm = lines.index(next(x for x in lines if x.startswith("mmitra (Asia/Kolkata), ")))
    pe = lines.index(next(x for x in lines if x.startswith("pesinet (Africa/Bamako), ")))
    assert mm < pe
    assert "1 call(s) would be placed" in lines[mm] and "1 call(s)" in lines[pe]
    # each programme under its own slots: Pesinet's 17-20 (no slot of mMitra's) shows its call
    assert "slot 09-12 (09:00-12:00): 1 call(s)" in lines[mm:pe]
    assert "slot 17-20 (17:00-20:00): 1 call(s)" in lines[pe:]
    assert not any(x.startswith("slot 17-20") for x in lines[mm:pe])
    assert not any(x.startswith("slot 09-12") for x in lines[pe:])


def test_preview_programmes_one_by_option(two):
    r = two("schedule", "preview", "--date", TOMORROW, "--summary", "--programme", "pesinet")
    assert r.exit_code == 0, r.output
    assert "mmitra" not in r.output and r.output.startswith(f"{TODAY + timedelta(days=1)}: 1 ")
    assert "slot 17-20 (17:00-20:00): 1 call(s)" in r.output


def test_preview_programmes_past_day_refused(two):
    r = two("schedule", "preview", "--date", dmy(TODAY - timedelta(days=1)))
    assert r.exit_code == 2 and "is past in mmitra's zone (Asia/Kolkata)" in r.output
