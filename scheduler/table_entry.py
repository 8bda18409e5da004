"""One entry of a `[[section]]` list of tables in a programme file, being read. Pure.

Shared by `[[question]]` (question_spec.py) and `[[followup]]` (followup_rules.py): errors
name the entry's key and the file's line (through the parser's `error`), unknown keys are
refused, the entry's own `key` is checked.
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Any, TypeVar

from scheduler.content import ErrorFn

KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
W = TypeVar("W", bound=Enum)


class TableEntry:
    section = ""                     # the [[section]] name in the file
    label = ""                       # how an error names the entry ("question 'fever': ...")
    known: tuple[str, ...] = ()      # the keys an entry may have

    def __init__(self, item: object, index: int, error: ErrorFn):
        if not isinstance(item, dict):
            raise error(f"each [[{self.section}]] entry must be a table", self.section, None,
                        index)
        self.item: dict[str, Any] = item
        self.index = index
        self._error = error

    def error(self, message: str, key: str | None) -> Exception:
        """An error at the line of `key` in this entry (its header line when None)."""
        where = self.item.get("key")
        prefix = f"{self.label} {where!r}: " if isinstance(where, str) else ""
        return self._error(prefix + message, self.section, key, self.index)

    def key(self) -> str:
        """The entry's key, once its keys are all known ones."""
        unknown = sorted(set(self.item) - set(self.known))
        if unknown:
            raise self.error(f"unknown key {unknown[0]!r} in [[{self.section}]] (known: "
                             f"{', '.join(self.known)})", unknown[0])
        key = self.item.get("key")
        if not (isinstance(key, str) and KEY.fullmatch(key)):
            raise self.error(f"key must be lower-case letters, digits, '_' and '-', got {key!r}",
                             "key" if "key" in self.item else None)
        return key

    def word(self, name: str, words: type[W]) -> W:
        """The value of `name`, one of the words of a str enum."""
        try:
            return words(self.item.get(name))
        except ValueError:
            raise self.error(f"{name} must be one of {', '.join(w.value for w in words)}, "
                             f"got {self.item.get(name)!r}",
                             name if name in self.item else None) from None
