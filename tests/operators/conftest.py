"""A private state directory per test (no configuration file) and a CliRunner bound to it,
run twice (the `database` fixture): on its own SQLite file and on a new PostgreSQL database
of the private cluster (IVR_DATABASE = its address). `pytest -k postgres` selects the
PostgreSQL runs, `-k sqlite` the others. Dates are relative to today: the commands read the
real clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from tests.databases import Database


class Cli:
    def __init__(self, home: Path, database: Database):
        self.home = home
        self.database = database
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(main, list(args), input=input, catch_exceptions=False)

    def sql(self, sql: str, *params: Any) -> list[tuple]:
        return self.database.sql(sql, *params)

    @property
    def db(self) -> Path:
        """The SQLite file (the SQLite run only)."""
        assert isinstance(self.database.address, Path), "a file of the SQLite store"
        return self.database.address

    @property
    def key_file(self) -> Path:
        return self.database.key_file


@pytest.fixture
def cli(database, monkeypatch) -> Cli:
    for var in ("IVR_CONFIG", "IVR_DATABASE", "IVR_PROGRAMME", "IVR_ACTOR",
                "IVR_ERASURE_KEY", "IVR_TIMEZONE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in database.env().items():
        monkeypatch.setenv(var, value)
    return Cli(database.home, database)


def dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


# the programme's today (mMitra: Asia/Kolkata), which the commands check dates against: from
# 18:30 UTC it is a day ahead of the UTC date
TODAY = datetime.now(ZoneInfo("Asia/Kolkata")).date()
LMP = TODAY - timedelta(weeks=12)
