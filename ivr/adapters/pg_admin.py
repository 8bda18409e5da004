"""Administration of a PostgreSQL cluster: databases and login roles. The private cluster of
the tests and benchmarks (ivr/sandbox/postgres.py) talks to its server only through these
(no psql); the store's own statements are elsewhere (pg_store.py). Each statement runs alone,
outside a transaction (CREATE DATABASE cannot run inside one), on a connection of its own."""
from __future__ import annotations

import psycopg
from psycopg import sql

from ivr.adapters.pg_sql import masked
from ivr.errors import Unavailable

CONNECT_SECONDS = 30


def _run(dsn: str, statement: str | sql.SQL | sql.Composed) -> list[tuple]:
    """The statement's rows (none when it returns none); of several, the last one's (the
    cursor stands on the first result until nextset moves it)."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=CONNECT_SECONDS) as conn:
            cursor = conn.execute(statement)
            while cursor.nextset():
                pass
            return cursor.fetchall() if cursor.description else []
    except psycopg.Error as e:
        raise Unavailable(f"PostgreSQL at {masked(dsn)}: {str(e).strip()[:300]}") from e


def run_script(dsn: str, statements: str) -> list[tuple]:
    """Statements written by a test (several, `;`-separated, run as one script without
    parameters, in autocommit); the rows of the last one."""
    return _run(dsn, statements)


def database_names(dsn: str) -> set[str]:
    """The names of the cluster's databases (templates included)."""
    return {name for (name,) in _run(dsn, sql.SQL("SELECT datname FROM pg_database"))}


def refuses_password(dsn: str, wrong_password: str) -> bool:
    """True once the server refuses this login role with a wrong password (it reloaded a
    pg_hba.conf asking for one); False while it still lets it in, or fails otherwise."""
    try:
        psycopg.connect(dsn, password=wrong_password, connect_timeout=CONNECT_SECONDS).close()
    except psycopg.OperationalError as e:
        return "password authentication failed" in str(e)
    return False


def create_database(dsn: str, name: str, template: str | None = None) -> None:
    """A new database `name`, empty or a copy of `template` (nobody may be connected to it)."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    _run(dsn, statement)


def drop_database(dsn: str, name: str) -> None:
    _run(dsn, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def create_login_role(dsn: str, name: str, password: str) -> None:
    """A role that logs in with `password`."""
    _run(dsn, sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                  sql.Literal(password)))
