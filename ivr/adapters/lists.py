"""A test of a column against a long list of texts (phones, hashes), by store: on
PostgreSQL one array parameter for the whole list (one statement, planned once), on SQLite
IN lists of at most 500 bound variables (its limit is per statement)."""
from __future__ import annotations

from typing import Iterator, Sequence

from ivr.adapters.store import Store

CHUNK = 500


def any_of(store: Store, column: str, values: Sequence[str]) -> Iterator[tuple[str, tuple]]:
    """(condition, parameters) pairs whose conditions, each run in its own statement,
    together cover `values`: `column` equal to one of them."""
    if not values:
        return
    if store.dialect == "postgresql":
        yield f"{column} = ANY(?::text[])", (list(values),)
        return
    for i in range(0, len(values), CHUNK):
        part = tuple(values[i:i + CHUNK])
        yield f"{column} IN ({', '.join('?' * len(part))})", part
