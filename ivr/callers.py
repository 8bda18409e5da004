"""Caller numbers from the network, reduced to the E.164 digits the store keeps. Pure."""
from __future__ import annotations

import phonenumbers

from ivr.protocol.ami import phone_digits


def normalise_caller(raw: str, region: str = "IN") -> str | None:
    """'+91 98765 43210', '919876543210', '09876543210', '9876543210' -> '919876543210'.
    None when the caller ID is not a phone number (withheld, letters, too long, digits that
    do not read back as themselves...).  Numbers phonenumbers cannot place (the sandbox's
    short simulated numbers) keep their digits as given, without a leading '+'.  The result
    is E.164 digits (no leading 0), and normalising '+' + result gives it again
    (tests/protocol/test_fuzz.py)."""
    try:
        digits = phone_digits(raw)
    except ValueError:
        return None
    text = raw.strip()
    try:
        parsed = phonenumbers.parse(text if text.startswith("+") else digits, region)
    except phonenumbers.NumberParseException:
        return _checked(digits)
    if phonenumbers.is_possible_number(parsed) and (text.startswith("+") or not
                                                     digits.startswith(str(parsed.country_code))):
        return _checked(phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.E164)[1:])
    return _checked(digits)


def _checked(digits: str) -> str | None:
    """The digits, if they are E.164 and read back as themselves: no country code starts
    with 0, and a national number of zeros (whose zeros the format drops) is nobody's."""
    if digits.startswith("0"):
        return None
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return digits                    # no country code phonenumbers knows: as given
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return digits if e164 == "+" + digits else None
