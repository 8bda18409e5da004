"""bench/compare.py's revisions: export a revision (or a checkout) with this checkout's
bench code laid over it, and run a command in it with its own code on the path."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
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
            raise SystemExit(f"{tree.label}: {' '.join(cmd)} took more than "
                             f"{timeout:.0f} s") from None
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
