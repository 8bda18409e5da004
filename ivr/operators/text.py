"""Plain-text tables for the terminal (names in Devanagari and other scripts line up). Pure."""
from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """Columns a string takes on a terminal: combining marks take none, wide characters two."""
    w = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    """Rows as aligned columns with a header line; numbers right-aligned."""
    headers = headers or columns
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([width(h)] + [width(row[i]) for row in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) and rows
               for c in columns]

    def line(values: list[str]) -> str:
        parts = []
        for i, v in enumerate(values):
            pad = " " * (widths[i] - width(v))
            parts.append(pad + v if numeric[i] else v + pad)
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers)] + [line(r) for r in cells])
