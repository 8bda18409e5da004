"""What every command shares: the composition root (configuration and programme, loaded once),
exit codes, the one mapping of errors to what the command line prints, output."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Sequence

import click

from ivr.config import Config, ConfigError, load_config
from ivr.errors import IvrError, ProblemsFound

if TYPE_CHECKING:
    from scheduler.programme import Programme

# Exit codes, documented in README ("Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1       # the command failed, or a check found problems
EXIT_USAGE = 2         # bad arguments or options (click's own code for usage errors)


class Failed(click.ClickException):
    """An IvrError as the command line shows it: `error: <message>` on standard error
    (with the journal's error priority when standard error is the journal), exit 1."""
    exit_code = EXIT_FAILURE

    def show(self, file=None) -> None:
        show_error(self.format_message())


class Reported(click.ClickException):
    """ProblemsFound: the problems are on the screen already; the summary (if any) as it is."""
    exit_code = EXIT_FAILURE

    def show(self, file=None) -> None:
        if self.message:
            click.echo(self.message, err=True)


def click_error(error: IvrError) -> click.ClickException:
    """THE mapping of the errors of ivr/errors.py to the command line (README, "Exit codes"):
    every IvrError exits 1; a check's ProblemsFound prints only its summary, every other
    error `error: <message>`. Usage errors (exit 2) are click's own."""
    if isinstance(error, ProblemsFound):
        return Reported(str(error))
    return Failed(str(error))


class Group(click.Group):
    """Every group of `ivr`: an IvrError raised anywhere below a command reaches the user
    through click_error, the one mapping. A command catches one only to add what it knows
    (`<file>, line 3: ...`, "stop it first")."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IvrError as e:
            raise click_error(e) from None


def _operator_file(load, *args):
    """Load a file the operator edits (ivr.toml, a programme). Its problems have always been
    shown click's way (`Error: <message>`, exit 1); the glossary lists unifying this as to do."""
    from scheduler.programme import ProgrammeError
    try:
        return load(*args)
    except (ConfigError, ProgrammeError) as e:
        raise click.ClickException(str(e)) from None


@dataclass
class Settings:
    """The composition root of the command line: the configuration and the configured
    programme, each loaded once (on first use) and shared by everything the command builds."""
    config_path: Path | None = None
    _config: Config | None = field(default=None, repr=False)
    _programmes: "list[Programme] | None" = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = _operator_file(load_config, self.config_path)
        return self._config

    @property
    def programmes(self) -> "list[Programme]":
        """The installation's programmes ([ivr] programmes), the default first."""
        if self._programmes is None:
            from scheduler.programme import load_programme
            self._programmes = [_operator_file(load_programme, name)
                                for name in self.config.programmes]
        return self._programmes

    @property
    def programme(self) -> "Programme":
        """The configured programme (the first of [ivr] programmes: the default)."""
        return self.programmes[0]

    def programme_named(self, name: str | None) -> "Programme":
        """A programme named by an option (--programme): one of the installation's by its
        name, else a shipped one or a file; None: the configured one."""
        from scheduler.programme import load_programme
        if name is None:
            return self.programme
        for p in self.programmes:
            if name == p.name:
                return p
        return _operator_file(load_programme, name)

    def run_programme(self, name: str | None) -> "Programme":
        """The installation's programme of this name (--programme of enrol, import, report):
        None is the only one; a name it does not run, or none when it runs several, is a
        usage error naming them."""
        names = [p.name for p in self.programmes]
        if name is None and len(names) == 1:
            return self.programme
        if name is None:
            raise click.UsageError(f"this installation runs several programmes "
                                   f"({', '.join(names)}): name hers with --programme")
        for p in self.programmes:
            if name == p.name:
                return p
        raise click.UsageError(f"--programme {name!r}: this installation does not run it "
                               f"(it runs: {', '.join(names)}; [ivr] programmes)")

    def open_schedule(self, *, read_only: bool = False):
        """The configured database, opened once for the command, with the rules of each
        programme (an async context manager of a Schedules, ivr/adapters/schedules.py)."""
        from ivr.operators.session import open_schedule
        return open_schedule(self.config, self.programmes, read_only=read_only)


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def show_error(message: str) -> None:
    """`error: <message>` on standard error: how every failure reads."""
    from ivr.journal import journal_prefix
    click.echo(f"{journal_prefix(3)}error: {message}", err=True)


def fail(message: str) -> NoReturn:
    """Print a message to standard error and exit 1."""
    show_error(message)
    raise SystemExit(EXIT_FAILURE)


def emit_json(obj) -> None:
    """Data goes to standard output, one JSON object per line."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str, sort_keys=True))


def emit_rows(rows: list[dict], columns: Sequence[str], *, as_json: bool, as_csv: bool) -> bool:
    """A listing's rows as data on standard output: --json, each row one JSON object a line;
    --csv, a header of `columns` then each row's values of them (a missing one empty), through
    the one CSV writer (ivr/operators/csvout.py: formulas neutralised). False when neither was
    asked: the command shows its own text."""
    if as_json:
        for row in rows:
            emit_json(row)
    elif as_csv:
        from ivr.operators.csvout import CsvOut
        out = CsvOut(sys.stdout)
        out.writerow(columns)
        out.writerows([row.get(c) for c in columns] for row in rows)
    return as_json or as_csv


def say(message: str) -> None:
    """People's messages and progress go to standard error."""
    click.echo(message, err=True)


def confirm_destructive(yes: bool, question: str) -> None:
    """A destructive command asks first; off a terminal it needs --yes (exit 2 without)."""
    if yes:
        return
    if not sys.stdin.isatty():
        click.echo(f"error: {question}: add --yes to confirm", err=True)
        raise SystemExit(EXIT_USAGE)
    click.confirm(question, abort=True, err=True)


def is_terminal() -> bool:
    return sys.stderr.isatty()
