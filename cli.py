"""`ivr`: the command line of the maternal-health IVR. Each command is a thin call to one use
case."""
from __future__ import annotations

from pathlib import Path

import click

from ivr.commands import (audio, call, calls, db, demo, dialplan, enrol, followups, imports,
                          outreach, report, run, sandbox, schedule, simulate, women, workers)
from ivr.commands.common import Group, Settings
from ivr.logs import quiet_libraries

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=Group, context_settings=CONTEXT)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="IVR_CONFIG", help="Configuration file (default: $IVR_HOME/ivr.toml, "
              "IVR_HOME defaults to ./var).")
@click.version_option(package_name="ivr-mch")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Maternal-health voice service: calls women with the message for their week.

    \b
    Example:
      ivr sandbox start          # a private Asterisk for trying things out
      ivr demo                   # a small demo campaign against it
    """
    quiet_libraries()
    ctx.obj = Settings(config_path=config_path)


for module in (sandbox, call, audio, simulate, demo, dialplan, enrol, imports, women, workers,
               followups, outreach, schedule, calls, report, db):
    main.add_command(module.command)
main.add_command(run.run_command)
main.add_command(run.status_command)


if __name__ == "__main__":
    main()
