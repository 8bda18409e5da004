"""A private state directory per test (its own SQLite file, no configuration file) and a
CliRunner bound to it. Dates are relative to today: the commands read the real clock."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from cli import main


class Cli:
    def __init__(self, home):
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(main, list(args), input=input, catch_exceptions=False)

    @property
    def db(self):
        return self.home / "ivr.db"


@pytest.fixture
def cli(tmp_path, monkeypatch) -> Cli:
    for var in ("IVR_CONFIG", "IVR_DATABASE", "IVR_PROGRAMME", "IVR_ACTOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("IVR_HOME", str(tmp_path / "var"))
    return Cli(tmp_path / "var")


def dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


TODAY = date.today()
LMP = TODAY - timedelta(weeks=12)
