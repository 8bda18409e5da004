"""Programme files: the shipped ones, the cadence, and errors that name the line."""
from collections import Counter
from pathlib import Path

import pytest

from scheduler.content import Track, spread
from scheduler.programme import PROGRAMMES_DIR, ProgrammeError, load_programme, parse_programme

MMITRA = (PROGRAMMES_DIR / "mmitra.toml").read_text(encoding="utf-8")


def test_mmitra_has_141_messages_with_the_cadence(mmitra):
    assert len(mmitra.messages) == 141
    assert mmitra.languages == ("hi", "mr", "gu", "en") and mmitra.fallback_language == "hi"
    preg = mmitra.track(Track.PREGNANCY)
    inf = mmitra.track(Track.INFANT)
    assert len(preg) == 72 and len(inf) == 69
    per_week_preg = Counter(m.week for m in preg)
    assert set(per_week_preg.values()) == {2}            # twice a week in pregnancy
    per_week_inf = Counter(m.week for m in inf)
    assert per_week_inf[0] == 7                           # daily in the week after birth
    assert all(per_week_inf[w] == 2 for w in range(1, 13))    # twice a week to month 3
    assert all(per_week_inf[w] == 1 for w in range(13, 51))   # weekly, months 4 to 12
    assert inf[-1].day < 365 and [m for m in inf if m.week == 13][0].day == 91


def test_keys_are_unique_and_ordered(mmitra, kilkari):
    for p in (mmitra, kilkari):
        keys = [m.key for m in p.messages]
        assert len(set(keys)) == len(keys)
        assert [m.seq for m in p.messages] == list(range(1, len(keys) + 1))
    assert mmitra.messages[0].key == "mmitra-p001" and mmitra.messages[-1].key == "mmitra-i069"


def test_kilkari_is_weekly_72_and_48_in_8_languages(kilkari):
    assert len(kilkari.track(Track.PREGNANCY)) == 72 and len(kilkari.track(Track.INFANT)) == 48
    assert len(kilkari.languages) == 8 and kilkari.fallback_language == "hi"
    assert set(Counter(m.week for m in kilkari.track(Track.INFANT)).values()) == {1}


def test_slots_window_and_retry(mmitra):
    assert [s.name for s in mmitra.slots] == ["09-12", "12-15", "15-18", "18-21"]
    assert mmitra.window.text == "09:00-21:00"
    assert mmitra.retry.max_attempts == 9 and mmitra.retry.per_day == 3


@pytest.mark.parametrize("n,days", [(1, [0]), (2, [0, 3]), (3, [0, 2, 4]), (7, list(range(7)))])
def test_spread(n, days):
    assert spread(n) == days


def test_load_by_path(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(MMITRA.replace('name = "mmitra"', 'name = "mine"'), encoding="utf-8")
    p = load_programme(f)
    assert p.name == "mine" and p.messages[0].key == "mine-p001" and p.source == str(f)


def test_unknown_name_lists_the_shipped_ones():
    with pytest.raises(ProgrammeError, match="shipped: kilkari, m2m, mmitra, pesinet"):
        load_programme("nosuch")


def test_missing_file():
    with pytest.raises(ProgrammeError, match="cannot read"):
        load_programme(Path("/nonexistent/prog.toml"))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD = [
    ("per_week = 7", "per_week = 9", "per_week must be an integer from 1 to 7"),
    ('busy = "20m"', 'busy = "20x"', "expected a duration"),
    ('"15-18" = "15:00-18:00"', '"15-18" = "15:00-22:00"', "not inside the calling window"),
    ('"12-15" = "12:00-15:00"', '"12-15" = "15:00-12:00"', "must start before it ends"),
    ("weeks = [1, 12]", "weeks = [0, 12]", "rules must not overlap"),
    ('fallback_language = "hi"', 'fallback_language = "xx"', "not one of languages"),
    ("max_attempts = 9", "max_attempts = 0", "max_attempts must be between 1 and 50"),
    ('timezone = "Asia/Kolkata"', 'timezone = "Asia/Nowhere"', "unknown time zone"),
    ('track = "pregnancy"', 'track = "toddler"', "track must be"),
    ("unanswered_weeks = 3", "unanswered_weeks = 0", "at least 1"),
    ('default_slot = "09-12"', 'default_slot = "06-09"', "default_slot"),
    ("supersede = true", 'supersede = "yes"', "supersede must be true or false"),
]


@pytest.mark.parametrize("good,bad,message", BAD, ids=[b[2][:30] for b in BAD])
def test_a_bad_file_names_the_line(good, bad, message):
    assert good in MMITRA
    text = MMITRA.replace(good, bad, 1)
    with pytest.raises(ProgrammeError) as e:
        parse_programme(text, "x.toml")
    assert message in str(e.value)
    assert str(e.value).startswith(f"x.toml, line {line_of(text, bad)}:"), str(e.value)


def test_toml_syntax_error_names_the_line():
    with pytest.raises(ProgrammeError, match=r"x.toml: .*line 19"):
        parse_programme(MMITRA.replace("[retry]", "[retry", 1), "x.toml")


def test_unknown_top_level_key_names_its_line():
    with pytest.raises(ProgrammeError, match=r"line 1: unknown key 'colour'"):
        parse_programme('colour = "red"\n' + MMITRA, "x.toml")


def test_a_programme_without_messages_is_refused():
    text = "\n".join(line for line in MMITRA.splitlines()
                     if not line.startswith(("[[schedule]]", "track", "weeks", "per_week")))
    with pytest.raises(ProgrammeError, match="no messages"):
        parse_programme(text, "x.toml")


def test_explicit_messages_and_minimal_file():
    text = '''
name = "tiny"
languages = ["en"]
[[message]]
track = "pregnancy"
day = 100
[[message]]
track = "infant"
day = 3
key = "tiny-hello"
'''
    p = parse_programme(text, "tiny.toml")
    assert [(m.key, m.track, m.day, m.week) for m in p.messages] == [
        ("tiny-p001", Track.PREGNANCY, 100, 14), ("tiny-hello", Track.INFANT, 3, 0)]
    assert p.window.text == "09:00-21:00" and p.default_slot == "09-12"
    assert p.timezone == "Asia/Kolkata" and p.retry.max_attempts == 9


def test_duplicate_explicit_day_is_refused():
    text = 'name = "t"\nlanguages = ["en"]\n[[message]]\ntrack = "infant"\nday = 3\n' \
           '[[message]]\ntrack = "infant"\nday = 3\n'
    with pytest.raises(ProgrammeError, match=r"line 8: infant day 3 already has a message"):
        parse_programme(text, "t.toml")
