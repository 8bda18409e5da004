"""`ivr db ...` with `[ivr] database = "postgresql://..."`: migrate works (one node at a time),
backup and restore (SQLite file copies) refuse and say what to use; the password never shows;
`ivr demo` keeps to its own SQLite file; a database that cannot be reached is said at once."""
import time

from click.testing import CliRunner

from cli import main
from ivr.adapters.store import migrations
from ivr.config import load_config
from ivr.demo import demo_config


def ivr(home, address, *args):
    return CliRunner().invoke(main, list(args), env={"IVR_HOME": str(home),
                                                     "IVR_DATABASE": address})


def test_ivr_db_migrate_on_postgresql_then_nothing_to_do(tmp_path, pg_dsn):
    newest = len(migrations())
    for command in (("report", "--json"), ("schedule", "preview"), ("calls",)):
        before = ivr(tmp_path, pg_dsn, *command)              # read-only: never migrates
        assert before.exit_code == 1 and "ivr db migrate" in before.stderr, before.output
    r = ivr(tmp_path, pg_dsn, "db", "migrate")
    assert r.exit_code == 0, r.output
    assert f"schema 0 -> {newest}" in r.stderr and "postgresql:///" in r.stderr
    again = ivr(tmp_path, pg_dsn, "db", "migrate")
    assert again.exit_code == 0 and f"at schema {newest} already" in again.stderr
    after = ivr(tmp_path, pg_dsn, "report", "--json")
    assert after.exit_code == 0, after.output


def test_ivr_db_backup_and_restore_refuse_on_postgresql(tmp_path, pg_dsn):
    address = pg_dsn + "&password=s3cret-pw"
    target = tmp_path / "b.db"
    r = ivr(tmp_path, address, "db", "backup", str(target))
    assert r.exit_code == 1 and "pg_dump" in r.stderr and "password=***" in r.stderr
    assert not target.exists()
    saved = tmp_path / "saved.db"
    saved.write_bytes(b"not a database")
    r = ivr(tmp_path, address, "db", "restore", str(saved), "--yes")
    assert r.exit_code == 1 and "pg_restore" in r.stderr
    assert "s3cret" not in r.output


def test_the_demo_never_uses_the_configured_postgresql(tmp_path, pg_dsn):
    config = load_config(env={"IVR_HOME": str(tmp_path), "IVR_DATABASE": pg_dsn})
    assert config.store_address == pg_dsn
    demo = demo_config(config, ring_timeout=5.0)
    assert demo.store_address == tmp_path / "demo.db"
    assert demo.erasure_key is None                    # demo.db.key beside its own file


def test_an_unreachable_postgresql_is_said_at_once_its_password_masked(tmp_path):
    address = f"postgresql://ivr:s3cret-pw@/ivr?host={tmp_path / 'no-server'}"
    started = time.monotonic()
    for args in (("women", "list"), ("report", "--json"), ("status",), ("db", "migrate")):
        r = ivr(tmp_path, address, *args)
        assert r.exit_code == 1, (args, r.output)
        assert "cannot" in r.stderr and "ivr:***@" in r.stderr, (args, r.stderr)
        assert "s3cret" not in r.output
    assert time.monotonic() - started < 10                 # not 15 s of retries each
