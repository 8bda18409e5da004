"""One error hierarchy (ivr/errors.py) and one mapping of it to the command line
(ivr/commands/common.py, click_error): every public error class of the code is in the
hierarchy, every one is mapped, and the mapping prints and exits as README says."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import click
import pytest
from click.testing import CliRunner

from cli import main
from ivr.commands.common import EXIT_FAILURE, EXIT_USAGE, Failed, Group, Reported, click_error
from ivr.errors import BadInput, IvrError, ProblemsFound, Unavailable
from tests.test_cli_help import COMMANDS

PACKAGES = ("ivr", "scheduler", "audio")
BRANCHES = (BadInput, Unavailable, ProblemsFound)
# Control flow inside one module, never shown as it is: outside the hierarchy on purpose.
CONTROL_FLOW = {
    "ivr.operators.enrolment.RowFailed",    # rolls an import back; `ivr import` names the row
    "ivr.adapters.fastagi.AgiHangup",       # the caller hung up: the AGI route ends
    "ivr.adapters.fastagi.AgiTimeout",      # Asterisk did not answer an AGI command in time
}


def module_names() -> list[str]:
    names = ["cli"]
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        names += [m.name for m in pkgutil.walk_packages(path, package + ".")]
    return names


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in the code, by its dotted name."""
    found = {}
    for name in module_names():
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__ == name):
                found[f"{name}.{attr}"] = obj
    return found


ALL = exception_classes()
# the command line's own rendering of an error (Failed, Reported) is click's, not an error kind
PUBLIC = {name: cls for name, cls in ALL.items()
          if not name.rsplit(".", 1)[1].startswith("_") and name not in CONTROL_FLOW
          and not issubclass(cls, click.ClickException) and not name.startswith("ivr.errors.")}


def test_the_walk_sees_the_errors_of_every_layer():
    for name in ("scheduler.model.SchedulerError", "scheduler.programme.ProgrammeError",
                 "audio.catalogue.CatalogueError", "ivr.config_tables.ConfigError",
                 "ivr.adapters.store.StoreError", "ivr.adapters.ami.NotPlaced",
                 "ivr.sandbox.model.SandboxError", "ivr.operators.preview._Rollback"):
        assert name in ALL, name
    assert len(PUBLIC) >= 15


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_error_is_in_one_branch_of_the_hierarchy(name):
    assert issubclass(PUBLIC[name], BRANCHES), \
        f"{name} is outside ivr/errors.py: derive it from BadInput, Unavailable or ProblemsFound"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_error_is_mapped_to_exit_1_with_its_message(name):
    cls = PUBLIC[name]
    mapped = click_error(cls("what went wrong"))
    assert isinstance(mapped, Failed) and mapped.exit_code == EXIT_FAILURE == 1
    assert mapped.format_message() == "what went wrong"


@pytest.mark.parametrize("name", sorted(CONTROL_FLOW))
def test_control_flow_exceptions_exist_and_stay_outside(name):
    assert name in ALL, f"{name} is gone: take it off CONTROL_FLOW"
    assert not issubclass(ALL[name], IvrError)


def test_builtin_bases_are_kept_where_callers_catch_them():
    """Callers catch these as ValueError / OSError: the hierarchy adds a base, drops none."""
    from audio.catalogue import CatalogueError
    from ivr.intake import IntakeError
    from ivr.protocol.ami import UnsafeMessage, UnsafeValue
    assert issubclass(CatalogueError, ValueError) and issubclass(UnsafeValue, ValueError)
    assert issubclass(UnsafeMessage, ValueError) and issubclass(IntakeError, OSError)


def test_every_command_group_maps_errors_itself():
    """A group invoked on its own (tests call `ivr sandbox` so) maps errors the same way."""
    groups = [main] + [cmd for _, cmd in COMMANDS if isinstance(cmd, click.Group)]
    assert len(groups) > 5
    for group in groups:
        assert isinstance(group, Group), group.name


def raising(error: BaseException) -> click.Group:
    group = Group()

    @group.command()
    def boom():
        raise error
    return group


@pytest.mark.parametrize("error,code,stderr", [
    (BadInput("LMP 2031-01-01 is in the future"), 1, "error: LMP 2031-01-01 is in the future\n"),
    (Unavailable("AMI at 127.0.0.1:5038 refused the login"), 1,
     "error: AMI at 127.0.0.1:5038 refused the login\n"),
    (ProblemsFound("dialplan check: 2 problem(s) in 3 dialplan file(s)"), 1,
     "dialplan check: 2 problem(s) in 3 dialplan file(s)\n"),
    (ProblemsFound(), 1, ""),                      # the problems were reported already
    (click.UsageError("choose --json or --csv, not both"), 2, None),   # click's own
])
def test_the_mapping_prints_and_exits_as_readme_says(error, code, stderr):
    result = CliRunner().invoke(raising(error), ["boom"])
    assert result.exit_code == code, result.output
    if stderr is not None:
        assert result.stderr == stderr
        assert result.stdout == ""                 # data only on standard output
    else:
        assert code == EXIT_USAGE and "Error: choose --json or --csv" in result.stderr


def test_a_bug_is_not_dressed_up_as_an_error():
    result = CliRunner().invoke(raising(KeyError("bug")), ["boom"])
    assert isinstance(result.exception, KeyError)  # a traceback, not "error: 'bug'"


def test_reported_prints_only_its_summary():
    assert isinstance(click_error(ProblemsFound("x")), Reported)


def test_a_real_error_reaches_the_user_through_the_mapping(tmp_path):
    """`ivr db restore` of a file that is no database: BackupError, no translation of its own."""
    bad = tmp_path / "notes.db"
    bad.write_text("not a database\n")
    result = CliRunner().invoke(main, ["db", "restore", str(bad), "--yes"],
                                env={"IVR_HOME": str(tmp_path / "home"), "IVR_CONFIG": None})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {bad} is not an IVR database"), result.stderr


def test_a_programme_error_is_shown_as_it_always_was(tmp_path):
    """The files the operator edits (ivr.toml, a programme) keep click's `Error:`."""
    result = CliRunner().invoke(main, ["audio", "check", "--programme", "no-such"],
                                env={"IVR_HOME": str(tmp_path), "IVR_CONFIG": None})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no programme named 'no-such' (shipped: "), result.stderr
