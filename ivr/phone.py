"""Phone numbers: one value for every number the service keeps, dials or is called from, and
the one rule that masks a number wherever it is shown. Pure (no I/O).

A `Phone` holds the digits the store keeps: E.164 without the '+' ('919876543210'), or, for
the sandbox's simulated phones and test calls, the digits as written ('9000011'). Each way a
number comes in has its constructor, with that door's rule and refusal messages:

    Phone.parse(raw, region, foreign=)   enrolment, import, `ivr women update`: a valid
                                         number, read in the programme's region
    Phone.unchecked(raw)                 the sandbox's simulated phones: 3 to 15 digits as given
    Phone.plain(raw)                     `ivr call test --to`: 3 to 15 digits, '+' in front only
    Phone.reduced_caller_id(raw)         a caller ID as the dialplan keeps it (the spool's text)
    Phone.from_caller_id(text, region)   that text as the woman's stored number, or None

A refusal is a PhoneError (a ValueError) whose message shows the number masked. str() and
repr() of a Phone are masked as well: a Phone in a log line or an f-string never shows in
clear; `.digits` (the store's form) and `.e164` ('+919876543210') are asked for by name.

Beside the number's masking rule, the one for a person's name (a woman's, her health
worker's, a worker's): `mask_name`, her initials.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from ivr.errors import BadInput

SHOWN = 3                                   # a masked number shows its last 3 characters
_STORED = re.compile(r"[0-9]{3,15}")        # ITU E.164: at most 15 digits
_PLAIN = re.compile(r"\+?[0-9]{3,15}")
_SEPARATORS = re.compile(r"[\s().-]")       # what may surround the digits of a plain number
# a caller ID as the dialplan keeps it (FILTER(0123456789+), at most 16 characters) and as a
# missed call's spool file carries it: digits with an optional leading '+'
CALLER_ID = re.compile(r"\+?[0-9]{6,15}")
_WHY_INVALID = {phonenumbers.ValidationResult.TOO_SHORT: "too short",
                phonenumbers.ValidationResult.TOO_LONG: "too long",
                phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code"}


class PhoneError(BadInput, ValueError):
    """A number that cannot be used; the message says why and shows the number masked."""


def mask(text: str | None) -> str:
    """The one masking rule, for a number or any text that may hold one: every character but
    the last 3 becomes '*' ('919876543210' -> '*********210', '+9190' -> '**190'); 3
    characters or fewer -> '***'; nothing -> '-'."""
    if not text:
        return "-"
    text = str(text)
    return "*" * (len(text) - SHOWN) + text[-SHOWN:] if len(text) > SHOWN else "*" * SHOWN


def mask_name(text: str | None) -> str:
    """The one masking rule for a person's name, in any script: the first character of each
    word and a dot ('Seema Patil' -> 'S. P.', 'सीमा पाटील' -> 'स. प.'); nothing -> '-'.
    Initials let an operator tell the women of a short list apart without reading their
    names; the name itself is shown only with --reveal."""
    words = str(text or "").split()
    if not words:
        return "-"
    return ". ".join([w[0] for w in words]).upper() + "."    # upper(): char by char


@dataclass(frozen=True, slots=True, repr=False)
class Phone:
    """The digits the store keeps (see the module's docstring); PhoneError unless they are
    3 to 15 ASCII digits."""
    digits: str

    def __post_init__(self) -> None:
        if not (isinstance(self.digits, str) and _STORED.fullmatch(self.digits)):
            raise _refused(str(self.digits), "digits only, 3 to 15 of them")

    @property
    def e164(self) -> str:
        """'+919876543210' (the number in clear)."""
        return "+" + self.digits

    @property
    def masked(self) -> str:
        return mask(self.digits)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Phone({self.masked!r})"

    # ------------------------------------------------------------------ the ways in
    @classmethod
    def parse(cls, raw: str, region: str, *, foreign: bool = False) -> Phone:
        """A woman's mobile number: '+91 98765 43210', '098765 43210', '9876543210' ->
        919876543210. Written without +country, it is read in `region` (the programme's).
        Refused when it is not a valid number, or when it belongs to another country than
        `region` and `foreign` (the programme's allow_foreign_numbers) is false."""
        text = (raw or "").strip()
        if not text:
            raise PhoneError("no phone number")
        if re.search(r"[A-Za-z]", text):
            raise _refused(text, "letters in a phone number")
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            raise _refused(text, "not a phone number") from None
        if not phonenumbers.is_valid_number(parsed):
            why = _WHY_INVALID.get(phonenumbers.is_possible_number_with_reason(parsed),
                                   "not a valid number")
            where = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
            raise _refused(text, f"{why} for {where} (+{parsed.country_code})")
        home = phonenumbers.country_code_for_region(region)
        if not foreign and parsed.country_code != home:
            where = phonenumbers.region_code_for_number(parsed) or "another country"
            raise _refused(text, f"a number of {where} (+{parsed.country_code}), outside the "
                                 f"programme's region {region} (+{home}); a programme with "
                                 "allow_foreign_numbers = true accepts it")
        return cls(_e164_digits(parsed))

    @classmethod
    def unchecked(cls, raw: str) -> Phone:
        """The digits as given, 3 to 15 of them, among spaces, dots, dashes, parentheses and
        '+' signs: the sandbox's simulated phones ('+91 90000 11' -> 919000011). No validity
        check. Digits of other scripts ('٩٠٠٠٠١١') are kept as their ASCII digits."""
        digits = _all_digits(raw or "")
        if not (3 <= len(digits) <= 15) or re.sub(r"[\s().+-]", "", raw or "") != digits:
            raise _refused(digits, "digits only, 3 to 15 of them")
        return cls(digits if digits.isascii() else "".join(str(int(d)) for d in digits))

    @classmethod
    def plain(cls, raw: str) -> Phone:
        """'+91 90000-10001' -> 919000010001: 3 to 15 ASCII digits, only a leading '+',
        spaces, dashes, dots and parentheses around them. No validity check."""
        cleaned = _SEPARATORS.sub("", raw or "")
        if not _PLAIN.fullmatch(cleaned):
            raise PhoneError(f"not a phone number (digits only, 3 to 15 of them): "
                             f"{mask(cleaned)!r}")
        return cls(cleaned.lstrip("+"))

    @staticmethod
    def reduced_caller_id(raw: str) -> str | None:
        """Her caller ID reduced as the dialplan does (digits and '+', 16 characters at
        most): digits with an optional leading '+' ('+91-98765-43210' -> '+919876543210'),
        or None when it is withheld, too short or too long to be a phone number. The first of
        a caller ID's two steps (the script that spools a missed call knows no region);
        `from_caller_id` is the second."""
        text = "".join(c for c in raw if c in "0123456789+")[:16]
        return text if CALLER_ID.fullmatch(text) else None

    @classmethod
    def from_caller_id(cls, text: str, region: str) -> Phone | None:
        """A caller ID as her stored number: '+91 98765 43210', '919876543210',
        '09876543210', '9876543210' -> 919876543210 (national numbers read in `region`).
        None when it is not a phone number (withheld, letters, too long, digits that do not
        read back as themselves...). Numbers phonenumbers cannot place (the sandbox's short
        simulated numbers) keep their digits as given. Stable: from_caller_id(p.e164) == p."""
        try:
            digits = cls.plain(text).digits
        except PhoneError:
            return None
        written = text.strip()
        international = written.startswith("+")
        try:
            parsed = phonenumbers.parse(written if international else digits, region)
        except phonenumbers.NumberParseException:
            return _read_back(digits)
        if phonenumbers.is_possible_number(parsed) and (
                international or not digits.startswith(str(parsed.country_code))):
            return _read_back(_e164_digits(parsed))
        return _read_back(digits)


def _read_back(digits: str) -> Phone | None:
    """The digits, if they are E.164 and read back as themselves: no country code starts with
    0, and a national number of zeros (whose zeros the format drops) is nobody's."""
    if digits.startswith("0"):
        return None
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return Phone(digits)             # no country code phonenumbers knows: as given
    return Phone(digits) if _e164_digits(parsed) == digits else None


def _refused(text: str, why: str) -> PhoneError:
    """'phone *******210: <why>': the digits of `text`, masked."""
    return PhoneError(f"phone {mask(_all_digits(text))}: {why}")


def _e164_digits(parsed: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def _all_digits(text: str) -> str:
    return re.sub(r"\D", "", text)
