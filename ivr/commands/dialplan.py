"""`ivr dialplan ...`: check the Asterisk files (and a running Asterisk) against the code,
install the missed-call fallback script."""
from __future__ import annotations

import grp
import os
import pwd
import sys
from pathlib import Path

import click

from ivr.commands.common import Group, Settings, emit_json, pass_settings, say
from ivr.dialplan.check import check_dialplan, check_manager
from ivr.dialplan.parse import Problem, inline_includes, parse_dialplan
from ivr import constants as C
from ivr import missed_fallback
from ivr.errors import ProblemsFound
from ivr.line_secret import LineSecretError, line_secret, write_include
from ivr.intake import BAD_DIR, IntakeError, prepare_spool

AMI_TEMPLATE = Path("ami") / "ivr-manager.conf"


def default_dir() -> Path:
    """dialplan/ of this checkout (the project runs from a checkout installed editable)."""
    return Path(__file__).resolve().parents[2] / "dialplan"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"cannot read {path}: {e}") from None


def production_files(directory: Path) -> dict[str, str]:
    if not directory.is_dir():
        raise click.ClickException(f"{directory} is not a directory of dialplan files")
    files = {str(p): _read(str(p)) for p in sorted(directory.glob("*.conf"))}
    if not files:
        raise click.ClickException(f"no *.conf dialplan files in {directory}")
    return files


@click.group(name="dialplan", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """The Asterisk side: check it against the code, install the fallback AGI script.

    \b
    Example:
      ivr dialplan check --live
    """


@command.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The dialplan files to check (default: dialplan/ of the "
              "project; on a server, the directory your extensions.conf includes).")
@click.option("--manager", "manager", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also check this manager.conf (e.g. /etc/asterisk/manager.conf) "
              "for the controller's AMI user named in ivr.toml.")
@click.option("--live", is_flag=True, help="Also ask the running Asterisk (AMI, as the "
              "controller's user): modules loaded, contexts loaded as in the files, globals "
              "as in ivr.toml, the fallback script installed, the user's rights.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per problem on "
              "standard output.")
@pass_settings
def check(settings: Settings, directory: Path | None, manager: Path | None, live: bool,
          as_json: bool) -> None:
    """Check the dialplan files against ivr/constants.py and the controller's contract.

    Prints one problem per line and exits 1 when there is any; exits 0 when all is well.

    \b
    Example:
      ivr dialplan check                         # the files of dialplan/
      ivr dialplan check --dir /etc/asterisk/ivr --manager /etc/asterisk/manager.conf --live
    """
    directory = directory or default_dir()
    files = production_files(directory)
    problems = check_dialplan(files)
    template = directory / AMI_TEMPLATE
    if template.exists():
        problems += check_manager(str(template), _read(str(template)))
    if manager is not None:
        try:
            text = inline_includes(str(manager), _read)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        problems += check_manager(str(manager), text, settings.config.ami.username)
    if live:
        from ivr.dialplan.live import LiveError, check_live
        try:
            problems += check_live(settings.config, parse_dialplan(files))
        except LiveError as e:
            problems.append(Problem("asterisk", 0, str(e)))
    _report(problems, as_json, len(files), live)


def _report(problems: list[Problem], as_json: bool, count: int, live: bool) -> None:
    for p in problems:
        if as_json:
            emit_json({"path": p.path, "line": p.line, "problem": p.message})
        else:
            click.echo(str(p))
    scope = f"{count} dialplan file(s)" + (" and the running Asterisk" if live else "")
    if problems:
        raise ProblemsFound(f"dialplan check: {len(problems)} problem(s) in {scope}")
    say(f"dialplan check: {scope} OK")


@command.command(name="install-agi")
@click.argument("agi_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--python", "python", default=sys.executable, show_default="this Python",
              help="The Python that has the project installed (its virtualenv).")
@click.option("--spool-owner", metavar="USER",
              help="Also create the missed-call spool (ivr.toml [ivr] missed_spool) now, owned "
                   "by USER (the controller's user) and its group, mode 0730; Asterisk's user "
                   "must be in that group. Without it, `ivr run` creates the spool at its start.")
@click.option("--line-secret-include", "line_include", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Also write FILE (mode 0640; chgrp it to Asterisk's group) setting the "
                   f"answered line's secret {C.GLOBAL_LINE_SECRET} (made once in the "
                   "controller's home, ivr.toml [ivr] line_secret): #include it inside "
                   "extensions.conf's [globals].")
@pass_settings
def install_agi(settings: Settings, agi_dir: Path, python: str, spool_owner: str | None,
                line_include: Path | None) -> None:
    """Write the missed-call fallback script (ivr-missed-call-fallback) into Asterisk's AGI
    directory (astagidir in asterisk.conf). The script drops one file per missed call into
    the controller's spool; it never sees the database. Prints the [globals] line the
    dialplan needs.

    \b
    Example:
      sudo ivr dialplan install-agi /usr/share/asterisk/agi-bin --spool-owner ivr
    """
    try:
        path = missed_fallback.install_wrapper(agi_dir, python)
    except missed_fallback.FallbackError as e:      # shown click's way (`Error:`), as always
        raise click.ClickException(str(e)) from None
    say(f"wrote {path} (runs {python} -m ivr.missed_fallback)")
    spool = settings.config.spool
    if spool_owner is not None:
        try:
            pw = pwd.getpwnam(spool_owner)
        except KeyError:
            raise click.BadParameter(f"no user named {spool_owner!r}",
                                     param_hint="--spool-owner") from None
        try:
            prepare_spool(spool)
            for directory in (spool.parent, spool, spool / BAD_DIR):
                os.chown(directory, pw.pw_uid, pw.pw_gid)
        except (IntakeError, OSError) as e:
            raise click.ClickException(f"the spool {spool}: {getattr(e, 'strerror', None) or e}") \
                from None
        say(f"created the spool {spool} (owner {spool_owner}, group "
            f"{grp.getgrgid(pw.pw_gid).gr_name}, mode 0730)")
    say(f"the dialplan's [globals] need: {C.GLOBAL_MISSED_SPOOL} = {spool}")
    if line_include is not None:
        try:
            write_include(line_include,
                          line_secret(settings.config.line_secret, create=True))
        except (LineSecretError, OSError) as e:
            raise click.ClickException(f"the line secret: {getattr(e, 'strerror', None) or e}") \
                from None
        say(f"wrote {line_include} (mode 0640): in extensions.conf's [globals] add "
            f'#include "{line_include}"')
