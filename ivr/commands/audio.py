"""Placeholder: being written (see the issue). Replaced before the issue is called done."""
import click


@click.group(name="audio")
def command() -> None:
    """(not written yet)"""
