"""`ivr sandbox ...`: the project's own Asterisk for tests and demos (see ivr/sandbox/)."""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import click

from ivr.commands.common import Group, Settings, emit_json, pass_settings, say
from ivr.config import home_dir
from ivr.sandbox import Sandbox, SandboxStatus


def _sandbox(settings: Settings) -> Sandbox:
    try:
        home: Path = settings.config.home
    except click.ClickException:
        home = home_dir()            # a broken ivr.toml must not stop us starting the sandbox
    return Sandbox(home)


@click.group(name="sandbox", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """A private Asterisk 22 (Debian sid's build, unpacked under $IVR_HOME/sandbox).

    \b
    Example:
      ivr sandbox start && ivr sandbox status --json && ivr sandbox stop
      ivr sandbox cli core restart now      # Asterisk's own restart works here too
    """


@command.command()
@pass_settings
def provision(settings: Settings) -> None:
    """Download and unpack Asterisk into $IVR_HOME/sandbox/prefix (idempotent).

    \b
    Example:
      ivr sandbox provision      # ~10 s the first time, instant afterwards
    """
    t = time.monotonic()
    version = _sandbox(settings).provision()
    say(f"sandbox: {version} ready in {time.monotonic() - t:.1f} s")


@command.command()
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait until ready.")
@pass_settings
def start(settings: Settings, timeout: float) -> None:
    """Start the sandbox Asterisk (provisions first if needed) and write $IVR_HOME/ivr.toml.

    \b
    Example:
      ivr sandbox start
    """
    t = time.monotonic()
    st = _sandbox(settings).start(timeout=timeout)
    _say_running(st, time.monotonic() - t)


def _say_running(st: SandboxStatus, seconds: float) -> None:
    say(f"sandbox: {st.version} running, pid {st.pid}, AMI 127.0.0.1:{st.ami_port}, "
        f"SIP 127.0.0.1:{st.sip_port} ({seconds:.2f} s)")


@command.command()
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait until ready.")
@click.option("--new-process", is_flag=True,
              help="Stop Asterisk and start a new process instead of its own `core restart now`.")
@pass_settings
def restart(settings: Settings, timeout: float, new_process: bool) -> None:
    """Restart the sandbox Asterisk; start it when it is not running.

    The configuration is rendered again from dialplan/ first. By default Asterisk restarts
    itself (`core restart now`, as on a production server): the process keeps its pid, every
    call and AMI connection is dropped. Waits until Asterisk is fully booted and an AMI login
    succeeds, and prints what start prints. The AMI secret and the ports stay the same.

    \b
    Example:
      ivr sandbox restart
      ivr sandbox restart --new-process     # when its CLI no longer answers
    """
    t = time.monotonic()
    st = _sandbox(settings).restart(timeout=timeout, new_process=new_process)
    _say_running(st, time.monotonic() - t)


@command.command()
@click.option("--timeout", default=10.0, show_default=True, help="Seconds before SIGKILL.")
@pass_settings
def stop(settings: Settings, timeout: float) -> None:
    """Stop the sandbox Asterisk (no-op when it is not running).

    \b
    Example:
      ivr sandbox stop
    """
    _sandbox(settings).stop(timeout=timeout)
    say("sandbox: stopped")


@command.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on standard output.")
@pass_settings
def status(settings: Settings, as_json: bool) -> None:
    """Say whether the sandbox runs, its pid, version and ports.

    \b
    Example:
      ivr sandbox status --json
    """
    st = _sandbox(settings).status()
    if as_json:
        emit_json(asdict(st))
    else:
        state = f"running, pid {st.pid}" if st.running else "stopped"
        click.echo(f"{state}; {st.version or 'not provisioned'}; AMI {st.ami_port}, "
                   f"SIP {st.sip_port}")


@command.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for output.")
@pass_settings
def cli(settings: Settings, words: tuple[str, ...], timeout: float) -> None:
    """Run one Asterisk CLI command in the running sandbox and print its output.

    \b
    Example:
      ivr sandbox cli dialplan show sim-phones
      ivr sandbox cli "pjsip show endpoints"
    """
    click.echo(_sandbox(settings).cli(" ".join(words), timeout=timeout), nl=False)


@command.command()
@pass_settings
def reload(settings: Settings) -> None:
    """Re-render the configuration from dialplan/ and `core reload` the running sandbox.

    \b
    Example:
      ivr sandbox reload         # after editing dialplan/*.conf
    """
    _sandbox(settings).reload()
    say("sandbox: configuration reloaded")
