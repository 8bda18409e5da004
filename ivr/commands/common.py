"""What every command shares: the settings object, exit codes, error mapping, output."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from ivr.config import Config, ConfigError, load_config

# Exit codes, documented in README ("Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1       # the command failed, or a check found problems
EXIT_USAGE = 2         # bad arguments or options (click's own code for usage errors)


class DomainError(Exception):
    """A clear, user-facing failure: bad input, missing file, Asterisk unreachable..."""


@dataclass
class Settings:
    config_path: Path | None = None
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as e:
                raise click.ClickException(str(e)) from None
        return self._config


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def fail(message: str) -> "click.exceptions.Exit":
    """Print a message to standard error and exit 1."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_FAILURE)


def emit_json(obj) -> None:
    """Data goes to standard output, one JSON object per line."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str, sort_keys=True))


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
