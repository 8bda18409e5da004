"""Placeholder: being written (see the issue). Replaced before the issue is called done."""
import click


@click.group(name="sandbox")
def command() -> None:
    """(not written yet)"""
