"""The project's own Asterisk: provision, start, stop, status, CLI, reload.

Files (home = ivr.config.home_dir()):
  home/sandbox/apt      private apt state and the downloaded .debs
  home/sandbox/prefix   the unpacked sid files (complete when prefix/.provisioned exists)
  home/sandbox/rt       the instance: etc/ (rendered), log/, run/ (pid file, control socket),
                        lib/, spool/, cache/, data/ (links to the packaged documentation)
  home/sandbox/bin/asterisk  the launcher: Asterisk through sid's loader (its own restart too)
  home/sandbox/ami-secret, ports.json, lock
  home/ivr.toml         points the default configuration at the sandbox
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Iterator

from ivr import missed_fallback
from ivr.line_secret import line_secret
from ivr.sandbox import apt, controller_home, process, render
from ivr.sandbox.model import Ports, SandboxError, SandboxStatus

LOCK_WAIT = 900.0                 # another process provisioning/starting the same home
DATA_LINKS = ("documentation", "rest-api", "static-http", "phoneprov", "firmware", "keys")
AMI_USER = process.AMI_USER
AMI_TEST_USER = "ivr-test"        # the sandbox tests' observer: also DTMF/dialplan/AGI events
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,}")


class Sandbox:
    def __init__(self, home: Path, *, ami_port: int | None = None, sip_port: int | None = None,
                 rtp_start: int | None = None, rtp_end: int | None = None,
                 agi_port: int | None = None, sipp_port: int | None = None):
        """Ports left as None are the ones this home used last (home/sandbox/ports.json),
        else the defaults (AMI 5038, SIP 5060, RTP 20000-30000, FastAGI 4573, sipp UAS 5070)."""
        self.home = Path(home).absolute()
        self.root = self.home / "sandbox"
        self.prefix = self.root / "prefix"
        self.rt = self.root / "rt"
        self.etc = self.rt / "etc"
        self.pid_file = self.rt / "run" / "sandbox.pid"
        self.log_file = self.rt / "log" / "messages.log"
        self.stdout_file = self.rt / "log" / "stdout.log"
        self.launcher = self.root / "bin" / "asterisk"
        asked = {"ami_port": ami_port, "sip_port": sip_port, "rtp_start": rtp_start,
                 "rtp_end": rtp_end, "agi_port": agi_port, "sipp_port": sipp_port}
        self._asked = {k: v for k, v in asked.items() if v is not None}
        self.ports = Ports(**{**self._stored_ports(), **self._asked})
        self.ports.check()

    # ------------------------------------------------------------------ public API
    def provision(self) -> str:
        """Make sure the Asterisk files are unpacked; returns `asterisk -V`. Idempotent."""
        with self._lock():
            return self._provision()

    def start(self, timeout: float = 30) -> SandboxStatus:
        """Provision if needed, render the configuration, start Asterisk and wait until it is
        fully booted and an AMI login with the generated secret succeeds."""
        with self._lock():
            return self._start(timeout)

    def restart(self, timeout: float = 30, *, new_process: bool = False) -> SandboxStatus:
        """Restart the sandbox Asterisk and wait until it is ready, as start does; start it
        when it is not running. The configuration is rendered again first. By default through
        Asterisk's own `core restart now` (the process executes itself again and keeps its
        pid; every call and AMI connection is dropped), as on a production server; with
        new_process (or when it was launched without the launcher, or ports changed) it is
        stopped and a new process started."""
        with self._lock():
            pid = self._running_pid()
            if (pid is None or new_process or str(self.launcher) not in process.cmdline(pid)
                    or self.ports != Ports(**self._stored_ports())):
                self._stop(timeout=10)
                return self._start(timeout)
            layout, secret = self._layout(), self._secret()
            self._render(layout, secret)
            before = process.threads(pid)
            deadline = time.monotonic() + timeout
            try:
                self._asterisk(layout, "-rx", "core restart now", timeout=min(timeout, 10.0))
            except SandboxError as e:
                failed: SandboxError | None = e   # the restart may have cut the answer short
            else:
                failed = None
            if not process.wait_exec(pid, before, deadline):
                raise failed or SandboxError(f"Asterisk (pid {pid}) did not restart within "
                                             f"{timeout:.0f} s.\n{self._log_tail()}")
            self._wait_ready(layout, pid, secret, deadline)
            return self.status()

    def _start(self, timeout: float) -> SandboxStatus:
        st = self.status()
        if st.running:
            stored = self._stored_ports()
            clash = {k: (stored.get(k), v) for k, v in self._asked.items()
                     if k in stored and stored[k] != v}
            if clash:
                raise SandboxError(f"the sandbox in {self.home} already runs with other "
                                   f"ports {clash} (running, asked); stop it first")
            return st
        if not (self.prefix / apt.MARKER).exists():
            self._provision()
        layout = self._layout()
        render.read_sections(self.home / "ivr.toml")   # a broken file fails before launch
        process.check_ports_free(self.ports)
        secret = self._secret()
        self._render(layout, secret)
        self._store_ports()
        pid = self._launch(layout)
        try:
            self._wait_ready(layout, pid, secret, time.monotonic() + timeout)
        except SandboxError:
            process.kill(pid, str(self.etc / "asterisk.conf"), 5.0)
            self.pid_file.unlink(missing_ok=True)
            raise
        render.write_ivr_toml(self.home / "ivr.toml", self.ports.ami_port, secret,
                              self.ports.agi_port)
        controller_home.create_database(self.home)
        return self.status()

    def stop(self, timeout: float = 10) -> None:
        """`core stop now`, then SIGTERM, then SIGKILL, by pid. No-op when not running."""
        with self._lock():
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        pid = self._running_pid()
        if pid is not None:
            deadline = time.monotonic() + timeout
            if not (self._ask_stop(pid, deadline) and process.wait_gone(pid, deadline)):
                process.kill(pid, str(self.etc / "asterisk.conf"), 5.0)
        self.pid_file.unlink(missing_ok=True)

    def _ask_stop(self, pid: int, deadline: float) -> bool:
        """`core stop now` once Asterisk is fully booted: while it boots (as just after its own
        restart) it has no CLI yet, and it loses a stop request or a SIGTERM."""
        layout = self._layout()
        while process.alive(pid) and (left := deadline - time.monotonic()) > 0:
            try:
                self._asterisk(layout, "-rx", "core waitfullybooted", timeout=min(left, 5.0))
                self._asterisk(layout, "-rx", "core stop now", timeout=min(left, 5.0))
                return True
            except SandboxError:
                time.sleep(0.1)
        return False

    def status(self) -> SandboxStatus:
        marker = self.prefix / apt.MARKER
        version = marker.read_text().strip() if marker.exists() else None
        return SandboxStatus(running=(pid := self._running_pid()) is not None, pid=pid,
                             version=version or None, ami_port=self.ports.ami_port,
                             sip_port=self.ports.sip_port)

    def cli(self, command: str, timeout: float = 10) -> str:
        """Run one Asterisk CLI command (`asterisk -rx`) and return its output."""
        if not command.strip() or any(c in command for c in "\r\n\0"):
            raise SandboxError(f"a CLI command is one non-empty line, got {command!r}")
        if self._running_pid() is None:
            raise SandboxError(f"the sandbox Asterisk in {self.home} is not running "
                               "(start it: ivr sandbox start)")
        return self._asterisk(self._layout(), "-rx", command, timeout=timeout)

    def reload(self) -> None:
        """Re-render the configuration files and `core reload` (ports need a restart)."""
        with self._lock():
            if self._running_pid() is None:
                raise SandboxError("the sandbox Asterisk is not running (ivr sandbox start)")
            self._render(self._layout(), self._secret())
        self.cli("core reload")
        self._load_new_modules()

    def test_user(self) -> tuple[str, str]:
        """(username, secret) of the sandbox tests' AMI observer."""
        return AMI_TEST_USER, self._secret("ami-test-secret")

    def _load_new_modules(self) -> None:
        """`core reload` does not load modules added to modules.conf since the start."""
        wanted = re.findall(r"^\s*load\s*=>\s*(\S+)", (self.etc / "modules.conf").read_text(),
                            re.MULTILINE)
        loaded = self.cli("module show like .so")
        for module in wanted:
            if module not in loaded:
                out = self.cli(f"module load {module}")
                if "Loaded" not in out:
                    raise SandboxError(f"could not load {module} after the reload: {out.strip()}")

    # ------------------------------------------------------------------ provisioning
    def _provision(self) -> str:
        marker = self.prefix / apt.MARKER
        for stale in self.root.glob("prefix.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if marker.exists():
            layout = apt.Layout(self.prefix, apt.prefix_arch(self.prefix))
            if not layout.missing():
                return marker.read_text().strip()
        apt.check_host_tools()
        arch = apt.host_arch()
        sid = apt.AptSid(self.root / "apt", apt.host_mirror(), arch)
        sid.prepare()
        sid.update()
        debs = sid.download(sid.closure("asterisk"))
        return apt.unpack(debs, self.prefix, arch)

    def _layout(self) -> apt.Layout:
        layout = apt.Layout(self.prefix, apt.prefix_arch(self.prefix))
        missing = layout.missing()
        if missing:
            raise SandboxError(
                f"the sandbox's Asterisk files in {self.prefix} are incomplete or corrupt "
                f"(missing: {', '.join(str(p) for p in missing)}); repair them with "
                "`ivr sandbox provision` (it unpacks them again)")
        return layout

    # ------------------------------------------------------------------ files
    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                        raise SandboxError(f"another process holds {self.root / 'lock'} for "
                                           f"more than {LOCK_WAIT:.0f} s") from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)

    def _stored_ports(self) -> dict[str, int]:
        path = self.root / "ports.json"
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except ValueError as e:
            raise SandboxError(f"{path} is not valid JSON ({e}); delete it") from None
        known = {f.name for f in fields(Ports)}
        return {k: v for k, v in data.items() if k in known}

    def _store_ports(self) -> None:
        render.write_private(self.root / "ports.json", json.dumps(asdict(self.ports)) + "\n",
                             0o644)

    def _secret(self, name: str = "ami-secret") -> str:
        path = self.root / name
        if not path.exists():
            render.write_private(path, secrets.token_urlsafe(24) + "\n")
        secret = path.read_text().strip()
        if not SECRET_RE.fullmatch(secret):
            raise SandboxError(f"{path} does not hold a usable secret; delete it and start again")
        return secret

    def _render(self, layout: apt.Layout, secret: str) -> None:
        for sub in ("etc", "log", "run", "lib", "spool", "cache", "agi-bin", "data/sounds"):
            (self.rt / sub).mkdir(parents=True, exist_ok=True)
        for name in DATA_LINKS:
            target, link = layout.datadir / name, self.rt / "data" / name
            if target.exists() and not (link.is_symlink() and link.readlink() == target):
                if link.is_symlink() or link.is_file():
                    link.unlink()
                elif link.exists():
                    shutil.rmtree(link)
                link.symlink_to(target)
        ctl = self.rt / "run" / "asterisk.ctl"
        if len(str(ctl)) > 100:
            raise SandboxError(f"the control socket path {ctl} is too long for a Unix socket; "
                               "use a shorter IVR_HOME")
        dialplan = render.dialplan_dir()
        p = self.ports
        values = {
            "RT": str(self.rt), "PREFIX": str(self.prefix), "MODDIR": str(layout.moddir),
            "SBINDIR": str(layout.binary.parent), "DIALPLAN": str(dialplan),
            "SOUNDS": str(self.home / "sounds"), "AMI_USER": AMI_USER, "AMI_SECRET": secret,
            "AMI_PORT": str(p.ami_port), "SIP_PORT": str(p.sip_port),
            "RTP_START": str(p.rtp_start), "RTP_END": str(p.rtp_end),
            "AGI_PORT": str(p.agi_port), "SIPP_PORT": str(p.sipp_port),
        }
        values.update({"MISSED_SPOOL": str(controller_home.missed_spool(self.home)),
                       "NODE": self.node(),
                       "AMI_TEST_USER": AMI_TEST_USER,
                       "AMI_TEST_SECRET": self._secret("ami-test-secret"),
                       # the answered line's secret, the file the controller reads by default
                       "LINE_SECRET": line_secret(self.home / "line.secret", create=True)})
        render.render_all(dialplan / "sandbox", self.etc, values)
        try:
            missed_fallback.install_wrapper(self.rt / "agi-bin", sys.executable)
        except missed_fallback.FallbackError as e:
            raise SandboxError(str(e)) from None

    def node(self) -> str:
        """The node name as `ivr run` reads it: Asterisk's systemname (controller_home)."""
        return controller_home.node(self.home)

    # ------------------------------------------------------------------ process
    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if process.is_ours(pid, str(self.etc / "asterisk.conf")) else None

    def _launch(self, layout: apt.Layout) -> int:
        for f in (self.log_file, self.stdout_file):
            if f.exists():
                f.replace(f.with_name(f.name + ".1"))
        self.launcher.parent.mkdir(exist_ok=True)
        render.write_private(self.launcher, layout.launcher(self.launcher), 0o755)
        argv = [str(self.launcher), "-f", "-n", "-C", str(self.etc / "asterisk.conf")]
        # A shell in its own session starts Asterisk in the background and exits: Asterisk is
        # not our child (no zombie, no ResourceWarning), and a pid file says where it is.
        script = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'
        try:
            done = subprocess.run(["/bin/sh", "-c", script, "sh", str(self.stdout_file), *argv],
                                  capture_output=True, text=True, timeout=10,
                                  start_new_session=True, check=True)
            pid = int(done.stdout.strip())
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            raise SandboxError(f"could not launch Asterisk ({' '.join(argv[:4])}): {e}") from None
        render.write_private(self.pid_file, f"{pid}\n", 0o644)
        return pid

    def _wait_ready(self, layout: apt.Layout, pid: int, secret: str, deadline: float) -> None:
        why = "not yet fully booted"
        while True:
            if not process.alive(pid):
                raise SandboxError(f"Asterisk exited while starting.\n{self._log_tail()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxError(f"Asterisk did not become ready in time ({why}).\n"
                                   f"{self._log_tail()}")
            try:
                self._asterisk(layout, "-rx", "core waitfullybooted", timeout=min(left, 5.0))
                why = process.ami_login(self.ports.ami_port, secret, min(left, 3.0))
            except SandboxError as e:
                why = str(e).splitlines()[0]
            if why == "":
                return
            time.sleep(0.1)

    def _asterisk(self, layout: apt.Layout, *args: str, timeout: float) -> str:
        argv = layout.argv("-C", str(self.etc / "asterisk.conf"), *args)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SandboxError(f"asterisk {' '.join(args)} took longer than {timeout:.1f} s") \
                from None
        out = done.stdout
        if done.returncode != 0 or out.startswith("Unable to connect to remote asterisk"):
            raise SandboxError(f"asterisk {' '.join(args)} failed (exit {done.returncode}): "
                               f"{(out + done.stderr).strip()[-500:]}")
        return out

    def _log_tail(self) -> str:
        return process.log_tail(self.stdout_file, self.log_file)
