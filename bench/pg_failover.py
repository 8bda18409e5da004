"""docs/scale.md section 5, run: a primary, a streaming standby, a multi-host connection string,
a crash of the primary and a manual promotion, on this machine (issue 14).

    ip netns exec <ns> .venv/bin/python bench/pg_failover.py

Two private PostgreSQL clusters (initdb in a temporary directory, run as the `postgres` user,
Unix sockets only, stopped at the end): the primary, and a standby made by `pg_basebackup -R`
(streaming replication, hot standby). libpq (psql) is given both hosts, the standby first:
  - `target_session_attrs=read-write` must land on the primary, `standby` on the standby;
  - a row written on the primary must be readable on the standby (replication lag measured);
  - the primary is killed (`pg_ctl stop -m immediate`: a crash) and the standby promoted
    (`pg_ctl promote`); the same read-write string must then land on the new primary, and the
    row written before the crash must be there. Times: promotion, and from the crash to the
    first write accepted through the multi-host string.
Prints one JSON object.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

AS_PG = ["runuser", "-u", "postgres", "--"]


def pg(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*AS_PG, *args], capture_output=True, text=True)
    if check and out.returncode:
        raise SystemExit(f"{' '.join(args[:3])}: exit {out.returncode}: {out.stderr[-800:]}")
    return out


def psql(conninfo: str, sql: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return pg("psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql, check=check)


def start(data: Path, sock: Path) -> None:
    pg("pg_ctl", "-D", str(data), "-w", "-l", str(sock / "server.log"), "-o",
       f"-k {sock} -c listen_addresses=''", "start")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        dirs = {name: work / name for name in ("a", "b", "sock_a", "sock_b")}
        for d in dirs.values():
            d.mkdir()
            shutil.chown(d, "postgres")
        primary, standby = dirs["a"], dirs["b"]
        pg("initdb", "-D", str(primary), "-U", "postgres", "--auth", "trust", "--no-locale")
        start(primary, dirs["sock_a"])
        both = f"host={dirs['sock_b']},{dirs['sock_a']} dbname=postgres user=postgres"
        try:
            pg("pg_basebackup", "-h", str(dirs["sock_a"]), "-U", "postgres", "-D", str(standby),
               "-R", "-X", "stream")
            standby.chmod(0o700)                       # the server refuses a wider mode
            start(standby, dirs["sock_b"])
            result: dict[str, object] = {}
            where = "SELECT current_setting('unix_socket_directories'), pg_is_in_recovery()"
            result["read-write lands on"] = psql(
                f"{both} target_session_attrs=read-write", where).stdout.strip()
            result["standby lands on"] = psql(
                f"{both} target_session_attrs=standby", where).stdout.strip()
            psql(f"{both} target_session_attrs=read-write",
                 "CREATE TABLE t (id int PRIMARY KEY, at double precision); "
                 "INSERT INTO t VALUES (1, extract(epoch from clock_timestamp()))")
            began = time.perf_counter()
            while psql(f"{both} target_session_attrs=standby",
                       "SELECT count(*) FROM t", check=False).stdout.strip() != "1":
                time.sleep(0.01)
            result["row visible on the standby after (s)"] = round(time.perf_counter() - began, 3)
            refused = psql(f"{both} target_session_attrs=standby",
                           "INSERT INTO t VALUES (2, 0)", check=False)
            result["write on the standby refused"] = refused.returncode != 0
            crash = time.perf_counter()
            pg("pg_ctl", "-D", str(primary), "-m", "immediate", "stop")
            down = psql(f"{both} target_session_attrs=read-write connect_timeout=2",
                        "SELECT 1", check=False)
            result["read-write while no primary: refused"] = down.returncode != 0
            result["its error"] = down.stderr.strip().splitlines()[0].replace(tmp, "<tmp>")
            promote = time.perf_counter()
            pg("pg_ctl", "-D", str(standby), "-w", "promote")
            result["promotion took (s)"] = round(time.perf_counter() - promote, 3)
            while psql(f"{both} target_session_attrs=read-write",
                       "INSERT INTO t VALUES (3, 0)", check=False).returncode:
                time.sleep(0.01)
            result["crash to first write accepted (s)"] = round(time.perf_counter() - crash, 3)
            result["read-write lands on, after"] = psql(
                f"{both} target_session_attrs=read-write", where).stdout.strip()
            result["rows on the new primary"] = psql(
                f"{both} target_session_attrs=read-write",
                "SELECT string_agg(id::text, ',' ORDER BY id) FROM t").stdout.strip()
            print(json.dumps({k: v.replace(tmp, "<tmp>") if isinstance(v, str) else v
                              for k, v in result.items()}, indent=1))
        finally:
            for data in (standby, primary):
                pg("pg_ctl", "-D", str(data), "-m", "fast", "stop", check=False)


if __name__ == "__main__":
    main()
