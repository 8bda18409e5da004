"""`ivr dialplan check --live`: a running Asterisk, seen through the controller's own AMI user.

Everything is asked with the least-privilege rights the controller has (write call,
originate, reporting): ListCommands (which actions the user may call), ShowDialPlan (the
loaded contexts, compared step by step with the files), Getvar of IFMODULE() (func_module:
which modules are loaded) and of the [globals] the deployment sets. A short synchronous AMI
client with a timeout on every read: this is a one-shot command, not the controller.
"""
from __future__ import annotations

import ipaddress
import itertools
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ivr import constants as C
from ivr.config import Config
from ivr.dialplan.check import REQUIRED_EXTENS
from ivr.dialplan.parse import Dialplan, Problem
from ivr.errors import Unavailable
from ivr.netaddr import agi_url
from ivr.protocol.ami import safe

# modules the production dialplan and the controller need (Local channels and AMI are core)
MODULES = ("pbx_config.so", "res_agi.so", "res_speech.so", "app_userevent.so", "app_playback.so",
           "app_dial.so", "app_stack.so", "func_channel.so", "func_callerid.so",
           "func_logic.so", "func_strings.so", "func_env.so", "func_module.so")
NEEDED_ACTIONS = ("Originate", "Hangup", "CoreShowChannels", "Ping", "Getvar", "ShowDialPlan")
FORBIDDEN_ACTIONS = ("Command", "ModuleLoad", "ModuleCheck", "Reload", "UpdateConfig",
                     "GetConfig", "Restart")


class LiveError(Unavailable):
    """Asterisk could not be reached or refused the login; the message says which."""


@dataclass(frozen=True)
class Expected:
    """What the running Asterisk must hold for this deployment (from ivr.toml)."""
    globals: dict[str, str]
    call_centre: bool

    @classmethod
    def from_config(cls, cfg: Config) -> "Expected":
        return cls(globals={C.GLOBAL_AGI_URL: agi_url(cfg.agi_host, cfg.agi_port),
                            C.GLOBAL_SOUNDS: str(cfg.sounds),
                            C.GLOBAL_MISSED_SPOOL: str(cfg.spool)},
                   call_centre=cfg.call_centre)


class AmiClient:
    def __init__(self, host: str, port: int, timeout: float):
        self._ids = itertools.count(1)
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise LiveError(f"AMI at {host}:{port}: {e.strerror or e} (is Asterisk "
                            "running, and manager.conf enabled?)") from None
        self._sock.settimeout(timeout)
        self._file = self._sock.makefile("rb")
        banner = self._readline()
        if not banner.startswith("Asterisk Call Manager"):
            self.close()
            raise LiveError(f"{host}:{port} is not AMI (banner {banner[:60]!r})")

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def _readline(self) -> str:
        try:
            raw = self._file.readline(65536)
        except OSError as e:
            raise LiveError(f"AMI read failed: {e}") from None
        if not raw:
            raise LiveError("AMI closed the connection")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def _message(self) -> dict[str, str]:
        msg: dict[str, str] = {}
        while (line := self._readline()) != "":
            key, _, value = line.partition(":")
            msg[key.strip()] = value.strip() if key not in msg else msg[key] + "\n" + value.strip()
        return msg

    def action(self, fields: dict[str, str]) -> list[dict[str, str]]:
        """The response, then the events of its event list (if it has one)."""
        action_id = f"ivr-check-{next(self._ids)}"
        text = "".join(f"{safe(k)}: {safe(v)}\r\n" for k, v in
                       {**fields, "ActionID": action_id}.items()) + "\r\n"
        try:
            self._sock.sendall(text.encode())
        except OSError as e:
            raise LiveError(f"AMI write failed: {e}") from None
        while True:
            response = self._message()
            if response.get("ActionID") == action_id and "Response" in response:
                break
        out = [response]
        if response.get("EventList", "").lower() == "start":
            while True:
                event = self._message()
                if event.get("ActionID") != action_id:
                    continue
                if event.get("EventList", "").lower() == "complete":
                    break
                out.append(event)
        return out

    def login(self, username: str, secret: str) -> None:
        reply = self.action({"Action": "Login", "Username": username, "Secret": secret,
                             "Events": "off"})[0]
        if reply.get("Response") != "Success":
            raise LiveError(f"AMI refused the login of {username!r}: {reply.get('Message')}")

    def getvar(self, name: str) -> str | None:
        reply = self.action({"Action": "Getvar", "Variable": name})[0]
        return reply.get("Value", "") if reply.get("Response") == "Success" else None


def check_live(cfg: Config, plan: Dialplan, *, timeout: float = 5.0) -> list[Problem]:
    """Problems of the running Asterisk for this configuration; raises LiveError when it
    cannot be asked at all."""
    where = f"asterisk@{cfg.ami.host}:{cfg.ami.port}"
    client = AmiClient(cfg.ami.host, cfg.ami.port, timeout)
    try:
        client.login(cfg.ami.username, cfg.ami.secret)
        problems = _rights(client, where, cfg.ami.username)
        problems += _modules(client, where)
        problems += _globals(client, where, Expected.from_config(cfg), cfg.ami.host)
        problems += _contexts(client, where, plan)
        client.action({"Action": "Logoff"})
        return problems
    finally:
        client.close()


def _rights(client: AmiClient, where: str, user: str) -> list[Problem]:
    reply = client.action({"Action": "ListCommands"})[0]
    actions = {k for k in reply if k not in ("Response", "ActionID", "Message")}
    out = [Problem(where, 0, f"AMI user {user!r} may not call {a}: the controller needs it "
                             "(read/write classes: dialplan/ami/ivr-manager.conf)")
           for a in NEEDED_ACTIONS if a not in actions]
    out += [Problem(where, 0, f"AMI user {user!r} may call {a}: more rights than the controller "
                              "needs (use the ivr-controller template)")
            for a in FORBIDDEN_ACTIONS if a in actions]
    return out


def _modules(client: AmiClient, where: str) -> list[Problem]:
    out = []
    for module in MODULES:
        value = client.getvar(f"IFMODULE({module})")
        if value == "":
            return [Problem(where, 0, "func_module.so is not loaded: load it (modules.conf) so "
                                      "the check can see the modules")]
        if value != "1":
            out.append(Problem(where, 0, f"module {module} is not loaded (modules.conf: "
                                         f"load => {module})"))
    return out


def _globals(client: AmiClient, where: str, expected: Expected, host: str) -> list[Problem]:
    out = []
    for name, want in expected.globals.items():
        have = client.getvar(name)
        if have != want:
            out.append(Problem(where, 0, f"[globals] {name} is {have!r}, ivr.toml wants "
                                         f"{want!r}"))
    if client.getvar("IVR_DATABASE"):
        out.append(Problem(where, 0, "[globals] IVR_DATABASE names the controller's database: "
                                     "remove it, Asterisk needs only "
                                     f"{C.GLOBAL_MISSED_SPOOL} (docs/deploy.md)"))
    if expected.call_centre and not client.getvar(C.GLOBAL_CALL_CENTRE):
        out.append(Problem(where, 0, f"ivr.toml enables the call centre but [globals] "
                                     f"{C.GLOBAL_CALL_CENTRE} is empty"))
    # STAT() is a "dangerous" function AMI may not read (live_dangerously = no): the files
    # are looked at from here, which is Asterisk's host when AMI is on loopback
    if not _local(host):
        return out
    agidir = client.getvar("ASTAGIDIR") or ""
    script = Path(agidir) / C.AGI_SCRIPT_MISSED_CALL
    if not (script.is_file() and os.access(script, os.X_OK)):
        out.append(Problem(where, 0, f"the missed-call fallback script {script} is missing or "
                                     "not executable (ivr dialplan install-agi)"))
    spool = Path(expected.globals[C.GLOBAL_MISSED_SPOOL])
    if not spool.is_dir():
        out.append(Problem(where, 0, f"the missed-call spool {spool} does not exist yet (start "
                                     "the controller once); missed calls cannot be recorded"))
    return out


def _local(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def _contexts(client: AmiClient, where: str, plan: Dialplan) -> list[Problem]:
    """Each context of the files is loaded, with the same steps (else: reload the dialplan)."""
    out = []
    for name in sorted(set(plan.contexts) | set(REQUIRED_EXTENS)):
        reply = client.action({"Action": "ShowDialPlan", "Context": name})
        if reply[0].get("Response") != "Success":
            out.append(Problem(where, 0,
                               f"context [{name}] is not loaded ({reply[0].get('Message')})"))
            continue
        loaded = {(e.get("Extension"), int(e.get("Priority", "0") or 0)):
                  (e.get("Application", ""), e.get("AppData", "")) for e in reply[1:]
                  if e.get("Context") == name}
        ctx = plan.contexts.get(name)
        for step in ctx.steps if ctx else ():
            have = loaded.get((step.exten, step.priority))
            if have != (step.app, step.data):
                runs = f"{have[0]}({have[1]})" if have else "nothing"
                out.append(Problem(where, 0, f"[{name}] {step.exten},{step.priority} runs {runs}"
                                             f", the file says {step.app}({step.data}) "
                                             f"({step.path}:{step.line}): reload the dialplan"))
    return out
