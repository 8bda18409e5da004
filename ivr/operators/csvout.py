"""The one CSV writer of the command line (`--csv` of every command): cells that a spreadsheet
would run as a formula are neutralised, as OWASP advises against CSV injection.

The rule, decided by the value's type and not by its text:
- int and float values (finite) are written as they are: a negative count or a share is a
  genuine number and must stay one in the spreadsheet ("-3" from an int stays -3).
- Every other value is text (names, partners, phone numbers, dates...): if it starts with
  = + - @, a tab or a carriage return (also after leading blanks), a single quote is put in
  front, so the spreadsheet shows it as text and never evaluates it. A phone number in E.164
  ("+919876543210") is therefore written '+919876543210: still the right number, read as text.
- None is an empty cell.
"""
from __future__ import annotations

import csv
import math
from typing import Iterable, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or isinstance(value, float) and math.isfinite(value):
        return value
    text = str(value)
    if text.lstrip(" \n").startswith(FORMULA_START):
        return "'" + text
    return text


class CsvOut:
    """csv.writer over a text stream ("\\n" line ends), every cell through safe_cell."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)
