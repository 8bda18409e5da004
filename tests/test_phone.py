"""Phone numbers: what each way in accepts and refuses, word for word, and how a number is
masked.

tests/phone_cases.jsonl was recorded from the rules as they stood at commit f77e554 (five
normalisers and the masker: phone_digits, normalise_caller, normalise_phone, unchecked_phone,
valid_caller, mask), one line per input: each rule's result, or {"refused": its message}.
The table pins what people see at enrolment, import, record fixes, `ivr call test` and
missed-call intake; the functions below are the rules under test.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.callers import normalise_caller
from ivr.missed_spool import valid_caller
from ivr.operators.normalise import normalise_phone, unchecked_phone
from ivr.protocol.ami import mask, phone_digits

CASES = [json.loads(line) for line in
         (Path(__file__).parent / "phone_cases.jsonl").read_text(encoding="utf-8").splitlines()]
REGIONS = ["IN", "KE", "GB", "US"]
ENROLMENT = [("IN", False), ("IN", True), ("KE", False), ("GB", False), ("US", False)]


def outcome(rule, *args, **kwargs):
    try:
        return rule(*args, **kwargs)
    except ValueError as e:
        return {"refused": str(e)}


def by_raw(case: dict) -> str:
    return ascii(case["raw"])


def test_the_table_covers_every_kind_of_input():
    kinds = {"accepted": 0, "refused": 0}
    for case in CASES:
        kinds["refused" if isinstance(case["normalise_phone"]["IN"], dict) else "accepted"] += 1
    assert len(CASES) == 80 and min(kinds.values()) >= 20


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_plain_digits_as_before(case):
    assert outcome(phone_digits, case["raw"]) == case["phone_digits"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_unchecked_numbers_as_before(case):
    assert outcome(unchecked_phone, case["raw"]) == case["unchecked_phone"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_spooled_caller_ids_as_before(case):
    assert outcome(valid_caller, case["raw"]) == case["valid_caller"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_caller_ids_as_before(case):
    assert {region: outcome(normalise_caller, case["raw"], region) for region in REGIONS} == \
        case["normalise_caller"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_enrolment_numbers_as_before(case):
    got = {region + (" foreign" if foreign else ""):
           outcome(normalise_phone, case["raw"], region, foreign=foreign)
           for region, foreign in ENROLMENT}
    assert got == case["normalise_phone"]


@pytest.mark.parametrize("case", CASES, ids=by_raw)
def test_masked_as_before(case):
    assert mask(case["raw"]) == case["mask"]
