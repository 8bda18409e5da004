"""What people type, made exact: dates in the formats people write, short text fields (phone
numbers: ivr.phone.Phone). No I/O; every refusal is a ValueError whose message says what to
write instead.
"""
from __future__ import annotations

import re
from datetime import date

# Dates: India (and most of the world) writes the day first. Documented in `ivr import --help`.
DATE_FORMATS_HELP = ("2026-03-15, 15/03/2026, 15-03-2026, 15.03.2026, 15 Mar 2026, "
                     "15-Mar-2026, 15 March 2026 (numbers are read day first: DD/MM/YYYY)")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{2,4})")
_WORDS = re.compile(r"(\d{1,2})[\s-]*([A-Za-z]+)\.?,?[\s-]*(\d{2,4})")
_MONTHS = {name: i + 1 for i, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december"))) for name in names}
# C0 and C1 controls, DEL, and the invisible bidi controls (embeddings, overrides, isolates,
# marks) and line/paragraph separators: a name with U+202E shows reversed in every table and
# CSV that prints it. ZWJ/ZWNJ (U+200C/U+200D) are allowed: Indian scripts need them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                      "\u202a-\u202e\u2066-\u2069]")


def parse_date(text: str) -> date:
    """'2026-03-15', '15/03/2026', '15-03-2026', '15.03.2026', '15 Mar 2026', '15-Mar-2026'
    -> date(2026, 3, 15). Numbers are read day first. Two-digit years are refused (is '26'
    1926 or 2026?), and so is a month above 12 with a hint that dates are day first."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("empty date")
    if m := _ISO.fullmatch(raw):
        y, mo, d = (int(g) for g in m.groups())
    elif m := _DAY_FIRST.fullmatch(raw):
        d, mo, y = int(m.group(1)), int(m.group(3)), _year(m.group(4), raw)
        if mo > 12 and d <= 12:
            raise ValueError(f"date {raw!r}: month {mo} does not exist; dates are read day "
                             f"first (DD/MM/YYYY), so write {mo:02d}/{d:02d}/{y}")
    elif m := _WORDS.fullmatch(raw):
        d, month, y = int(m.group(1)), m.group(2).lower(), _year(m.group(3), raw)
        if month not in _MONTHS:
            raise ValueError(f"date {raw!r}: unknown month {m.group(2)!r} (write Jan, Feb, ...)")
        mo = _MONTHS[month]
    else:
        raise ValueError(f"date {raw!r} not understood; write it like {DATE_FORMATS_HELP}")
    try:
        return date(y, mo, d)
    except ValueError:
        raise ValueError(f"date {raw!r} does not exist (day {d}, month {mo}, year {y}; "
                         "dates are read day first)") from None


def _year(text: str, raw: str) -> int:
    if len(text) != 4:
        raise ValueError(f"date {raw!r}: write the year with four digits (e.g. 2026)")
    return int(text)


def optional_date(text: str | None) -> date | None:
    return parse_date(text) if text and text.strip() else None


def forbidden_character(value: str) -> str | None:
    """The first control or bidi-control character of `value` as 'U+202E', or None. A tab
    is allowed (free text turns it into a space)."""
    m = _CONTROL.search(value.replace("\t", " "))
    return None if m is None else f"U+{ord(m.group()):04X}"


def short_text(value: str | None, field: str, limit: int = 100) -> str | None:
    """Free text an operator enters (name, partner, health worker), the one check of enrol,
    import and update: trimmed, None when empty; control characters (C0, C1) and bidi
    controls (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F...) refused."""
    if value is None:
        return None
    bad = forbidden_character(value)
    if bad:
        raise ValueError(f"{field}: control character {bad} is not allowed")
    text = " ".join(value.split())
    if not text:
        return None
    if len(text) > limit:
        raise ValueError(f"{field}: longer than {limit} characters")
    return text
