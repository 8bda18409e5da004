"""Caller numbers from the network, reduced to the E.164 digits the store keeps. Pure."""
from __future__ import annotations

import phonenumbers

from ivr.protocol.ami import phone_digits


def normalise_caller(raw: str, region: str = "IN") -> str | None:
    """'+91 98765 43210', '919876543210', '09876543210', '9876543210' -> '919876543210'.
    None when the caller ID is not a phone number (withheld, letters, too long...).
    Numbers phonenumbers cannot place (the sandbox's short simulated numbers) keep their
    digits as given, without a leading '+'."""
    try:
        digits = phone_digits(raw)
    except ValueError:
        return None
    text = raw.strip()
    try:
        parsed = phonenumbers.parse(text if text.startswith("+") else digits, region)
    except phonenumbers.NumberParseException:
        return digits
    if phonenumbers.is_possible_number(parsed) and (text.startswith("+") or not
                                                     digits.startswith(str(parsed.country_code))):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
    return digits
