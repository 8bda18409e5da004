"""Backups of the SQLite store: SQLite's online backup API (a consistent copy while `ivr run`
writes: it reads one snapshot, writers are not blocked in WAL mode), written 0600 under a
temporary name, checked (PRAGMA integrity_check) and only then renamed into place; restores
through the same API into the live file (one transaction: readers see the old database or
the new one, never a mix)."""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ivr.errors import BadInput

BUSY_TIMEOUT_S = 30.0
CORE_TABLES = {"schema_migrations", "subscribers", "deliveries", "attempts"}


class BackupError(BadInput):
    """The backup or restore cannot be done; nothing was changed. The message says why."""


@dataclass(frozen=True)
class DatabaseInfo:
    path: Path
    version: int          # its schema version (the migrations applied)
    subscribers: int
    attempts: int


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (never creates, never migrates, never writes the file)."""
    if not path.is_file():
        raise BackupError(f"no database at {path}")
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True,
                             timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as e:
        raise BackupError(f"cannot open {path}: {e}") from None
    return db


def schema_version(db: sqlite3.Connection) -> int:
    """The migrations applied (0: none, or not a database of ours)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                      "AND name = 'schema_migrations'").fetchall():
        return 0
    return db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def version_of(path: Path) -> int:
    """The schema version of the database at `path`, read only."""
    db = read_only(path)
    try:
        return schema_version(db)
    except sqlite3.Error as e:
        raise BackupError(f"cannot read {path}: {e}") from None
    finally:
        db.close()


def inspect(path: Path, newest: int) -> DatabaseInfo:
    """Check that `path` is a sound IVR database of a schema this program knows (at most
    `newest`); its version and a few counts."""
    db = read_only(path)
    try:
        try:
            tables = {r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as e:
            raise BackupError(f"{path} is not an IVR database ({e})") from None
        if not CORE_TABLES <= tables:
            raise BackupError(f"{path} is not an IVR database (it lacks the tables "
                              f"{', '.join(sorted(CORE_TABLES - tables))})")
        check_integrity(db, path)
        version = schema_version(db)
        if version > newest:
            raise BackupError(f"{path} is at schema {version}, newer than this program knows "
                              f"({newest}): upgrade the program first")
        subscribers = db.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0]
        attempts = db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    except sqlite3.Error as e:
        raise BackupError(f"{path} cannot be read: {e}") from None
    finally:
        db.close()
    return DatabaseInfo(path, version, subscribers, attempts)


def check_integrity(db: sqlite3.Connection, path: Path) -> None:
    try:
        rows = [r[0] for r in db.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path} fails SQLite's integrity check: {e}") from None
    if rows != ["ok"]:
        raise BackupError(f"{path} fails SQLite's integrity check: {'; '.join(rows[:3])}")


def backup(source: Path, target: Path, newest: int) -> DatabaseInfo:
    """A consistent copy of `source` at `target` (0600, a single file: no -wal beside it),
    checked before it takes the name. `target` is replaced if it exists."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    src = read_only(source)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        os.chmod(tmp, 0o600)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)                 # one step: one snapshot of the source
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        _fsync(tmp)
        info = inspect(tmp, newest)         # its integrity too, before it takes the name
        os.replace(tmp, target)
        _fsync(target.parent)
    except (OSError, sqlite3.Error) as e:
        raise BackupError(f"cannot back up {source} to {target}: {e}") from None
    finally:
        src.close()
        tmp.unlink(missing_ok=True)
    return DatabaseInfo(target, info.version, info.subscribers, info.attempts)


def beside(database: Path, why: str, now: float | None = None) -> Path:
    """A backup's name next to the database: <name>.<why>-<UTC time>.backup"""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return database.with_name(f"{database.name}.{why}-{stamp}.backup")


def restore(source: Path, database: Path, newest: int) -> tuple[DatabaseInfo, Path | None]:
    """Replace the database's contents with `source`'s (checked first), keeping the
    replaced database as a backup beside it (returned; None when there was none). The
    caller holds the run lock (no `ivr run` writes meanwhile)."""
    info = inspect(source, newest)
    kept = None
    if database.exists():
        kept = keep(database, beside(database, "before-restore"))
    src = read_only(source)
    try:
        dst = sqlite3.connect(database, timeout=BUSY_TIMEOUT_S)
        try:
            src.backup(dst)                 # one write transaction on the live file
            check_integrity(dst, database)
        finally:
            dst.close()
    except (OSError, sqlite3.Error) as e:
        raise BackupError(f"cannot restore {source} into {database}: {e}"
                          + (f" (the database before: {kept})" if kept else "")) from None
    finally:
        src.close()
    return info, kept


def keep(database: Path, target: Path) -> Path:
    """A copy of the database about to be replaced: a checked backup, or, when it cannot be
    read as one (it is damaged: why it is being restored), its files as they are."""
    try:
        return backup(database, target, newest=1 << 30).path
    except BackupError:
        for suffix in ("", "-wal"):
            source = Path(f"{database}{suffix}")
            if source.exists() and (suffix == "" or source.stat().st_size > 0):
                fd = os.open(f"{target}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with open(fd, "wb") as out, open(source, "rb") as data:
                    shutil.copyfileobj(data, out)
        return target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def snapshot(database: Path) -> Iterator[Path]:
    """A private copy of the database (0600 in a 0700 temporary directory), removed after:
    `ivr schedule preview` works on it, so the running service never waits for its lock."""
    with tempfile.TemporaryDirectory(prefix="ivr-preview-") as tmp:
        copy = Path(tmp) / "snapshot.db"
        src = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            copy.touch(mode=0o600)
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        yield copy
