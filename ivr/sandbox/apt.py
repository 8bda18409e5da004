"""Getting Debian sid's Asterisk onto this machine without installing it (recipe B).

apt-get runs with a private state directory (its own sources.list naming only sid, its own
lists and cache, and an EMPTY dpkg status, so it resolves the full dependency closure as if
installing on an empty system); the closure's .debs are downloaded and unpacked with
`dpkg -x` into a prefix. Asterisk then runs through the prefix's own ld.so (see instance.py),
so the host's libc is never touched.

The Debian mirror is read from the host's own apt sources; no host name is written here.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ivr.sandbox.model import SandboxError

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
MARKER = ".provisioned"          # written last, holds the `asterisk -V` line
# dpkg architecture -> (multiarch triplet, dynamic loader file name)
ARCHES = {
    "amd64": ("x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
    "arm64": ("aarch64-linux-gnu", "ld-linux-aarch64.so.1"),
}
APT_TIMEOUT = 600.0             # seconds for one apt-get run (download of ~80 MB)
LISTS_MAX_AGE = 6 * 3600        # refresh the private sid lists at most this often


@dataclass(frozen=True)
class Layout:
    """Where the Asterisk files of one prefix live."""
    prefix: Path
    arch: str

    @property
    def triplet(self) -> str:
        return ARCHES[self.arch][0]

    @property
    def libdir(self) -> Path:
        return self.prefix / "usr/lib" / self.triplet

    @property
    def loader(self) -> Path:
        return self.libdir / ARCHES[self.arch][1]

    @property
    def binary(self) -> Path:
        return self.prefix / "usr/sbin/asterisk"

    @property
    def moddir(self) -> Path:
        return self.libdir / "asterisk/modules"

    @property
    def datadir(self) -> Path:
        return self.prefix / "usr/share/asterisk"

    def argv(self, *args: str) -> list[str]:
        # --library-path, not LD_LIBRARY_PATH: Asterisk's own children keep the host libraries.
        return [str(self.loader), "--library-path", str(self.libdir), str(self.binary), *args]

    def launcher(self, path: Path) -> str:
        """The text of a shell script, installed as `path`, that runs this Asterisk through
        the prefix's loader and tells Asterisk its name is `path` (ld.so --argv0, glibc 2.33+).
        Asterisk's own restart (`core restart now`) executes its argv[0] again: through this
        script it comes back with its libraries, where the bare binary would not run here."""
        q = shlex.quote
        return ("#!/bin/sh\n# Written by `ivr sandbox start`: the sandbox Asterisk through sid's "
                "own loader.\n"
                f"exec {q(str(self.loader))} --library-path {q(str(self.libdir))} "
                f"--argv0 {q(str(path))} {q(str(self.binary))} \"$@\"\n")

    def missing(self) -> list[Path]:
        """The files without which this prefix cannot run Asterisk."""
        need = [self.loader, self.binary, self.moddir / "chan_pjsip.so",
                self.moddir / "res_agi.so", self.datadir / "documentation"]
        return [p for p in need if not p.exists()]


def mirror_from_sources(deb822: dict[str, str], one_line: str) -> str:
    """The first Debian mirror URI in the host's apt sources.

    `deb822` maps file names to the text of /etc/apt/sources.list.d/*.sources files,
    `one_line` is /etc/apt/sources.list. Security mirrors are skipped (they carry no sid)."""
    candidates: list[str] = []
    for name in sorted(deb822):
        for line in deb822[name].splitlines():
            m = re.match(r"\s*URIs:\s*(.+)", line)
            if m:
                candidates.extend(m.group(1).split())
    for line in one_line.splitlines():
        m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", line)
        if m:
            candidates.append(m.group(1))
    for uri in candidates:
        if "security" not in uri and uri.startswith(("http://", "https://", "file:/")):
            return uri
    raise SandboxError("no Debian mirror found in /etc/apt/sources.list.d/*.sources (URIs:) or "
                       "/etc/apt/sources.list (deb lines): configure apt on this machine first")


def host_mirror() -> str:
    d = Path("/etc/apt/sources.list.d")
    deb822 = {p.name: p.read_text(errors="replace") for p in sorted(d.glob("*.sources"))} \
        if d.is_dir() else {}
    one = Path("/etc/apt/sources.list")
    return mirror_from_sources(deb822, one.read_text(errors="replace") if one.exists() else "")


def prefix_arch(prefix: Path) -> str:
    """The architecture of the Asterisk unpacked under `prefix` (the host's, if none yet)."""
    for arch, (triplet, _) in ARCHES.items():
        if (prefix / "usr/lib" / triplet).is_dir():
            return arch
    return host_arch()


def host_arch() -> str:
    arch = _run(["dpkg", "--print-architecture"], timeout=10).strip()
    if arch not in ARCHES:
        raise SandboxError(f"the sandbox supports the architectures {sorted(ARCHES)}, "
                           f"this machine is {arch}")
    return arch


def check_host_tools() -> None:
    """The Debian packages provisioning needs for itself (not Asterisk's own: those are
    unpacked)."""
    missing = [pkg for tool, pkg in (("apt-get", "apt"), ("dpkg", "dpkg"), ("dpkg-deb", "dpkg"))
               if shutil.which(tool) is None]
    if not KEYRING.exists():
        missing.append("debian-archive-keyring")
    if missing:
        pkgs = " ".join(sorted(set(missing)))
        raise SandboxError(f"provisioning the sandbox needs the Debian packages: {pkgs} "
                           f"(install them: apt-get install {pkgs})")


def _run(argv: list[str], *, timeout: float, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"{argv[0]} took longer than {timeout:.0f} s: {' '.join(argv[:6])} ...; "
                           "check the network to the Debian mirror and retry") from None
    except OSError as e:
        raise SandboxError(f"cannot run {argv[0]}: {e}") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise SandboxError(f"{' '.join(argv[:4])} ... failed (exit {done.returncode}):\n{tail}")
    return done.stdout


class AptSid:
    """apt-get confined to home/sandbox/apt, seeing only sid."""

    def __init__(self, root: Path, mirror: str, arch: str):
        self.root = root
        self.mirror = mirror
        self.arch = arch

    def options(self) -> list[str]:
        r = self.root
        opts = {
            "Dir::Etc::sourcelist": r / "sources.list", "Dir::Etc::sourceparts": "-",
            "Dir::State::Lists": r / "lists", "Dir::Cache": r / "cache",
            "Dir::State::status": r / "empty.status", "APT::Architecture": self.arch,
            "APT::Architectures::": self.arch, "Debug::NoLocking": "1",
            # The registry serves a frozen snapshot whose Release file has "expired"
            # relative to the clock: do not reject it for that.
            "Acquire::Check-Valid-Until": "false", "Acquire::Check-Date": "false",
        }
        out: list[str] = []
        for k, v in opts.items():
            out += ["-o", f"{k}={v}"]
        return out

    def prepare(self) -> None:
        for sub in ("lists/partial", "cache/archives/partial", "debs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "empty.status").write_text("")
        (self.root / "sources.list").write_text(
            f"deb [signed-by={KEYRING}] {self.mirror} sid main\n")

    def update(self) -> None:
        lists = list((self.root / "lists").glob("*_Packages*"))
        if lists and time.time() - max(p.stat().st_mtime for p in lists) < LISTS_MAX_AGE:
            return
        _run(["apt-get", *self.options(), "update", "-qq"], timeout=APT_TIMEOUT)

    def closure(self, package: str) -> list[tuple[str, str]]:
        """(.deb file name, package=version) of everything `package` needs on an empty system."""
        out = _run(["apt-get", *self.options(), "install", "--no-install-recommends",
                    "--print-uris", "-qq", package], timeout=APT_TIMEOUT)
        debs: list[tuple[str, str]] = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2 or not parts[1].endswith(".deb"):
                continue
            fname = parts[1]
            name, version = fname.split("_")[:2]
            debs.append((fname, f"{name}={version.replace('%3a', ':')}"))
        if not any(f.startswith(f"{package}_") for f, _ in debs):
            raise SandboxError(f"apt found no '{package}' package in sid at {self.mirror}; "
                               f"output:\n{out[-800:]}")
        return debs

    def download(self, debs: list[tuple[str, str]]) -> list[Path]:
        folder = self.root / "debs"
        want = [spec for fname, spec in debs if not (folder / fname.replace("%3a", ":")).exists()
                and not (folder / fname).exists()]
        if want:
            _run(["apt-get", *self.options(), "download", "-qq", *want], cwd=folder,
                 timeout=APT_TIMEOUT)
        paths = []
        for fname, spec in debs:
            p = next((c for c in (folder / fname, folder / fname.replace("%3a", ":"))
                      if c.exists()), None)
            if p is None:
                raise SandboxError(f"apt-get download did not produce {fname} ({spec})")
            paths.append(p)
        return paths


def unpack(debs: list[Path], prefix: Path, arch: str) -> str:
    """Unpack into a temporary sibling, check it runs, then rename it into place.

    A crash leaves at most a *.tmp-<pid> directory beside the prefix, never half a prefix."""
    tmp = prefix.with_name(f"{prefix.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        # a few dpkg-deb at once (each is mostly decompression): ~2x faster on 2 cores
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            list(pool.map(lambda deb: _run(["dpkg-deb", "-x", str(deb), str(tmp)], timeout=120),
                          debs))
        layout = Layout(tmp, arch)
        missing = layout.missing()
        if missing:
            raise SandboxError(f"the unpacked packages lack {', '.join(map(str, missing))}")
        version = _run(layout.argv("-V"), timeout=30).strip()
        if not version.startswith("Asterisk "):
            raise SandboxError(f"`asterisk -V` printed {version!r}, not a version")
        (tmp / MARKER).write_text(version + "\n")
        shutil.rmtree(prefix, ignore_errors=True)
        tmp.rename(prefix)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return version
