"""A number from outside the programme's region is refused (enrol, import, update) unless the
programme says `allow_foreign_numbers = true`."""
import json

import pytest

from ivr.phone import Phone, PhoneError
from scheduler.programme import PROGRAMMES_DIR, ProgrammeError, load_programme, parse_programme
from tests.operators.conftest import LMP, TODAY, dmy

US = "+1 415 555 2671"


def test_a_foreign_number_is_refused_masked_and_named():
    with pytest.raises(PhoneError, match=r"a number of US \(\+1\), outside the programme's "
                                         r"region IN \(\+91\)") as e:
        Phone.parse(US, "IN")
    assert "4155552671" not in str(e.value)
    assert Phone.parse(US, "IN", foreign=True).digits == "14155552671"
    assert Phone.parse("+91 98765 43210", "IN").digits == "919876543210"


def test_programme_key_allow_foreign_numbers():
    assert load_programme("mmitra").allow_foreign_numbers is False
    text = (PROGRAMMES_DIR / "mmitra.toml").read_text(encoding="utf-8")
    assert parse_programme("allow_foreign_numbers = true\n" + text).allow_foreign_numbers
    with pytest.raises(ProgrammeError, match="line 1: allow_foreign_numbers must be true or"):
        parse_programme('allow_foreign_numbers = "yes"\n' + text)


def enrol(cli, phone):
    return cli("enrol", "--phone", phone, "--lang", "hi", "--lmp", dmy(LMP),
               "--consent-date", dmy(TODAY))


def test_enrol_import_and_update_refuse_a_us_number_in_an_indian_programme(cli, tmp_path):
    r = enrol(cli, US)
    assert r.exit_code == 2 and "outside the programme's region IN" in r.output
    f = tmp_path / "w.csv"
    f.write_text(f"phone,language,lmp,consent_date\n{US},hi,{dmy(LMP)},{dmy(TODAY)}\n"
                 f"9876543210,hi,{dmy(LMP)},{dmy(TODAY)}\n")
    r = cli("import", str(f))
    assert r.exit_code == 1 and "line 2" in r.stderr and "outside the programme" in r.stderr
    r = cli("women", "update", "1", "--phone", US)
    assert r.exit_code == 2 and "outside the programme's region" in r.output
    assert json.loads(cli("women", "show", "1", "--json", "--reveal").stdout)["phone"] == \
        "+919876543210"


def test_a_programme_that_allows_foreign_numbers_enrols_them(cli, tmp_path, monkeypatch):
    text = (PROGRAMMES_DIR / "mmitra.toml").read_text(encoding="utf-8")
    own = tmp_path / "open.toml"
    own.write_text("allow_foreign_numbers = true\n" + text, encoding="utf-8")
    monkeypatch.setenv("IVR_PROGRAMME", str(own))
    r = enrol(cli, US)
    assert r.exit_code == 0, r.output
