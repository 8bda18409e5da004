"""Every command has help with an example; README lists every command."""
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parent.parent


def all_commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        path = prefix + (name,)
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, path)


COMMANDS = list(all_commands())


@pytest.mark.parametrize("path,cmd", COMMANDS,
                         ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help(path, cmd):
    for flag in ("--help", "-h"):
        result = CliRunner().invoke(main, [*path, flag])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output
    if not isinstance(cmd, click.Group):
        assert "Example" in (cmd.help or ""), f"ivr {' '.join(path)} has no example in its help"


def test_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [" ".join(p) for p, cmd in COMMANDS
               if not isinstance(cmd, click.Group) and f"ivr {' '.join(p)}" not in readme]
    assert not missing, f"README does not mention: {missing}"


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
