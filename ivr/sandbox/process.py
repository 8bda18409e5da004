"""Process helpers of the sandbox: is a pid alive and ours, wait for it to go or to execute
itself again (Asterisk's own restart), kill it, are its ports free, AMI login."""
from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from ivr.adapters.ami_client import AmiUnreachable, BlockingAmi
from ivr.owner import alive
from ivr.sandbox.model import Ports, SandboxError

AMI_USER = "ivr"                  # the controller's least-privilege user (ivr.toml)


def cmdline(pid: int) -> list[str]:
    """The process's arguments ([] when it is gone). Asterisk runs through the loader, so
    this is the loader's command line: loader --library-path .. [--argv0 ..] asterisk ARGS."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def is_ours(pid: int, conf: str) -> bool:
    """Alive and started with our asterisk.conf (a recycled pid is not ours). The command line
    stays the same across Asterisk's own restart: it re-executes the same launcher."""
    return conf in cmdline(pid) and alive(pid)


def threads(pid: int) -> set[int]:
    try:
        return {int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()}
    except OSError:
        return set()


def wait_exec(pid: int, before: set[int], deadline: float) -> bool:
    """True once none of the threads in `before` but the leader is left: the process has
    executed a new program under the same pid (execve ends every other thread) or has gone.
    False at the deadline."""
    old = before - {pid}
    while old & threads(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_gone(pid: int, deadline: float) -> bool:
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill(pid: int, conf: str, grace: float) -> None:
    """SIGTERM, then SIGKILL, as long as the pid is still our Asterisk."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not is_ours(pid, conf):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_gone(pid, time.monotonic() + grace):
            return
    raise SandboxError(f"Asterisk (pid {pid}) survived SIGKILL")


def check_ports_free(ports: Ports) -> None:
    for kind, port, what in ((socket.SOCK_STREAM, ports.ami_port, "AMI (TCP)"),
                             (socket.SOCK_DGRAM, ports.sip_port, "SIP (UDP)")):
        with socket.socket(socket.AF_INET, kind) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError as e:
                raise SandboxError(
                    f"the sandbox's {what} port 127.0.0.1:{port} is in use ({e.strerror}): "
                    "another Asterisk or sandbox runs there; stop it, or give this sandbox "
                    "other ports") from None


def log_tail(*files: Path, lines: int = 25) -> str:
    """The last lines of Asterisk's logs, for an error message."""
    parts = []
    for f in files:
        if f.exists():
            text = [ln for ln in f.read_text(errors="replace").splitlines()
                    if "XML documentation" not in ln]
            if text:
                parts.append(f"--- last lines of {f}:\n" + "\n".join(text[-lines:]))
    return "\n".join(parts) or f"(no Asterisk log in {files[0].parent})"


def ami_login(port: int, secret: str, timeout: float) -> str:
    """"" when the AMI banner answers and a login with `secret` succeeds, else why not."""
    try:
        with BlockingAmi("127.0.0.1", port, timeout, id_prefix="sandbox-ready") as ami:
            reply = ami.login(AMI_USER, secret)
            ami.send({"Action": "Logoff"})
    except AmiUnreachable as e:
        return str(e) if f":{port}" in str(e) else f"AMI on port {port}: {e}"
    if reply.response != "Success":
        lines = " | ".join(f"{k}: {v}" for k, v in reply.headers)
        return f"AMI login as {AMI_USER!r} on port {port} failed: {lines}"
    return ""
