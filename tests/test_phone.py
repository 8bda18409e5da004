"""Phone numbers: what each way in accepts and refuses, word for word, and how a number is
masked.

tests/phone_cases.jsonl was recorded from the rules as they stood at commit f77e554 (five
normalisers and the masker: phone_digits, normalise_caller, normalise_phone, unchecked_phone,
valid_caller, mask), one line per input: each rule's result, or {"refused": its message}.
The table pins what people see at enrolment, import, record fixes, `ivr call test` and
missed-call intake; Phone's constructors must give the same, refuse with the same words
(as a PhoneError), and mask as `mask` did. One deliberate change, listed in CHANGED: an
unchecked number written in other digits than ASCII ones (Arabic-Indic '٩٨٧٦٥٤٣٢١٠') was
stored in those digits, which no phone network dials; it is stored in ASCII digits now.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.phone import Phone, PhoneError, mask

CASES = [json.loads(line) for line in
         (Path(__file__).parent / "phone_cases.jsonl").read_text(encoding="utf-8").splitlines()]
REGIONS = ["IN", "KE", "GB", "US"]
ENROLMENT = [("IN", False), ("IN", True), ("KE", False), ("GB", False), ("US", False)]


ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x660 + d) for d in range(10)))
# (rule, input) -> what it gives now instead of what the table recorded
CHANGED = {("unchecked_phone", "9876543210".translate(ARABIC_INDIC)): "9876543210",
           ("unchecked_phone", "+919876543210".translate(ARABIC_INDIC)): "919876543210"}


def outcome(rule, *args, **kwargs):
    """What a rule gives: the stored digits (or None), or {"refused": message}."""
    try:
        got = rule(*args, **kwargs)
    except PhoneError as e:
        return {"refused": str(e)}
    return got.digits if isinstance(got, Phone) else got


def expected(case: dict, rule: str):
    return CHANGED.get((rule, case["raw"]), case[rule])


def by_raw(case: dict) -> str:
    return ascii(case["raw"])


def test_the_table_covers_every_kind_of_input():
    kinds = {"accepted": 0, "refused": 0}
    for case in CASES:
        kinds["refused" if isinstance(case["normalise_phone"]["IN"], dict) else "accepted"] += 1
    assert len(CASES) == 80 and min(kinds.values()) >= 20


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_plain_digits_as_before(case):
    assert outcome(Phone.plain, case["raw"]) == case["phone_digits"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_unchecked_numbers_as_before(case):
    assert outcome(Phone.unchecked, case["raw"]) == expected(case, "unchecked_phone")


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_spooled_caller_ids_as_before(case):
    assert outcome(Phone.reduced_caller_id, case["raw"]) == case["valid_caller"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_caller_ids_as_before(case):
    assert {region: outcome(Phone.from_caller_id, case["raw"], region) for region in REGIONS} == \
        case["normalise_caller"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_enrolment_numbers_as_before(case):
    got = {region + (" foreign" if foreign else ""):
           outcome(Phone.parse, case["raw"], region, foreign=foreign)
           for region, foreign in ENROLMENT}
    assert got == case["normalise_phone"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_masked_as_before(case):
    assert mask(case["raw"]) == case["mask"]


def test_the_changed_inputs_are_in_the_table():
    recorded = {(rule, case["raw"]): case[rule] for case in CASES for rule in ("unchecked_phone",)}
    for key, now in CHANGED.items():
        assert key in recorded and recorded[key] != now


# ---- the value ------------------------------------------------------------------------------

def test_a_phone_is_a_frozen_hashable_value_shown_masked():
    a, b = Phone.parse("+91 98765 43210", "IN"), Phone.parse("098765 43210", "IN")
    assert a == b == Phone("919876543210") and len({a, b}) == 1
    assert a.digits == "919876543210" and a.e164 == "+919876543210"
    assert a.masked == str(a) == f"{a}" == "*********210" and repr(a) == "Phone('*********210')"
    with pytest.raises(AttributeError):
        a.digits = "919000000000"                                    # type: ignore[misc]


@pytest.mark.parametrize("digits", ["", "12", "+919876543210", "91 98765", "1234567890123456",
                                    "\u0669\u0668\u0667", None, 919876543210])
def test_a_phone_holds_3_to_15_ascii_digits_and_says_so_masked(digits):
    with pytest.raises(PhoneError, match="digits only, 3 to 15 of them") as e:
        Phone(digits)
    assert "98765" not in str(e.value)


def test_every_refusal_is_a_value_error_naming_no_number():
    with pytest.raises(ValueError, match=r"phone \*{11}234: too long for IN") as e:
        Phone.parse("98765 43210 1234", "IN")
    assert isinstance(e.value, PhoneError) and "98765" not in str(e.value)


# ---- properties -----------------------------------------------------------------------------

REGION = st.sampled_from(["IN", "KE", "GB", "US", "DE", "BR"])
WRITTEN = st.one_of(
    st.text(max_size=25),
    st.from_regex(r"\A\+?[0-9 ().-]{0,22}\Z"),
    st.builds(lambda p, d: p + d, st.sampled_from(["", "+", "+91", "0", "91", "+254", "00", "+1"]),
              st.text("0123456789 -", max_size=16)))
NUMBERS = st.builds(lambda p, d: p + d,
                    st.sampled_from(["+91 9", "+91 7", "+254 7", "+44 7", "+1 415", "+49 15", "09",
                                     "9", "07"]),
                    st.text("0123456789", min_size=5, max_size=9))


def parsed_or_none(raw: str, region: str, **kw) -> Phone | None:
    try:
        return Phone.parse(raw, region, **kw)
    except PhoneError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(NUMBERS, WRITTEN), REGION)
def test_parse_reads_back_its_own_e164(raw, region):
    phone = parsed_or_none(raw, region, foreign=True)
    if phone is not None:
        assert Phone.parse(phone.e164, region, foreign=True) == phone
        assert Phone.parse(phone.e164, "IN", foreign=True) == phone      # whatever the region
        assert Phone.from_caller_id(phone.e164, region) == phone


@settings(max_examples=300, deadline=None)
@given(st.one_of(NUMBERS, WRITTEN), REGION)
def test_every_way_in_gives_only_ascii_digits(raw, region):
    ways = [lambda: Phone.parse(raw, region, foreign=True), lambda: Phone.unchecked(raw),
            lambda: Phone.plain(raw), lambda: Phone.from_caller_id(raw, region)]
    for way in ways:
        try:
            phone = way()
        except PhoneError:
            continue
        if phone is not None:
            assert re.fullmatch(r"[0-9]{3,15}", phone.digits), phone.digits
    reduced = Phone.reduced_caller_id(raw)
    assert reduced is None or re.fullmatch(r"\+?[0-9]{6,15}", reduced)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=30), st.text("0123456789+", max_size=20)))
def test_masked_shows_at_most_the_last_three_characters(text):
    shown = mask(text)
    if not text:
        assert shown == "-"
    else:
        assert len(shown) == max(len(text), 3) and shown[:-3] == "*" * (len(shown) - 3)
        assert shown[-3:] in (text[-3:], "***")
        assert sum(c.isdigit() for c in shown) <= 3


@settings(max_examples=200, deadline=None)
@given(st.text("0123456789", min_size=3, max_size=15))
def test_a_phone_masked_keeps_its_length_and_last_three_digits(digits):
    phone = Phone(digits)
    assert phone.masked == ("*" * (len(digits) - 3) + digits[-3:] if len(digits) > 3 else "***")
    assert phone.digits not in phone.masked or len(digits) <= 3


# ---- each way in, by example (were tests/protocol/test_ami.py's phone_digits and mask) --------

@pytest.mark.parametrize("raw,digits", [("+91 90000-10001", "919000010001"), ("100", "100"),
                                        ("(022) 555.1234", "0225551234"),
                                        ("9190000\r\n1", "91900001")])  # whitespace is dropped
def test_plain_digits(raw, digits):
    assert Phone.plain(raw).digits == digits


@pytest.mark.parametrize("raw", ["", "12", "91900001000123456", "9190000;1", "abc", "+91+9",
                                 "91900001\x00"])
def test_bad_plain_numbers(raw):
    with pytest.raises(PhoneError):
        Phone.plain(raw)


def test_mask_keeps_only_last_three_digits():
    assert mask("919000010001") == "*********001"
    assert mask("12") == "***" and mask(None) == "-"
