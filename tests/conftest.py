"""Session fixtures shared by the suite.

`sandbox` starts the project's own Asterisk (var/ under the repository, as `ivr sandbox
start` does) and FAILS, never skips, when it cannot be provisioned or started: CI must not
go green without telephony. It prints the Asterisk version the run is against.
"""
from __future__ import annotations

import itertools
import os
import subprocess
import wave
from dataclasses import replace
from pathlib import Path

import pytest

from ivr import constants as C
from ivr.config import Config, home_dir, load_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sandbox(request):
    from ivr.sandbox import Sandbox, SandboxError

    home = home_dir({"IVR_HOME": os.environ.get("IVR_HOME") or str(ROOT / "var")})
    box = Sandbox(home)
    was_running = box.status().running
    try:
        status = box.start()
    except SandboxError as e:
        pytest.fail(f"the sandbox Asterisk could not be started: {e}", pytrace=False)
    # output capture swallows a plain print or write_line in a fixture: suspend it
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"sandbox: {status.version} (pid {status.pid}, AMI port "
                                f"{status.ami_port}, home {home})")
    yield box
    if not was_running:
        box.stop()


def private_cluster():
    """A private PostgreSQL cluster (ivr/sandbox/postgres.py: initdb in a temporary directory,
    a Unix socket only), removed at the end. FAILS, never skips, when it cannot start: the
    PostgreSQL store must not go untested."""
    from ivr.sandbox.postgres import Cluster, PostgresError

    try:
        cluster = Cluster.start()
    except PostgresError as e:
        pytest.fail(f"the private PostgreSQL could not be started: {e}", pytrace=False)
    yield cluster
    cluster.remove()


@pytest.fixture(scope="session")
def pg_cluster(request):
    """The session's private PostgreSQL cluster (private_cluster)."""
    yield from private_cluster()


@pytest.fixture
def own_pg_cluster():
    """A private PostgreSQL cluster for one test, which may stop it (private_cluster)."""
    yield from private_cluster()


_DATABASES = itertools.count(1)


@pytest.fixture
def pg_dsn(pg_cluster) -> str:
    """A new empty database in the private cluster, for one test."""
    return pg_cluster.create_database(f"t{os.getpid()}_{next(_DATABASES)}")


@pytest.fixture(scope="session")
def pg_emptied(pg_cluster):
    """One PostgreSQL database, migrated once for the session, and the function that empties
    it (every table, ids restarting at 1; the schema's versions as migrated) for a test: a new
    database and its migration cost about 1 s a test, emptying it a few hundredths."""
    import asyncio

    import psycopg

    from ivr.adapters.store import Store, migrations

    async def create(dsn: str) -> None:
        await (await Store.open(dsn)).close()

    dsn = pg_cluster.create_database(f"emptied{os.getpid()}")
    asyncio.run(create(dsn))
    con = psycopg.connect(dsn, autocommit=True)
    con.execute("SET lock_timeout = '10s'")       # a connection a test left open: fail, not hang
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = "
        "current_schema() AND table_name != 'schema_migrations' ORDER BY table_name")]
    assert "subscribers" in tables and "attempts" in tables

    newest = len(migrations())

    def empty() -> str:
        con.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        con.execute("DELETE FROM schema_migrations WHERE version > %s", (newest,))
        assert con.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (newest,)
        return dsn
    yield empty
    con.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    """The test's store, twice: a SQLite file (<home>/ivr.db, created by the first command),
    then an empty PostgreSQL database at the newest schema (pg_emptied); home: tmp_path/var.
    `-k postgres` selects the PostgreSQL runs. (A PostgreSQL database created and migrated by
    a command: pg_dsn, tests/operators/test_db_postgres.py and the contract suite.)"""
    from tests.databases import Database

    home = tmp_path / "var"
    if request.param == "sqlite":
        return Database(home, home / "ivr.db")
    return Database(home, request.getfixturevalue("pg_emptied")())


def _tone(path: Path, seconds: float, freq: int) -> None:
    """An 8 kHz mono 16-bit WAV of a tone (sox), the format Asterisk plays without transcoding."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth",
                    str(seconds), "sine", str(freq), "vol", "0.3"], check=True)


# Message lengths differ by language on purpose: Asterisk's endpos then shows which file it played.
TEST_MESSAGE = "test-msg"
MESSAGE_SECONDS = {"hi": 3.0, "mr": 4.0}


@pytest.fixture(scope="session")
def test_sounds(tmp_path_factory) -> Path:
    """A tiny catalogue: the test message in hi and mr, every prompt in both (0.3 s)."""
    sounds = tmp_path_factory.mktemp("sounds")
    for lang, seconds in MESSAGE_SECONDS.items():
        _tone(sounds / lang / f"{TEST_MESSAGE}.wav", seconds, 440)
        for prompt in C.PROMPTS:
            _tone(sounds / lang / f"{prompt}.wav", 0.3, 660)
    with wave.open(str(sounds / "hi" / f"{TEST_MESSAGE}.wav")) as w:
        assert w.getframerate() == 8000 and w.getnchannels() == 1
    return sounds


@pytest.fixture
def call_config(sandbox, test_sounds, tmp_path) -> Config:
    """The sandbox's configuration with a private database and missed-call spool, and the
    test catalogue."""
    cfg = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    trunks = tuple(replace(t, ring_timeout=4.0) for t in cfg.trunks)
    return replace(cfg, database=tmp_path / "ivr.db", sounds=test_sounds, trunks=trunks,
                   missed_spool=tmp_path / "spool" / "missed")
