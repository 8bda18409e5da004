"""Options shared by the commands that show or change a woman's record."""
from __future__ import annotations

import click

from ivr.commands.enrol import free_text_option


def reveal_option(f):
    return click.option("--reveal", is_flag=True,
                        help="Show phone numbers and names in clear (audited).")(f)


def actor_option(f):
    return click.option("--actor", default=None, callback=free_text_option,
                        help="Who makes the change, for the record "
                        "(default: $IVR_ACTOR or cli:<login>).")(f)
