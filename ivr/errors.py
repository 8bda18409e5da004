"""The errors a user can act on: one root, three branches. Pure (stdlib only), so that the
pure core (scheduler/, ivr/protocol/, audio/catalogue.py) raises them too.

    IvrError            a failure the user can act on; the message says what, and how to fix it
    ├── BadInput        what the user gave is wrong: an option's value, a record, a file, the
    │                   configuration, the programme; fix it and run the command again
    ├── Unavailable     something the command needs cannot be reached or used now: Asterisk,
    │                   the database, the sandbox, a tool, a lock held by another process
    └── ProblemsFound   a check ran and found problems (it has reported them already)

Every branch exits 1 (README, "Exit codes"); ivr/commands/errors.py maps them to what the
command line prints, in one place. Usage errors (exit 2: an unknown option, a bad value of an
option) are click's own (click.UsageError, click.BadParameter), raised where the option is read.

Control flow inside one module (a rollback, a dry run, a hung-up AGI session) uses private
exceptions that never reach the user and stay outside this hierarchy.
"""
from __future__ import annotations


class IvrError(Exception):
    """A failure the user can act on; its message says what and, where it can, how to fix it."""


class BadInput(IvrError):
    """What the user gave is wrong: an option's value, a record, a file, the configuration."""


class Unavailable(IvrError):
    """Something the command needs cannot be reached or used now (Asterisk, the database,
    the sandbox, a tool, a lock another process holds)."""


class ProblemsFound(IvrError):
    """A check found problems and has reported them; the message, if any, sums them up."""
