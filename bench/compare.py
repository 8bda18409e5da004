"""The same benchmarks on two git revisions in one session, interleaved (issue 13's proof).

    ip netns exec ns-bench .venv/bin/python bench/compare.py --old f77e554 --new HEAD
    ip netns exec ns-bench .venv/bin/python bench/compare.py --old f77e554 --new /work/main \\
        --rounds 3 --parts store,simulate,cpu --out bench/results/compare.md

Each revision is exported (`git archive`, or a copy of a checkout's tracked files when given a
path) under --work, and this checkout's bench/*.py are laid over it: both revisions are
measured by the same benchmark code (--bench-from own keeps each revision's own copy). Both
run with this checkout's .venv (same dependencies), PYTHONPATH set to the export: the harness
checks that `ivr`, `cli` and `scheduler` are imported from the export before measuring.

Benchmarks (--parts):
  store     claim 500 at 09:00 (slot opening) over --women women: bench/store_scale.py
            --claims-only on a copy of a database built once (shared by both revisions when a
            small store built by each has the same schema, else one per revision)
  simulate  `ivr simulate` of --sim-women women over --sim-days days (same seed on both):
            wall time, CPU and peak RSS of the process (os.wait4); the outputs must be equal
  cpu       controller CPU per call: bench/service_bench.py --parts dialer (Dialer in the
            benchmark's process against a private sandbox Asterisk; needs a network namespace
            of its own, so run the harness under `ip netns exec`)

Rounds are interleaved old/new, then new/old (ABBA), --rounds times each; the table gives the
median of each side, its spread (min-max) and the change of the medians.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
PARTS = ("store", "simulate", "cpu")
SKIP_COPY = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".mypy_cache",
             ".ruff_cache", ".hypothesis"}


@dataclass
class Tree:
    label: str          # "old" / "new"
    spec: str           # what was asked: a revision or a path
    commit: str         # the commit measured (with "+changes" for a dirty checkout)
    root: Path          # the export the benchmarks run in

    def env(self) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(self.root)
        env.setdefault("IVR_HOME", str(HARNESS / "var"))   # the unpacked sandbox Asterisk
        return env


def git(*args: str, cwd: Path = HARNESS) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def prepare(label: str, spec: str, work: Path, bench_from: str) -> Tree:
    """Export `spec` (a revision of this repository, or a checkout's path) under `work`."""
    path = Path(spec)
    if path.is_dir():
        path = path.resolve()
        commit = git("rev-parse", "HEAD", cwd=path)
        if git("status", "--porcelain", "--untracked-files=no", cwd=path):
            commit += "+changes"
        root = work / f"{label}-path"
        if root.exists():
            shutil.rmtree(root)
        files = git("ls-files", "-z", cwd=path).split("\0")
        for name in filter(None, files):
            src = path / name
            if src.is_file() and not SKIP_COPY & set(Path(name).parts):
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, root / name)
    else:
        commit = git("rev-parse", "--verify", f"{spec}^{{commit}}")
        root = work / f"{label}-{commit[:12]}"
        if not (root / ".exported").exists():
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            archive = subprocess.run(["git", "archive", commit], cwd=HARNESS, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
            (root / ".exported").write_text(commit + "\n")
    if bench_from == "harness":
        for src in (HARNESS / "bench").glob("*.py"):
            shutil.copy2(src, root / "bench" / src.name)
    tree = Tree(label, spec, commit, root)
    check_imports(tree)
    return tree


def check_imports(tree: Tree) -> None:
    """The revision's code, not this checkout's (the venv has an editable install of it)."""
    out = subprocess.run([str(PYTHON), "-c", "import ivr, cli, scheduler; "
                          "print(ivr.__file__); print(cli.__file__); print(scheduler.__file__)"],
                         cwd=tree.root, env=tree.env(), check=True, capture_output=True,
                         text=True).stdout.split()
    wrong = [f for f in out if not Path(f).resolve().is_relative_to(tree.root.resolve())]
    if wrong:
        raise SystemExit(f"{tree.label}: imports {wrong} instead of {tree.root}")


def run(cmd: list[str], tree: Tree, timeout: float) -> tuple[str, dict]:
    """Run `cmd` in the tree; stdout, and wall, CPU and peak RSS of the process itself."""
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=tree.root, env=tree.env(), stdout=out, stderr=err)
        try:
            _, status, usage = wait4(proc, timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SystemExit(f"{tree.label}: {' '.join(cmd)} took more than {timeout:.0f} s")
        wall = time.perf_counter() - began
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tree.label}: {' '.join(cmd)} failed:\n{stderr[-3000:]}\n(if this "
                         "checkout's bench code no longer fits that revision: --bench-from own)")
    return stdout, {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                    "peak_rss_mb": usage.ru_maxrss / 1024}


def wait4(proc: subprocess.Popen, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, usage
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.05)


def shown(cmd: list[str], tree: Tree) -> str:
    """A command as typed from the checkout's top directory."""
    return " ".join(str(c).replace(f"{tree.root}/", "").replace(f"{PYTHON.parent}/", ".venv/bin/")
                    for c in cmd)


def complete(db: Path, women: int) -> bool:
    """A database left by an earlier run holds exactly `women` women (not a build cut short)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM subscribers").fetchone()[0] == women
    except sqlite3.Error:
        return False


# ---------------------------------------------------------------------- the benchmarks
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
        cmd = [str(PYTHON), str(script), "--parts", "dialer", "--batch", str(self.batch),
               "--limit", str(self.batch), "--cps", str(self.cps), "--message",
               str(self.message), "--out", str(out)]
        return cmd + (["--no-watch"] if "--no-watch" in script.read_text() else [])

    def prepare(self, trees: list[Tree]) -> dict:
        return {}

    def measure(self, tree: Tree) -> dict:
        self.n += 1
        out = self.work / f"cpu-{tree.label}-{self.n}.json"
        run(self.cmd(tree, out), tree, 900)
        d = next(r for r in json.loads(out.read_text()) if r["phase"] == "dialer")
        if d["failures"]:
            raise SystemExit(f"{tree.label}: {d['failures']} failed calls in {out}")
        return {"cpu_ms_per_call": d["cpu"]["own_cpu_ms_per_call"],
                "asterisk_ms_per_call": d["cpu"]["asterisk_cpu_ms_per_call"],
                "dialer_completion_s": d["completion_s"]}

    def command(self, tree: Tree) -> str:
        return shown(self.cmd(tree, Path("OUT.json")), tree)


BENCHES = {"store": Store, "simulate": Simulate, "cpu": Cpu}
METRICS = {   # metric: (label, unit, benchmark)
    "claim_p50_ms": ("claim 500 at 09:00, {women} women: p50 of {claims} claims", "ms", "store"),
    "claim_max_ms": ("claim 500 at 09:00, {women} women: max of {claims} claims", "ms", "store"),
    "sim_wall_s": ("`ivr simulate` {sim_women} women x {sim_days} days: wall", "s", "simulate"),
    "sim_cpu_s": ("`ivr simulate` {sim_women} women x {sim_days} days: CPU", "s", "simulate"),
    "sim_peak_rss_mb": ("`ivr simulate` {sim_women} women x {sim_days} days: peak RSS", "MB",
                        "simulate"),
    "cpu_ms_per_call": ("controller CPU per call ({cpu_batch} calls, {cpu_cps:g} CPS, "
                        "{cpu_message:g} s message)", "ms", "cpu"),
    "asterisk_ms_per_call": ("Asterisk CPU per call (same runs; context)", "ms", "cpu"),
    "dialer_completion_s": ("dialer completion (same runs; context)", "s", "cpu"),
}


# ---------------------------------------------------------------------- the report
def fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def table(args, trees: list[Tree], results: dict, benches: dict) -> str:
    old, new = trees
    lines = ["| benchmark | old: median (min-max) | new: median (min-max) | change % | command |",
             "|---|---|---|---|---|"]
    for metric, (label, unit, part) in METRICS.items():
        a, b = results[old.label].get(metric), results[new.label].get(metric)
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        change = 100 * (mb - ma) / ma if ma else float("nan")
        flag = " **(> +5 %)**" if change > 5 and metric in ("claim_p50_ms", "sim_wall_s",
                                                             "sim_peak_rss_mb",
                                                             "cpu_ms_per_call") else ""
        lines.append(f"| {label.format(**vars(args))} ({unit}, n={len(a)}+{len(b)}) | "
                     f"{fmt(ma)} ({fmt(min(a))}-{fmt(max(a))}) | "
                     f"{fmt(mb)} ({fmt(min(b))}-{fmt(max(b))}) | {change:+.1f} %{flag} | "
                     f"`{benches[part].command(new)}` |")
    return "\n".join(lines)


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", default="f77e554", help="revision or checkout path (f77e554)")
    p.add_argument("--new", default=str(HARNESS),
                   help="revision or checkout path (default: this checkout, as it is)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each benchmark per side (3)")
    p.add_argument("--parts", default=",".join(PARTS), help="store,simulate,cpu")
    p.add_argument("--women", type=int, default=2_500_000, help="women in the store (2.5 M)")
    p.add_argument("--claims", type=int, default=30, help="full claims of 500 per run (30)")
    p.add_argument("--sim-women", type=int, default=10_000)
    p.add_argument("--sim-days", type=int, default=365)
    p.add_argument("--cpu-batch", type=int, default=500, help="calls per cpu run (500)")
    p.add_argument("--cpu-cps", type=float, default=50.0)
    p.add_argument("--cpu-message", type=float, default=10.0, help="message length, s (10)")
    p.add_argument("--work", type=Path, default=Path("/tmp/ivr-compare"),
                   help="exports and databases (kept between runs: a database is reused)")
    p.add_argument("--bench-from", choices=("harness", "own"), default="harness",
                   help="bench/*.py of this checkout on both sides (default), or each's own")
    p.add_argument("--out", type=Path, default=None, help="write the markdown table here too")
    args = p.parse_args(argv)
    args.parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    bad = [x for x in args.parts if x not in PARTS]
    if bad or args.rounds < 1:
        p.error(f"unknown part(s) {bad}, or --rounds < 1")
    return args


def main(argv=None) -> int:
    args = arguments(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    trees = [prepare("old", args.old, args.work, args.bench_from),
             prepare("new", args.new, args.work, args.bench_from)]
    if trees[0].commit == trees[1].commit:      # old vs old: two labels, one code
        print(f"note: old and new are the same commit {trees[0].commit}", file=sys.stderr)
    benches = {name: BENCHES[name](args, args.work) for name in args.parts}
    results: dict[str, dict[str, list[float]]] = {t.label: {} for t in trees}
    log: list[dict] = []
    notes: dict = {}
    for name, bench in benches.items():
        notes[name] = bench.prepare(trees)
        for r in range(args.rounds):
            order = trees if r % 2 == 0 else trees[::-1]
            for tree in order:
                load = os.getloadavg()[0]
                figures = bench.measure(tree)
                for k, v in figures.items():
                    results[tree.label].setdefault(k, []).append(v)
                entry = {"part": name, "round": r + 1, "side": tree.label, "load1": load,
                         **figures}
                log.append(entry)
                print(json.dumps(entry), file=sys.stderr, flush=True)
    same = benches["simulate"].same_output() if "simulate" in benches else None
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    head = [f"old = `{trees[0].spec}` ({trees[0].commit[:12]}), new = `{trees[1].spec}` "
            f"({trees[1].commit[:12]}); {args.rounds} rounds each, interleaved ABBA; "
            f"bench code from {args.bench_from}; {when}, "
            f"{(time.time() - started) / 60:.0f} min; load average at the start of each run "
            f"{min(e['load1'] for e in log):.1f}-{max(e['load1'] for e in log):.1f} "
            f"on {os.cpu_count()} cores.", ""]
    if "store" in notes:
        head += ["Store: " + "; ".join(f"{k}: {v}" for k, v in notes["store"].items()) + ".", ""]
    if same is not None:
        head += [f"`ivr simulate` output identical on both sides: **{same}**.", ""]
    text = "\n".join(head) + "\n" + table(args, trees, results, benches) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(
            {"old": vars(trees[0]) | {"root": str(trees[0].root)},
             "new": vars(trees[1]) | {"root": str(trees[1].root)},
             "notes": notes, "runs": log, "simulate_same_output": same}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
