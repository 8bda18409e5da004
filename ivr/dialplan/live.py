"""`ivr dialplan check --live`: a running Asterisk, seen through the controller's own AMI user.

Everything is asked with the least-privilege rights the controller has (write call,
originate, reporting): ListCommands (which actions the user may call), ShowDialPlan (the
loaded contexts, compared step by step with the files), Getvar of IFMODULE() (func_module:
which modules are loaded) and of the [globals] the deployment sets. The short blocking AMI
client of ivr/adapters/ami_client.py (on the shared codec, a timeout on every read): this is a
one-shot command, not the controller.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ivr import constants as C
from ivr.adapters.ami_client import AmiUnreachable, BlockingAmi
from ivr.config import Config
from ivr.dialplan.check import REQUIRED_EXTENS
from ivr.dialplan.parse import Dialplan, Problem
from ivr.errors import Unavailable
from ivr.line_secret import LineSecretError, line_secret, proves
from ivr.netaddr import agi_url
from ivr.protocol.ami_codec import AmiMessage

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
    # the controller's line secret ("" when it has none yet): compared, never shown
    line_secret: str = ""

    @classmethod
    def from_config(cls, cfg: Config) -> "Expected":
        return cls(globals={C.GLOBAL_AGI_URL: agi_url(cfg.agi_host, cfg.agi_port),
                            C.GLOBAL_SOUNDS: str(cfg.sounds),
                            C.GLOBAL_MISSED_SPOOL: str(cfg.spool)},
                   call_centre=cfg.call_centre, line_secret=_line_secret(cfg))


def _line_secret(cfg: Config) -> str:
    try:
        return line_secret(cfg.line_secret)
    except LineSecretError:
        return ""


class AmiClient(BlockingAmi):
    """The shared blocking client; its failures surface as LiveError (check_live)."""

    def __init__(self, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout, id_prefix="ivr-check")

    def login(self, username: str, secret: str, events: str = "off") -> AmiMessage:
        reply = super().login(username, secret, events)
        if reply.response != "Success":
            raise LiveError(f"AMI refused the login of {username!r}: {reply.get('Message')}")
        return reply

    def getvar(self, name: str) -> str | None:
        reply = self.action({"Action": "Getvar", "Variable": name})[0]
        return reply.get("Value", "") if reply.response == "Success" else None


def check_live(cfg: Config, plan: Dialplan, *, timeout: float = 5.0) -> list[Problem]:
    """Problems of the running Asterisk for this configuration; raises LiveError when it
    cannot be asked at all."""
    where = f"asterisk@{cfg.ami.host}:{cfg.ami.port}"
    try:
        with AmiClient(cfg.ami.host, cfg.ami.port, timeout) as client:
            client.login(cfg.ami.username, cfg.ami.secret)
            problems = _rights(client, where, cfg.ami.username)
            problems += _modules(client, where)
            problems += _globals(client, where, Expected.from_config(cfg), cfg.ami.host)
            problems += _contexts(client, where, plan)
            client.send({"Action": "Logoff"})
            return problems
    except AmiUnreachable as e:
        raise LiveError(str(e)) from None


def _rights(client: AmiClient, where: str, user: str) -> list[Problem]:
    reply = client.action({"Action": "ListCommands"})[0]
    actions = {k for k, _ in reply.headers if k not in ("Response", "ActionID", "Message")}
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
    if not proves(expected.line_secret, client.getvar(C.GLOBAL_LINE_SECRET)):
        out.append(Problem(where, 0, f"[globals] {C.GLOBAL_LINE_SECRET} is missing or is not the "
                                     "controller's line secret: the answered line refuses every "
                                     "call (ivr dialplan install-agi --line-secret-include)"))
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
        if reply[0].response != "Success":
            out.append(Problem(where, 0,
                               f"context [{name}] is not loaded ({reply[0].get('Message')})"))
            continue
        loaded = {(e.get("Extension"), int(e.get("Priority") or 0)):
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
