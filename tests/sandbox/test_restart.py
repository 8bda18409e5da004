"""Restarting the sandbox Asterisk as an engineer would: Asterisk's own `core restart now`
(through `ivr sandbox cli`) and `ivr sandbox restart`, on a private sandbox (temp home, other
ports, the shared prefix linked in). Asterisk must come back by itself: before the launcher,
its restart re-executed the bare binary, which cannot load on the host's libc, and it died."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from ivr.sandbox import Sandbox
from ivr.sandbox.process import AMI_USER, ami_login
from tests.sandbox.conftest import free_port, run_cli

pytestmark = pytest.mark.sandbox

BACK_WITHIN = 20.0          # seconds for Asterisk to restart and take an AMI login again


@pytest.fixture
def box(sandbox, tmp_path):
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "prefix").symlink_to(sandbox.prefix)   # no second download
    box = Sandbox(tmp_path, ami_port=free_port(socket.SOCK_STREAM), sip_port=free_port(),
                  rtp_start=33000, rtp_end=33999, agi_port=free_port(socket.SOCK_STREAM),
                  sipp_port=free_port())
    box.start(timeout=30)
    yield box
    box.stop()


def logged_in(port: int, secret: str) -> socket.socket:
    """An AMI session held open: Asterisk closes it when it shuts down or restarts."""
    s = socket.create_connection(("127.0.0.1", port), timeout=BACK_WITHIN)
    f = s.makefile("rb")
    assert f.readline().startswith(b"Asterisk Call Manager")
    s.sendall(f"Action: Login\r\nUsername: {AMI_USER}\r\nSecret: {secret}\r\n"
              "Events: off\r\n\r\n".encode())
    reply = []
    while line := f.readline().strip():
        reply.append(line)
    assert b"Response: Success" in reply, reply
    return s


def closed_by_asterisk(s: socket.socket) -> bool:
    """Reads until Asterisk closes the session (True) or BACK_WITHIN passes (False)."""
    try:
        while s.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    finally:
        s.close()


def wait_ami_login(port: int, secret: str, since: float) -> float:
    """Seconds from `since` until an AMI login with `secret` succeeds (bounded)."""
    why = "never tried"
    while time.monotonic() - since < BACK_WITHIN:
        why = ami_login(port, secret, 2.0)
        if why == "":
            return time.monotonic() - since
        time.sleep(0.05)
    raise AssertionError(f"no AMI login within {BACK_WITHIN:.0f} s of the restart: {why}")


def uptime(box: Sandbox) -> int:
    out = box.cli("core show uptime seconds")
    return int(out.split("System uptime:")[1].split()[0])


def test_asterisks_own_core_restart_now_comes_back(box, capsys):
    home: Path = box.home
    secret = (box.root / "ami-secret").read_text().strip()
    pid = box.status().pid
    session = logged_in(box.ports.ami_port, secret)
    t = time.monotonic()
    result = run_cli(home, "cli", "core", "restart", "now")
    assert result.exit_code == 0, result.output
    assert closed_by_asterisk(session), "the old Asterisk did not go away on core restart now"
    back = wait_ami_login(box.ports.ami_port, secret, t)
    status = run_cli(home, "status", "--json")
    assert status.exit_code == 0, status.output
    st = json.loads(status.stdout)
    assert st["running"] and st["pid"] == pid                      # exec keeps the pid
    assert uptime(box) <= time.monotonic() - t + 1                 # a new Asterisk, not the old
    # AMI takes logins before the modules (the dialplan among them) are loaded: wait for it
    box.cli("core waitfullybooted", timeout=BACK_WITHIN)
    booted = time.monotonic() - t
    assert "Context 'sim-phones'" in box.cli("dialplan show sim-phones")
    again = time.monotonic()                                       # and a second time
    assert run_cli(home, "cli", "core", "restart", "now").exit_code == 0
    wait_ami_login(box.ports.ami_port, secret, again)
    assert box.status().pid == pid
    launcher = box.root / "bin" / "asterisk"                       # what Asterisk re-executes
    assert launcher.stat().st_mode & 0o777 == 0o755
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[cmdline.index(b"--argv0") + 1] == str(launcher).encode()
    assert run_cli(home, "cli", "core", "restart", "now").exit_code == 0
    t_stop = time.monotonic()                                      # stopped amid its restart
    assert run_cli(home, "stop").exit_code == 0
    assert not box.status().running and time.monotonic() - t_stop < 5
    with capsys.disabled():
        print(f"\ncore restart now -> AMI login again: {back:.2f} s, fully booted: "
              f"{booted:.2f} s")


def test_ivr_sandbox_restart_keeps_secret_and_ports(box, capsys):
    home: Path = box.home
    files = {name: (box.root / name).read_text()
             for name in ("ami-secret", "ami-test-secret", "ports.json")}
    toml = (home / "ivr.toml").read_text()
    secret = files["ami-secret"].strip()
    pid = box.status().pid
    session = logged_in(box.ports.ami_port, secret)
    t = time.monotonic()
    result = run_cli(home, "restart")
    took = time.monotonic() - t
    assert result.exit_code == 0, result.output
    assert closed_by_asterisk(session), "ivr sandbox restart did not restart Asterisk"
    assert f"running, pid {pid}, AMI 127.0.0.1:{box.ports.ami_port}" in result.output
    assert ami_login(box.ports.ami_port, secret, 5.0) == ""        # ready when it returns
    assert {name: (box.root / name).read_text() for name in files} == files
    assert (home / "ivr.toml").read_text() == toml
    assert Sandbox(home).status() == box.status()

    result = run_cli(home, "restart", "--new-process")             # stop, then a new process
    assert result.exit_code == 0, result.output
    new = box.status()
    assert new.running and new.pid != pid and f"pid {new.pid}," in result.output
    assert ami_login(box.ports.ami_port, secret, 5.0) == ""

    assert run_cli(home, "stop").exit_code == 0                    # stopped: restart starts it
    result = run_cli(home, "restart")
    assert result.exit_code == 0, result.output
    assert box.status().running and ami_login(box.ports.ami_port, secret, 5.0) == ""
    assert {name: (box.root / name).read_text() for name in files} == files
    with capsys.disabled():
        print(f"\nivr sandbox restart -> ready: {took:.2f} s")

