"""Consent dates before 2000 or in the future are refused by enrol and by women update."""
from datetime import timedelta

from tests.operators.conftest import LMP, TODAY, dmy


def test_enrol_and_update_refuse_consent_before_2000_or_in_the_future(cli):
    base = ("enrol", "--phone", "9876543210", "--lang", "hi", "--lmp", dmy(LMP))
    r = cli(*base, "--consent-date", "31/12/1999")
    assert r.exit_code == 1 and "before 2000-01-01" in r.stderr
    assert cli(*base, "--consent-date", dmy(TODAY)).exit_code == 0
    for day, why in (("15/03/1926", "before 2000-01-01"),
                     (dmy(TODAY + timedelta(days=1)), "in the future")):
        r = cli("women", "update", "1", "--consent-date", day)
        assert r.exit_code == 2 and why in r.output, r.output
    assert cli.sql("SELECT consent_date FROM subscribers") == [(TODAY.isoformat(),)]
    ok = cli("women", "update", "1", "--consent-date", dmy(TODAY - timedelta(days=2)))
    assert ok.exit_code == 0, ok.output
