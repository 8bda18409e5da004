"""Phone numbers and dates as people write them; the programme's region."""
from datetime import date

import pytest

from ivr.operators.normalise import parse_date, short_text
from ivr.phone import Phone, PhoneError
from scheduler.programme import PROGRAMMES_DIR, ProgrammeError, load_programme, parse_programme


@pytest.mark.parametrize("raw", ["+91 98765 43210", "098765 43210", "9876543210",
                                 "919876543210", "+91-98765-43210", " (098765) 43210 "])
def test_indian_numbers_in_every_usual_spelling(raw):
    assert Phone.parse(raw, "IN").digits == "919876543210"


@pytest.mark.parametrize("raw,why", [("12345", "too short"), ("98765abc", "letters"),
                                     ("", "no phone"), ("98765432101234", "too long"),
                                     ("+999 1234567", "not a phone number|unknown country")])
def test_bad_numbers_are_refused_and_masked(raw, why):
    with pytest.raises(PhoneError, match=why) as e:
        Phone.parse(raw, "IN")
    if len(raw) > 6:
        assert raw.replace(" ", "") not in str(e.value)


def test_region_reads_national_numbers():
    assert Phone.parse("07911 123456", "GB").digits == "447911123456"
    assert Phone.parse("+44 7911 123456", "IN", foreign=True).digits == "447911123456"


def test_unchecked_numbers_keep_the_digits():
    assert Phone.unchecked("+91 90000 11").digits == "919000011"
    with pytest.raises(PhoneError):
        Phone.unchecked("12ab")


@pytest.mark.parametrize("text", ["2026-03-15", "15/03/2026", "15-03-2026", "15.03.2026",
                                  "15 Mar 2026", "15-Mar-2026", "15 March 2026", "15/3/2026",
                                  " 15 mar 2026 "])
def test_dates_in_the_formats_people_write(text):
    assert parse_date(text) == date(2026, 3, 15)


@pytest.mark.parametrize("text,why", [("3/15/2026", "day first"), ("15/03/26", "four digits"),
                                      ("31/02/2026", "does not exist"), ("15 Foo 2026", "month"),
                                      ("yesterday", "not understood"), ("", "empty")])
def test_bad_dates_say_why(text, why):
    with pytest.raises(ValueError, match=why):
        parse_date(text)


def test_short_text():
    assert short_text("  सीमा   पाटील ", "name") == "सीमा पाटील"
    assert short_text("   ", "name") is None
    with pytest.raises(ValueError, match="control"):
        short_text("a\x00b", "name")
    with pytest.raises(ValueError, match="longer"):
        short_text("x" * 101, "name")


def test_programme_region_defaults_to_india_and_can_be_set():
    assert load_programme("mmitra").region == "IN"
    text = (PROGRAMMES_DIR / "kilkari.toml").read_text(encoding="utf-8")
    assert parse_programme('region = "GB"\n' + text).region == "GB"
    with pytest.raises(ProgrammeError, match="line 1: region 'india'"):
        parse_programme('region = "india"\n' + text)
