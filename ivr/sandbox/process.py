"""Process helpers of the sandbox: is a pid alive and ours, wait for it to go, AMI login."""
from __future__ import annotations

import socket
import time
from pathlib import Path

AMI_USER = "ivr"                  # the controller's least-privilege user (ivr.toml)


def alive(pid: int) -> bool:
    """Any thread of the process still runs (a zombie leader may outlive its other threads
    for a moment, and those still hold Asterisk's sockets)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            return True
    return False


def is_ours(pid: int, conf: str) -> bool:
    """Alive and started with our asterisk.conf (a recycled pid is not ours)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return alive(pid) and conf.encode() in cmdline


def wait_gone(pid: int, deadline: float) -> bool:
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def ami_login(port: int, secret: str, timeout: float) -> str:
    """"" when the AMI banner answers and a login with `secret` succeeds, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            f = s.makefile("rb")
            banner = f.readline().decode(errors="replace").strip()
            if not banner.startswith("Asterisk Call Manager"):
                return f"no AMI banner on port {port} (got {banner!r})"
            s.sendall(f"Action: Login\r\nActionID: sandbox-ready\r\nUsername: {AMI_USER}\r\n"
                      f"Secret: {secret}\r\nEvents: off\r\n\r\n".encode())
            reply = []
            while (line := f.readline().decode(errors="replace").strip()):
                reply.append(line)
            s.sendall(b"Action: Logoff\r\n\r\n")
            if "Response: Success" not in reply:
                return f"AMI login as {AMI_USER!r} on port {port} failed: {' | '.join(reply)}"
            return ""
    except OSError as e:
        return f"AMI on port {port}: {e}"
