"""Reading an enrolment CSV from a hospital or NGO: every row checked, every bad row named by
its line number and reason. No I/O: bytes in, an ImportPlan out (the command writes it).

The file: UTF-8 (a BOM is fine; Devanagari and other scripts are fine), comma-separated (a
semicolon-separated file from a spreadsheet is recognised by its header), Windows or Unix
line ends, blank lines skipped. Line numbers are the file's own (the header is line 1).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Sequence

from ivr.adapters.schedule_women import Enrolment
from ivr.errors import BadInput
from ivr.operators.normalise import forbidden_character, optional_date, short_text
from ivr.phone import Phone
from scheduler import lifecycle
from scheduler.model import SchedulerError, Subscriber
from scheduler.programme import Programme
from scheduler.slots import zone

# (column, required, meaning): the documented columns, in template order.
COLUMNS = (
    ("phone", True, "her own mobile number; +91 98765 43210, 098765 43210 or 9876543210 "
                    "(numbers without +country are read in the programme's region)"),
    ("name", False, "her name, any script (optional)"),
    ("language", True, "language code of the programme, e.g. hi, mr"),
    ("slot", False, "time slot name of the programme, e.g. 09-12 (default: the programme's)"),
    ("lmp", False, "last menstrual period (give LMP or EDD for a pregnancy)"),
    ("edd", False, "expected delivery date"),
    ("child_dob", False, "child's date of birth (instead of LMP/EDD: she starts on the "
                         "infant messages)"),
    ("partner", False, "enrolment partner: hospital or NGO"),
    ("health_worker", False, "health worker who enrolled her"),
    ("consent_date", True, "the day she gave her consent to the calls"),
    ("timezone", False, "IANA time zone (default: the programme's, e.g. Asia/Kolkata)"),
    ("programme", False, "her programme, one the installation runs (default: --programme, "
                         "else its only one)"),
)
COLUMN_NAMES = tuple(c[0] for c in COLUMNS)
REQUIRED = tuple(c[0] for c in COLUMNS if c[1])
EXAMPLE_ROW = {"phone": "+91 98765 43210", "name": "सीमा पाटील", "language": "hi",
               "slot": "09-12", "edd": "", "child_dob": "", "partner": "KEM Hospital",
               "health_worker": "Asha Kamble", "timezone": "", "programme": ""}


class ImportFileError(BadInput):
    """The file as a whole cannot be read (not UTF-8, no header, unknown columns)."""


@dataclass(frozen=True)
class Row:
    line: int
    enrolment: Enrolment
    programme: str = ""         # her programme's name

    @property
    def phone(self) -> str:
        return self.enrolment.subscriber.phone


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str
    duplicate: bool = False     # a duplicate is skipped, not an error
    refuses_file: bool = False  # a control or bidi character: nothing of the file is imported


@dataclass
class ImportPlan:
    rows: list[Row] = field(default_factory=list)           # good rows, to enrol
    problems: list[Problem] = field(default_factory=list)   # bad rows and in-file duplicates
    lines: int = 0                                           # data rows read (blank ones not)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.duplicate]

    @property
    def refused(self) -> list[Problem]:
        """Rows that make the whole file refused (control or bidi-control characters: a
        file that hides text is not trusted for any of its rows)."""
        return [p for p in self.problems if p.refuses_file]

    @property
    def duplicates(self) -> list[Problem]:
        return [p for p in self.problems if p.duplicate]


def template(today: date) -> str:
    """The header and one example row (12 weeks pregnant, consent today), as
    `ivr import --template` prints them: the example imports as it is."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMN_NAMES)
    example = dict(EXAMPLE_ROW, lmp=(today - timedelta(weeks=12)).strftime("%d/%m/%Y"),
                   consent_date=today.strftime("%d/%m/%Y"))
    w.writerow([example[c] for c in COLUMN_NAMES])
    return out.getvalue()


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ImportFileError(f"line {line}: the file is not UTF-8 text; in a spreadsheet "
                              "use \"Save as: CSV UTF-8\"") from None


def parse(data: bytes, programme: Programme | None, now: datetime, *,
          check_numbers: bool = True, programmes: Sequence[Programme] = ()) -> ImportPlan:
    """Every data row checked as `ivr enrol` would check it, at `now`, by the rules of her
    programme: the row's `programme` cell, one of `programmes` (the installation's), else
    `programme` (None: each row must name hers)."""
    installed = {p.name: p for p in (*programmes, *([programme] if programme else []))}
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, header_line = None, 0
    for cells in reader:
        if any(c.strip() for c in cells):
            header, header_line = [c.strip().lower().replace(" ", "_") for c in cells], \
                reader.line_num
            break
    if header is None:
        raise ImportFileError("the file is empty: it needs a header line "
                              f"({','.join(COLUMN_NAMES)})")
    unknown = [c for c in header if c and c not in COLUMN_NAMES]   # empty: a spreadsheet's
    if unknown:
        raise ImportFileError(f"line {header_line}: unknown column(s) "
                              f"{', '.join(map(repr, unknown))}"
                              f"; the columns are: {', '.join(COLUMN_NAMES)} "
                              "(see ivr import --template)")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(f"line {header_line}: missing column(s) {', '.join(missing)}; "
                              "see ivr import --template")
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        raise ImportFileError(f"line {header_line}: column(s) {', '.join(twice)} appear twice")

    plan = ImportPlan()
    seen: dict[str, int] = {}
    line = header_line
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue                                   # blank line (or only commas)
            plan.lines += 1
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                plan.problems.append(Problem(line, f"{len(cells)} values for {len(header)} "
                                                   "columns (a comma inside a name? quote it)"))
                continue
            values = dict(zip(header, cells, strict=False))   # a short row lacks its last columns
            hidden = [f"{c}: control character {bad} is not allowed"
                      for c, v in values.items() if (bad := forbidden_character(v))]
            if hidden:
                plan.problems.append(Problem(line, "; ".join(hidden), refuses_file=True))
                continue
            try:
                hers = _programme(values, programme, installed)
                row = Row(line, _enrolment(values, hers, now, check_numbers), hers.name)
            except (ValueError, SchedulerError) as e:
                plan.problems.append(Problem(line, str(e)))
                continue
            if row.phone in seen:
                plan.problems.append(Problem(line, f"same phone as line {seen[row.phone]}",
                                             duplicate=True))
                continue
            seen[row.phone] = line
            plan.rows.append(row)
    except csv.Error as e:
        raise ImportFileError(f"line {reader.line_num or line}: {e}") from None
    return plan


def _programme(v: dict[str, str], default: Programme | None,
               installed: dict[str, Programme]) -> Programme:
    """Her programme: the row's, else the file's default."""
    name = (v.get("programme") or "").strip().lower()
    if not name:
        if default is None:
            raise ValueError(f"no programme: name hers (the installation runs: "
                             f"{', '.join(installed)}), or give --programme")
        return default
    if name not in installed:
        raise ValueError(f"programme {name!r} is not run by this installation (it runs: "
                         f"{', '.join(installed)})")
    return installed[name]


def _enrolment(v: dict[str, str], programme: Programme, now: datetime,
               check_numbers: bool) -> Enrolment:
    get = lambda key: (v.get(key) or "").strip()          # noqa: E731
    raw_phone = get("phone")
    phone = (Phone.parse(raw_phone, programme.region, foreign=programme.allow_foreign_numbers)
             if check_numbers else Phone.unchecked(raw_phone)).digits
    language = get("language").lower()
    if not language:
        raise ValueError(f"no language (offered: {', '.join(programme.languages)})")
    tz = get("timezone") or programme.timezone
    zone(tz)
    sub = Subscriber(id=0, phone=phone, language=language,
                     slot=get("slot") or programme.default_slot, timezone=tz,
                     lmp=_date(v, "lmp"), edd=_date(v, "edd"), child_dob=_date(v, "child_dob"))
    consent = _date(v, "consent_date")
    return checked(programme, sub, now, name=short_text(v.get("name"), "name"),
                   partner=short_text(v.get("partner"), "partner"),
                   health_worker=short_text(v.get("health_worker"), "health_worker"),
                   consent_date=consent)


def checked(programme: Programme, sub: Subscriber, now: datetime, *, name: str | None,
            partner: str | None, health_worker: str | None,
            consent_date: date | None) -> Enrolment:
    """The checks of one enrolment (import row or `ivr enrol`) before the store's own."""
    if sub.language not in programme.languages:
        raise ValueError(f"language {sub.language!r} is not offered by {programme.name} "
                         f"(offered: {', '.join(programme.languages)})")
    try:
        programme.slot(sub.slot)
    except KeyError:
        raise ValueError(f"slot {sub.slot!r} is not a slot of {programme.name} "
                         f"(slots: {', '.join(s.name for s in programme.slots)})") from None
    if consent_date is None:
        raise ValueError("no consent date: she must have agreed to the calls")
    check_consent_date(consent_date, now.astimezone(zone(sub.timezone)).date())
    if sub.child_dob is not None and (sub.lmp or sub.edd):
        raise ValueError("give either the child's date of birth or LMP/EDD, not both")
    lifecycle.enrol(programme, sub, now)                  # dates: future, too old, mismatch
    return Enrolment(sub, name=name, partner=partner, health_worker=health_worker,
                     consent_date=consent_date)


EARLIEST_CONSENT = date(2000, 1, 1)


def check_consent_date(consent_date: date, today: date) -> None:
    """A consent date from 2000 to today (her local today): enrol, import and update."""
    if consent_date > today:
        raise ValueError(f"consent date {consent_date} is in the future")
    if consent_date < EARLIEST_CONSENT:
        raise ValueError(f"consent date {consent_date} is before {EARLIEST_CONSENT}: "
                         "a mistyped year?")


def _date(v: dict[str, str], key: str) -> date | None:
    try:
        return optional_date(v.get(key))
    except ValueError as e:
        raise ValueError(f"{key}: {e}") from None
