"""The `ivr db` commands on PostgreSQL (migrate migrates it, the read-only commands never do,
backup/restore name pg_dump and pg_restore, purge applies the retention rule), `ivr demo`
keeps to its own SQLite file, and a wrong connection string: every command that opens the
database fails at once in one line naming it with its password masked, exit 1, never a
traceback, never the password."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import psycopg
import pytest

from ivr.adapters.store import migrations
from ivr.config import load_config
from ivr.demo import demo_config
from tests.operators.conftest import LMP, TODAY, dmy
from tests.test_retention import calls

PASSWORD = "s3cret-Pw"
TIMEOUT = 60.0


def pg_rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def database(tmp_path):
    """These tests configure PostgreSQL themselves over a SQLite home (one run)."""
    from tests.databases import Database
    home = tmp_path / "var"
    return Database(home, home / "ivr.db")


def test_migrate_migrates_postgresql_and_says_so_postgres(cli, pg_dsn, monkeypatch):
    monkeypatch.setenv("IVR_DATABASE", pg_dsn)
    newest = len(migrations())
    for command in (("report", "--json"), ("schedule", "preview"), ("calls",)):
        before = cli(*command)                       # read-only: never migrates
        assert before.exit_code == 1 and "ivr db migrate" in before.stderr, before.output
    r = cli("db", "migrate")
    assert r.exit_code == 0, r.output
    assert f"schema 0 -> {newest}" in r.stderr and "postgresql:///" in r.stderr
    assert pg_rows(pg_dsn, "SELECT MAX(version) FROM schema_migrations") == [(newest,)]
    again = cli("db", "migrate")
    assert again.exit_code == 0
    assert f"at schema {newest} already: nothing to do" in again.stderr
    assert not cli.db.exists()                       # no SQLite file made on the way
    after = cli("report", "--json")
    assert after.exit_code == 0, after.output


@pytest.mark.parametrize("command,tool", [
    (("db", "backup", "{dir}/ivr-backup.db"), "pg_dump"),
    (("db", "restore", "{dir}/ivr.dump", "--yes"), "pg_restore")])
def test_backup_and_restore_name_the_postgresql_tools_postgres(cli, pg_dsn, monkeypatch,
                                                              tmp_path, command, tool):
    (tmp_path / "ivr.dump").write_bytes(b"a pg_dump file")
    monkeypatch.setenv("IVR_DATABASE", pg_dsn + f"&password={PASSWORD}")
    r = cli(*(a.format(dir=tmp_path) for a in command))
    assert r.exit_code == 1
    assert f"`ivr db {command[1]}` is for the SQLite database" in r.stderr
    assert tool in r.stderr and r.stderr.count("\n") == 1
    assert "password=***" in r.stderr and PASSWORD not in r.output
    assert not (tmp_path / "ivr-backup.db").exists()


def test_the_demo_never_uses_the_configured_postgresql_postgres(tmp_path, pg_dsn):
    config = load_config(env={"IVR_HOME": str(tmp_path), "IVR_DATABASE": pg_dsn})
    assert config.store_address == pg_dsn
    demo = demo_config(config, ring_timeout=5.0)
    assert demo.store_address == tmp_path / "demo.db"
    assert demo.erasure_key is None                    # demo.db.key beside its own file


def test_purge_applies_the_retention_rule_on_postgresql_postgres(cli, pg_dsn, monkeypatch):
    asyncio.run(asyncio.wait_for(calls(pg_dsn, datetime.now(timezone.utc)), TIMEOUT))
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "ivr.toml").write_text('[privacy]\nkeep_call_records = "400d"\n')
    monkeypatch.setenv("IVR_DATABASE", pg_dsn)
    r = cli("db", "purge", "--json")
    assert r.exit_code == 0, r.output
    assert '"calls": 1, "missed_calls": 1' in r.stdout
    assert pg_rows(pg_dsn, "SELECT COUNT(*) FROM attempts") == [(2,)]   # live and recent stay
    assert pg_rows(pg_dsn, "SELECT COUNT(*) FROM missed_calls") == [(2,)]
    assert pg_rows(pg_dsn, "SELECT action FROM audit") == [("purge_call_records",)]


# ---------------------------------------------------------------------- a wrong DSN
@pytest.fixture(scope="module")
def wrong_dsns(pg_cluster) -> dict[str, tuple[str, str]]:
    """kind -> (the connection string with a password, what the error must say)."""
    socket = pg_cluster.socket_dir
    user = "ivr_with_password"
    pg_cluster.password_role(user, PASSWORD)
    return {
        "bad syntax": (f"postgresql://ivr:{PASSWORD}@[bad/ivr", "not a PostgreSQL connection"),
        "no such host": (f"postgresql://ivr:{PASSWORD}@nohost.invalid/ivr",
                         "failed to resolve host 'nohost.invalid'"),
        "no such socket": (f"postgresql://ivr:{PASSWORD}@/ivr?host=/nonexistent-ivr-dir",
                           "/nonexistent-ivr-dir/.s.PGSQL.5432"),
        "no such database": (f"postgresql://postgres:{PASSWORD}@/nosuchdb?host={socket}",
                             'database "nosuchdb" does not exist'),
        "wrong password": (f"postgresql://{user}:{PASSWORD}x@/postgres?host={socket}",
                           f'password authentication failed for user "{user}"'),
    }


COMMANDS = {
    "status": ("status",),
    "report": ("report",),
    "calls": ("calls",),
    "women list": ("women", "list"),
    "women show": ("women", "show", "1"),
    "enrol": ("enrol", "--phone", "9876543210", "--lang", "hi", "--lmp", dmy(LMP),
              "--consent-date", dmy(TODAY)),
    "schedule preview": ("schedule", "preview"),
    "db migrate": ("db", "migrate"),
    "db purge": ("db", "purge"),
    "run": ("run",),
}


def _one_clear_line(r, dsn: str, says: str) -> None:
    assert r.exit_code == 1, r.output
    assert r.stdout == ""
    # `ivr status` says first that the service is not running: its own line, not the error's
    lines = [line for line in r.stderr.splitlines() if not line.startswith("ivr status: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert says in lines[0]
    assert PASSWORD not in r.stderr and "Traceback" not in r.stderr
    shown = dsn.replace(PASSWORD + "x", "***").replace(PASSWORD, "***").split("?")[0]
    assert shown in lines[0]                        # it names the database, masked


@pytest.mark.parametrize("kind", ["bad syntax", "no such host", "no such socket",
                                  "no such database", "wrong password"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_wrong_dsn_fails_in_one_line_without_its_password_postgres(cli, wrong_dsns,
                                                                    monkeypatch, kind,
                                                                    command):
    dsn, says = wrong_dsns[kind]
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "ivr.toml").write_text('[privacy]\nkeep_call_records = "400d"\n')
    monkeypatch.setenv("IVR_DATABASE", dsn)
    _one_clear_line(cli(*COMMANDS[command]), dsn, says)


def test_an_unreachable_postgresql_is_said_at_once_postgres(cli, wrong_dsns, monkeypatch):
    """No retries while the database is away at start: the commands end within seconds."""
    dsn, says = wrong_dsns["no such socket"]
    monkeypatch.setenv("IVR_DATABASE", dsn)
    started = time.monotonic()
    for command in ("women list", "report", "status", "db migrate"):
        r = cli(*COMMANDS[command])
        _one_clear_line(r, dsn, says)
        assert "cannot" in r.stderr, (command, r.stderr)
    assert time.monotonic() - started < 10                 # not 15 s of retries each


@pytest.mark.parametrize("kind", ["bad syntax", "no such host", "no such socket",
                                  "no such database", "wrong password"])
def test_copy_to_a_wrong_dsn_fails_in_one_line_without_its_password_postgres(cli, wrong_dsns,
                                                                             kind):
    assert cli("db", "migrate").exit_code == 0           # the SQLite database to copy
    dsn, says = wrong_dsns[kind]
    _one_clear_line(cli("db", "copy", "--to", dsn), dsn, says)
