"""bench/compare.py's benchmarks: how each is run in a revision's export and which
figures it gives (store: claim 500; simulate: `ivr simulate`; cpu: per call)."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

from compare_trees import PYTHON, Tree, run, shown


def complete(db: Path, women: int) -> bool:
    """A database left by an earlier run holds exactly `women` women (not a build cut short)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0] == women
    except sqlite3.Error:
        return False


class Store:
    """Claim 500 at the 09:00 slot opening over a database of `women` women."""
    name = "store"

    def __init__(self, args, work: Path):
        self.women, self.work, self.claims = args.women, work, args.claims
        self.db: dict[str, Path] = {}

    def cmd(self, tree: Tree, db: Path, women: int, claims: int) -> list[str]:
        cmd = [str(PYTHON), str(tree.root / "bench" / "store_scale.py"), "--women", str(women),
               "--claims", str(claims), "--keep", "--db", str(db)]
        if "--claims-only" in (tree.root / "bench" / "store_scale.py").read_text():
            cmd.append("--claims-only")
        return cmd

    def schema(self, tree: Tree) -> str:
        probe = self.work / f"schema-{tree.label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{probe}{suffix}").unlink(missing_ok=True)
        run(self.cmd(tree, probe, 1000, 1), tree, 300)
        with sqlite3.connect(probe) as db:
            rows = db.execute("SELECT type, name, sql FROM sqlite_master "
                              "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").fetchall()
            version = db.execute("PRAGMA user_version").fetchone()[0]
        return hashlib.sha256(repr((rows, version)).encode()).hexdigest()[:12]

    def prepare(self, trees: list[Tree]) -> dict:
        """One database per schema, built by the first revision that has it (or reused)."""
        notes = {}
        for tree in trees:
            digest = self.schema(tree)
            db = self.work / f"store-{self.women}-{digest}.db"
            self.db[tree.label] = db
            notes[tree.label] = f"schema {digest}"
            if not db.exists() or not complete(db, self.women):
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                print(f"  building {db.name} with {tree.label} ({self.women:,} women)...",
                      file=sys.stderr, flush=True)
                _, usage = run(self.cmd(tree, db, self.women, 1), tree, 3600)
                notes[tree.label] += f", built by {tree.label} in {usage['wall_s']:.0f} s"
        shared = len(set(self.db.values())) == 1
        notes["database"] = "one, shared (same schema)" if shared else "one per revision"
        return notes

    def measure(self, tree: Tree) -> dict:
        stdout, usage = run(self.cmd(tree, self.db[tree.label], self.women, self.claims), tree,
                            900)
        c = json.loads(stdout)["claim_0900"]
        return {"claim_p50_ms": c["full_batch_p50_ms"], "claim_max_ms": c["full_batch_max_ms"]}

    def command(self, tree: Tree) -> str:
        return shown(self.cmd(tree, Path("DB"), self.women, self.claims), tree)


class Simulate:
    """`ivr simulate`: a year of mMitra for 10,000 women (the same seed on both sides)."""
    name = "simulate"

    def __init__(self, args, work: Path):
        self.women, self.days = args.sim_women, args.sim_days
        self.outputs: dict[str, set[str]] = {}

    def cmd(self, tree: Tree) -> list[str]:
        return [str(PYTHON.with_name("ivr")), "simulate", "--programme", "mmitra", "--women",
                str(self.women), "--days", str(self.days), "--answer-rate", "0.6", "--seed", "1",
                "--json"]

    def prepare(self, trees: list[Tree]) -> dict:
        return {}

    def measure(self, tree: Tree) -> dict:
        stdout, usage = run(self.cmd(tree), tree, 900)
        data = json.loads(stdout)
        data.pop("elapsed_seconds", None)             # its own timing: differs on every run
        self.outputs.setdefault(tree.label, set()).add(json.dumps(data, sort_keys=True))
        return {"sim_wall_s": usage["wall_s"], "sim_cpu_s": usage["cpu_s"],
                "sim_peak_rss_mb": usage["peak_rss_mb"]}

    def command(self, tree: Tree) -> str:
        return "ivr simulate " + " ".join(self.cmd(tree)[2:])

    def same_output(self) -> bool | None:
        outs = list(self.outputs.values())
        return None if len(outs) < 2 else all(o == outs[0] and len(o) == 1 for o in outs)


class Cpu:
    """Controller CPU per call: the Dialer's process against a private sandbox Asterisk."""
    name = "cpu"

    def __init__(self, args, work: Path):
        self.batch, self.message, self.cps, self.work = (args.cpu_batch, args.cpu_message,
                                                         args.cpu_cps, work)
        self.n = 0

    def cmd(self, tree: Tree, out: Path) -> list[str]:
        script = tree.root / "bench" / "service_bench.py"
        parts = "dialer,ivr-run" if '"ivr-run"' in script.read_text() else "dialer"
        cmd = [str(PYTHON), str(script), "--parts", parts, "--batch", str(self.batch),
               "--limit", str(self.batch), "--cps", str(self.cps), "--message",
               str(self.message), "--out", str(out)]
        return cmd + (["--no-watch"] if "--no-watch" in script.read_text() else [])

    def prepare(self, trees: list[Tree]) -> dict:
        return {}

    def measure(self, tree: Tree) -> dict:
        self.n += 1
        out = self.work / f"cpu-{tree.label}-{self.n}.json"
        run(self.cmd(tree, out), tree, 900)
        phases = {r["phase"]: r for r in json.loads(out.read_text())}
        failed = {n: r["failures"] for n, r in phases.items() if r.get("failures")}
        if failed:
            raise SystemExit(f"{tree.label}: failed calls {failed} in {out}")
        d = phases["dialer"]
        figures = {"cpu_ms_per_call": d["cpu"]["own_cpu_ms_per_call"],
                   "asterisk_ms_per_call": d["cpu"]["asterisk_cpu_ms_per_call"],
                   "dialer_completion_s": d["completion_s"]}
        r = phases.get("ivr-run")
        if r:
            figures.update(ivr_run_ms_per_call=r["cpu_ms_per_call"],
                           ivr_run_less_idle_ms_per_call=r["cpu_ms_per_call_less_idle"])
        return figures

    def command(self, tree: Tree) -> str:
        return shown(self.cmd(tree, Path("OUT.json")), tree)


BENCHES = {"store": Store, "simulate": Simulate, "cpu": Cpu}
GOALS = ("claim_p50_ms", "sim_wall_s", "sim_cpu_s", "sim_peak_rss_mb", "cpu_ms_per_call",
         "ivr_run_ms_per_call", "ivr_run_less_idle_ms_per_call")   # marked when > +5 %
METRICS = {   # metric: (label, unit, benchmark)
    "claim_p50_ms": ("claim 500 at 09:00, {women} women: p50 of {claims} claims", "ms", "store"),
    "claim_max_ms": ("claim 500 at 09:00, {women} women: max of {claims} claims", "ms", "store"),
    "sim_wall_s": ("`ivr simulate` {sim_women} women x {sim_days} days: wall", "s", "simulate"),
    "sim_cpu_s": ("`ivr simulate` {sim_women} women x {sim_days} days: CPU", "s", "simulate"),
    "sim_peak_rss_mb": ("`ivr simulate` {sim_women} women x {sim_days} days: peak RSS", "MB",
                        "simulate"),
    "cpu_ms_per_call": ("controller CPU per call ({cpu_batch} calls, {cpu_cps:g} CPS, "
                        "{cpu_message:g} s message)", "ms", "cpu"),
    "ivr_run_ms_per_call": ("`ivr run --until-idle` process CPU per call placed (same batch)",
                            "ms", "cpu"),
    "ivr_run_less_idle_ms_per_call": ("the same, less an idle `ivr run`'s start-up and exit",
                                      "ms", "cpu"),
    "asterisk_ms_per_call": ("Asterisk CPU per call (dialer runs; context)", "ms", "cpu"),
    "dialer_completion_s": ("dialer completion (same runs; context)", "s", "cpu"),
}
