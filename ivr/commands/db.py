"""`ivr db ...`: back up, restore, migrate the database, copy it into PostgreSQL."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, TypeVar

import click

from ivr.commands.common import Group, confirm_destructive, fail, pass_settings, say
from ivr.commands.purge import purge_command

T = TypeVar("T")


@click.group(name="db", cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """The database: online backups, restores, migrations, retention purges.

    \b
    Example:
      ivr db backup /var/backups/ivr/ivr-$(date +%F).db
    """


@command.command(name="backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@pass_settings
def backup_cmd(settings, file: Path, force: bool) -> None:
    """Copy the database to FILE while the service runs (a consistent snapshot).

    FILE is written 0600 under a temporary name, checked by SQLite's integrity check, and
    only then renamed: a FILE that exists is a good backup. The database is never migrated
    nor written.

    \b
    Example:
      ivr db backup /var/backups/ivr/ivr-$(date +%F).db
    """
    from ivr.adapters.backup import backup
    from ivr.adapters.store import migrations

    config = settings.config
    _sqlite_only(config, "backup", "pg_dump -Fc -f ivr.dump")
    if file.exists() and not force:
        fail(f"{file} exists: choose another name, or --force to replace it")
    if not file.parent.is_dir():
        fail(f"no directory {file.parent}")
    if file.absolute() == config.database.absolute():
        raise click.BadParameter("FILE is the database itself", param_hint="'FILE'")
    info = backup(config.database, file, newest=len(migrations()))
    say(f"backed up {config.database} to {file}: schema {info.version}, {info.subscribers} "
        f"women, {info.attempts} calls, integrity ok")


@command.command(name="restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_settings
def restore_cmd(settings, file: Path, yes: bool) -> None:
    """Replace the database with the backup FILE (stop `ivr run` first).

    FILE must be a sound IVR database (integrity checked) of a schema this version knows.
    The database it replaces is kept beside it (<name>.before-restore-<time>.backup), and the
    replacement is one transaction: a failure leaves the database as it was. Refused while
    an `ivr run` is running on this state directory.

    \b
    Example:
      systemctl stop ivr && ivr db restore /var/backups/ivr/ivr-2026-11-29.db --yes
    """
    from ivr.adapters.backup import inspect, restore
    from ivr.adapters.store import migrations

    config = settings.config
    _sqlite_only(config, "restore", "pg_restore --clean -d")
    newest = len(migrations())
    if file.absolute() == config.database.absolute():
        raise click.BadParameter("FILE is the database itself", param_hint="'FILE'")
    info = inspect(file, newest)              # refuse a bad file before asking
    confirm_destructive(yes, f"replace {config.database} with {file} ({info.subscribers} "
                             f"women, {info.attempts} calls)?")
    info, kept = _holding_run_lock(config.database,
                                   lambda: restore(file, config.database, newest))
    if kept is not None:
        say(f"the database before the restore is kept in {kept}")
    say(f"restored {file} into {config.database}: schema {info.version}, {info.subscribers} "
        f"women, {info.attempts} calls")
    if info.version < newest:
        say(f"it is at schema {info.version}, this version needs {newest}: run `ivr db "
            "migrate` (or start `ivr run`)")


@command.command(name="migrate")
@pass_settings
def migrate_cmd(settings) -> None:
    """Bring the database to this version's schema (a backup is taken beside it first).

    Commands that only read (status, report, calls, women list/show, schedule preview)
    never migrate: they ask for this. `ivr run` migrates when it starts. Refused while an
    `ivr run` of an older version is running on the database: on SQLite its lock, on
    PostgreSQL any node whose heartbeat is alive (`ivr status --nodes`; stop them all, then
    start them with this version). On PostgreSQL one node migrates at a time, each migration
    in one transaction; take a pg_dump first.

    \b
    Example:
      ivr db migrate
    """
    from ivr.adapters.backup import version_of
    from ivr.adapters.store import Store, migrations

    config = settings.config
    if config.database_url:
        _migrate_postgresql(config.database_url)
        return
    name = config.database_name
    newest = len(migrations())
    current = 0
    if config.database.exists():
        current = version_of(config.database)
    if current == newest:
        say(f"{name} is at schema {newest} already: nothing to do")
        return
    if current > newest:
        fail(f"{name} is at schema {current}, newer than this version knows "
             f"({newest}): upgrade the program")

    async def go() -> Path | None:
        store = await Store.open(config.store_address,
                                 group_writable=config.database_group_writable)
        await store.close()
        return store.migration_backup

    kept = _holding_run_lock(config.database, lambda: asyncio.run(go()))
    if kept is not None:
        say(f"backed up to {kept} first")
    say(f"{name}: schema {current} -> {newest}")


def _migrate_postgresql(dsn: str) -> None:
    """PostgreSQL: the nodes migrate one at a time (an advisory lock); no backup here."""
    from ivr.adapters.pg_store import PgStore
    from ivr.adapters.pg_sql import masked

    async def go() -> tuple[int, list[int]]:
        store = await PgStore.open(dsn, migrate=False)
        try:
            return await store.schema_version(), await store.migrate()
        finally:
            await store.close()

    current, applied = asyncio.run(go())
    if not applied:
        say(f"{masked(dsn)} is at schema {current} already: nothing to do")
    else:
        say(f"{masked(dsn)}: schema {current} -> {applied[-1]}")


def _sqlite_only(config, name: str, tool: str) -> None:
    """`ivr db backup` / `restore` copy SQLite's file: PostgreSQL has its own tools."""
    if config.database_url:
        fail(f"`ivr db {name}` is for the SQLite database; the database is PostgreSQL "
             f"({config.database_name}): use {tool.split()[0]} (e.g. `{tool} "
             f"'{config.database_name}'`)")


@command.command(name="copy")
@click.option("--to", "to", required=True, metavar="POSTGRESQL_URL",
              help="The empty PostgreSQL database (postgresql://user@host/db).")
@pass_settings
def copy_cmd(settings, to: str) -> None:
    """Copy the SQLite database into an empty PostgreSQL database (stop `ivr run` first).

    Its schema is made and every table copied with its ids in one transaction: a failure
    leaves the PostgreSQL database as it was. Refused when it holds any row, or when a
    table cannot be copied. The rows of each table are counted on both sides and printed.
    The erasure key (<database>.key) is copied, 0600, to the file PostgreSQL's nodes read
    ([ivr] erasure_key, default <home>/erasure.key). The SQLite database is left as it was: then
    set `[ivr] database = "postgresql://..."`.

    \b
    Example:
      ivr db copy --to postgresql://ivr@db.example.org/ivr
    """
    from ivr.adapters.db_copy import copy_database, open_target
    from ivr.adapters.pg_sql import masked
    from ivr.adapters.store import Store

    config = settings.config
    if not to.startswith(("postgresql://", "postgres://")):
        raise click.BadParameter("a PostgreSQL URL: postgresql://user@host/database",
                                 param_hint="'--to'")
    if config.database_url:
        fail(f"the configured database is PostgreSQL already ({config.database_name}): "
             "`ivr db copy` reads a SQLite database ([ivr] database = \"<file>\")")
    if not config.database.is_file():
        fail(f"no SQLite database at {config.database}")
    key_to = config.erasure_key or config.home / "erasure.key"

    async def go():
        source = await Store.open(config.database, read_only=True, key_file=config.erasure_key)
        try:
            target = await open_target(to)
            try:
                return await copy_database(source, target, key_to=key_to)
            finally:
                await target.close()
        finally:
            await source.close()

    done = _holding_run_lock(config.database, lambda: asyncio.run(go()))
    width = max(len(name) for name in done.counts)
    for name, (mine, theirs) in done.counts.items():
        say(f"  {name:<{width}}  {mine:>9} rows in SQLite  {theirs:>9} in PostgreSQL")
    say(f"copied {config.database} into {masked(to)}: {len(done.counts)} tables, "
        f"{sum(c[1] for c in done.counts.values())} rows, the counts equal")
    say(done.key)
    say(f"now set [ivr] database = \"{masked(to)}\" (with its password) in "
        f"{config.source or 'ivr.toml'} on every node; {config.database} is left as it was")


def _holding_run_lock(database: Path, work: Callable[[], T]) -> T:
    """`work()` while holding the database's run lock (no `ivr run` uses it, none starts
    meanwhile); a running service, or a file that cannot be read or written, ends the
    command with its reason."""
    from ivr.run_lock import RunError, RunLock
    try:
        with RunLock(database):
            return work()
    except RunError as e:
        fail(f"{e}: stop it first (systemctl stop ivr)")
    except OSError as e:
        fail(str(e))


command.add_command(purge_command)
