"""A private PostgreSQL cluster for tests and benchmarks: `initdb` in a directory of its own,
a server that listens on a Unix socket in that directory only (no TCP port to collide with,
reachable from any network namespace of the machine), stopped and removed at the end.

Debian's `postgresql` package provides the programs (scripts/setup.sh installs it); they are
found under /usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root: as root, the
server runs as the `postgres` user the package creates.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ivr.adapters import pg_admin
from ivr.errors import Unavailable

PORT = 5432          # names the socket file (.s.PGSQL.5432); no TCP listener


class PostgresError(Unavailable):
    """The private cluster cannot be made, started or stopped; the message says why."""


def bindir() -> Path:
    """The directory of initdb / pg_ctl: the newest /usr/lib/postgresql/<version>/bin."""
    found = []
    for d in Path("/usr/lib/postgresql").glob("*/bin"):
        if (d / "initdb").is_file() and re.fullmatch(r"\d+", d.parent.name):
            found.append((int(d.parent.name), d))
    if not found:
        on_path = shutil.which("initdb")
        if on_path:
            return Path(on_path).resolve().parent
        raise PostgresError("PostgreSQL's server programs are not installed (initdb, pg_ctl): "
                            "run scripts/setup.sh, or apt-get install postgresql")
    return max(found)[1]


def _server_user() -> str | None:
    """The system user to run the server as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresError("running as root, and there is no `postgres` user to run "
                            "the server as (Debian's postgresql package creates it)") from None
    return "postgres"


class Cluster:
    """`Cluster.start()` makes and starts one; `dsn(name)`, `create_database(name)`,
    `stop()`/`restart()`; `remove()` stops it and deletes its files."""

    def __init__(self, base: Path, user: str | None):
        self.base = base
        self.data = base / "data"
        self.socket_dir = base / "run"
        self.log = base / "run" / "server.log"
        self.user = user              # the system user running the server (None: ourselves)
        self.bin = bindir()

    @classmethod
    def start(cls, *, durable: bool = False, base: Path | None = None) -> "Cluster":
        """durable=False turns fsync off (tests: a crash loses the cluster, which is thrown
        away anyway); benchmarks ask for durable=True, PostgreSQL's defaults. `base`: a new
        directory to make it in (default: a temporary one)."""
        user = _server_user()
        if base is None:
            base = Path(tempfile.mkdtemp(prefix="ivr-pg-"))
        else:
            base.mkdir(parents=True)
        os.chmod(base, 0o711)
        cluster = cls(base, user)
        try:
            cluster._init(durable)
            cluster._pg_ctl("start", "-w", "-t", "60", "-l", str(cluster.log))
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        return cluster

    @classmethod
    def reuse(cls, base: Path) -> "Cluster":
        """The cluster made earlier in `base` (Cluster.start(base=...)), started if stopped."""
        cluster = cls(base, _server_user())
        if not (cluster.data / "PG_VERSION").is_file():
            raise PostgresError(f"no PostgreSQL cluster in {base}")
        if not (cluster.data / "postmaster.pid").exists():
            cluster.restart()
        return cluster

    def _init(self, durable: bool) -> None:
        for d in (self.data, self.socket_dir):
            d.mkdir(mode=0o700)
            if self.user:
                pw = pwd.getpwnam(self.user)
                os.chown(d, pw.pw_uid, pw.pw_gid)
        os.chmod(self.socket_dir, 0o755)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        settings = {"listen_addresses": "''", "port": str(PORT),
                    "unix_socket_directories": f"'{self.socket_dir}'",
                    "max_connections": "200", "shared_buffers": "128MB"}
        if not durable:
            settings |= {"fsync": "off", "synchronous_commit": "off",
                         "full_page_writes": "off"}
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write("\n# ivr private cluster\n")
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")

    def _run(self, *argv: str) -> str:
        if self.user:
            argv = ("runuser", "-u", self.user, "--", *argv)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd="/")
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            log = self.log.read_text(errors="replace").strip().splitlines()[-5:] \
                if self.log.exists() else []
            raise PostgresError(f"{Path(argv[0] if not self.user else argv[4]).name} failed "
                                f"(exit {done.returncode}): " + " | ".join(tail + log))
        return done.stdout

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), *args)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql:///{dbname}?host={self.socket_dir}&port={PORT}&user=postgres"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database, empty or a copy of `template` (which nobody may be connected
        to); its connection string."""
        for n in (name, template or name):
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", n):
                raise PostgresError(f"not a plain database name: {n!r}")
        pg_admin.create_database(self.dsn(), name, template)
        return self.dsn(name)

    def databases(self) -> set[str]:
        """The names of its databases."""
        return pg_admin.database_names(self.dsn())

    def drop_database(self, name: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise PostgresError(f"not a plain database name: {name!r}")
        pg_admin.drop_database(self.dsn(), name)

    def sql(self, statement: str, dbname: str = "postgres") -> list[tuple]:
        """The tests' own statements (one or several, `;`-separated) in database `dbname`;
        the rows of the last one. This module's own are in ivr/adapters/pg_admin.py."""
        return pg_admin.run_script(self.dsn(dbname), statement)

    def password_role(self, name: str, password: str) -> str:
        """A role that must give its password (the cluster trusts every other one), for the
        tests of a wrong password; its connection string without the password. Waits until
        the server reloaded its pg_hba.conf (a wrong password is refused)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise PostgresError(f"not a plain role name: {name!r}")
        pg_admin.create_login_role(self.dsn(), name, password)
        hba = self.data / "pg_hba.conf"
        with open(hba, "r+", encoding="utf-8") as f:       # in place: its owner stays
            rules = f.read()
            f.seek(0)
            f.write(f"local all {name} scram-sha-256\n{rules}")
        self._pg_ctl("reload")
        deadline = time.monotonic() + 30
        dsn = f"postgresql:///postgres?host={self.socket_dir}&port={PORT}&user={name}"
        while time.monotonic() < deadline:
            if pg_admin.refuses_password(dsn, password + "-wrong"):
                return dsn
            time.sleep(0.1)
        raise PostgresError(f"the server did not reload {hba} in 30 s")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-w", "-m", mode)

    def restart(self) -> None:
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log))

    def remove(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
