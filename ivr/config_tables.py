"""The tables of ivr.toml as ivr/config.py reads them, each value checked, a wrong one named
by its key: [ami], [[trunk]], [metrics], [privacy], and the names in [ivr] (its programmes,
the node, its time zone), with the IVR_* variables that come before them."""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Mapping

from ivr.errors import BadInput
from ivr.nodes import NodeNameError, check_node_name
from scheduler.programme import ProgrammeError, programme_path
from scheduler.slots import zone


class ConfigError(BadInput):
    """The configuration file or an IVR_* variable is wrong; the message says which key."""


def setting(section: dict, key: str, kind: type, default, where: str):
    """The value of `key` in a table (`where` names it), `default` when absent; of type
    `kind` (an int where a float is asked is one), else ConfigError naming the key."""
    value = section.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key} must be {kind.__name__}, got {value!r}")
    return value


@dataclass(frozen=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "ivr"
    secret: str = ""
    ping_interval: float = 5.0       # seconds between AMI pings (loss detection)
    connect_timeout: float = 10.0    # connect + login must finish within this


@dataclass(frozen=True)
class MetricsSettings:
    """`ivr run`'s Prometheus endpoint (http://host:port/metrics). Off by default; loopback
    or a private address only (it has no authentication)."""
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464


def local_address(host: str) -> bool:
    """Loopback or a private address (never a public one, never 0.0.0.0 or ::)."""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not ip.is_unspecified and (ip.is_loopback or ip.is_private)


@dataclass(frozen=True)
class Trunk:
    """Where calls go out. `dial` is a template with {digits} (E.164 without '+')
    and {e164}; for example "PJSIP/{digits}@carrier" or "Local/{digits}@sim-phones"."""
    name: str
    dial: str
    channels: int = 30               # most concurrent calls the trunk allows
    cps: float = 10.0                # most call set-ups per second (carriers cap this)
    caller_id: str = ""
    ring_timeout: float = 30.0       # seconds to ring before giving up (India: 30 s)
    run: bool = True                 # false: `ivr run` leaves it out unless --trunk names it
    rest_after: int = 5              # calls failed in a row on the trunk before it rests (0: never)
    rest_seconds: float = 60.0       # its first rest; doubled after each failed try (<= 600 s)
    # the carrier's cap for all nodes together (the same trunk name on every node), shared
    # among the alive nodes that run it (ivr/nodes.py, docs/nodes.md); None: not shared
    shared_cps: float | None = None


@dataclass(frozen=True)
class PrivacySettings:
    """[privacy]: how long call records are kept (`ivr db purge`, daily in `ivr run`)."""
    keep_call_records: timedelta | None = None     # None: kept for ever


MIN_KEEP_CALL_RECORDS = timedelta(days=30)   # the at-risk rule and the retries read recent calls


def privacy_settings(table: dict, path: Path | None) -> PrivacySettings:
    """[privacy] keep_call_records = "400d" (days); a bad value names the key."""
    raw = table.get("keep_call_records")
    if raw is None:
        return PrivacySettings()
    m = re.fullmatch(r"\s*(\d+)\s*d\s*", raw) if isinstance(raw, str) else None
    if m is None:
        raise ConfigError(f"[privacy] keep_call_records in {path}: write a number of days "
                          f"like \"400d\", got {raw!r}")
    keep = timedelta(days=int(m.group(1)))
    if keep < MIN_KEEP_CALL_RECORDS:
        raise ConfigError(f"[privacy] keep_call_records in {path}: at least "
                          f"{MIN_KEEP_CALL_RECORDS.days}d (the at-risk rule and the retries "
                          f"read recent calls), got {raw!r}")
    return PrivacySettings(keep_call_records=keep)


def host_node() -> str:
    """The default node name: this host's name (refused, naming the settings to use instead,
    when it is not a usable node name)."""
    try:
        return check_node_name(socket.gethostname(), "the host name (set [ivr] node or IVR_NODE)")
    except NodeNameError as e:
        raise ConfigError(str(e)) from None


def ami_settings(ami: dict, env: Mapping[str, str]) -> AmiSettings:
    """[ami]; IVR_AMI_SECRET before its secret."""
    d = AmiSettings()
    return AmiSettings(
        host=setting(ami, "host", str, d.host, "ami"),
        port=setting(ami, "port", int, d.port, "ami"),
        username=setting(ami, "username", str, d.username, "ami"),
        secret=env.get("IVR_AMI_SECRET") or setting(ami, "secret", str, d.secret, "ami"),
        ping_interval=setting(ami, "ping_interval", float, d.ping_interval, "ami"),
        connect_timeout=setting(ami, "connect_timeout", float, d.connect_timeout, "ami"),
    )


def trunk_settings(tables: list) -> tuple[Trunk, ...]:
    """The [[trunk]] tables, in the file's order (none: the default's)."""
    trunks: list[Trunk] = []
    for i, t in enumerate(tables):
        where = f"trunk[{i}]"
        if "name" not in t or "dial" not in t:
            raise ConfigError(f"{where} needs both 'name' and 'dial'")
        dial = setting(t, "dial", str, "", where)
        if "{digits}" not in dial and "{e164}" not in dial:
            raise ConfigError(f"{where}.dial must contain {{digits}} or {{e164}}: {dial!r}")
        trunk = Trunk(
            name=setting(t, "name", str, "", where), dial=dial,
            channels=setting(t, "channels", int, 30, where),
            cps=setting(t, "cps", float, 10.0, where),
            caller_id=setting(t, "caller_id", str, "", where),
            ring_timeout=setting(t, "ring_timeout", float, 30.0, where),
            run=setting(t, "run", bool, True, where),
            rest_after=setting(t, "rest_after", int, 5, where),
            rest_seconds=setting(t, "rest_seconds", float, 60.0, where),
            shared_cps=setting(t, "shared_cps", float, None, where) if "shared_cps" in t else None)
        if trunk.name in {x.name for x in trunks}:
            raise ConfigError(f"{where}: a second trunk named {trunk.name!r}")
        if trunk.channels < 1 or not trunk.cps > 0:
            raise ConfigError(f"{where}: channels must be >= 1 and cps > 0")
        if trunk.rest_after < 0 or not trunk.rest_seconds > 0:
            raise ConfigError(f"{where}: rest_after must be >= 0 and rest_seconds > 0")
        if trunk.shared_cps is not None and not trunk.shared_cps > 0:
            raise ConfigError(f"{where}: shared_cps must be > 0 (leave it out: not shared)")
        trunks.append(trunk)
    return tuple(trunks)


def metrics_settings(section: dict) -> MetricsSettings:
    d = MetricsSettings()
    m = MetricsSettings(enabled=setting(section, "enabled", bool, d.enabled, "metrics"),
                        host=setting(section, "host", str, d.host, "metrics"),
                        port=setting(section, "port", int, d.port, "metrics"))
    if not local_address(m.host):
        raise ConfigError(f"metrics.host {m.host!r}: the metrics endpoint has no authentication; "
                          "bind it to loopback or a private address, never a public one or 0.0.0.0")
    if not 0 <= m.port <= 65535:
        raise ConfigError(f"metrics.port {m.port}: must be 0..65535")
    return m


def programme_names(env: Mapping[str, str], ivr: dict, path: Path | None) -> tuple[str, ...]:
    """IVR_PROGRAMME (one name, or several separated by commas), else [ivr] programmes (a
    list), else [ivr] programme (one), else mmitra. Given both, `programme` must be the
    first of `programmes`. Each a shipped programme's name or a file's path."""
    if env.get("IVR_PROGRAMME"):
        names = [n.strip() for n in env["IVR_PROGRAMME"].split(",")]
        where = "IVR_PROGRAMME"
    elif "programmes" in ivr:
        names = ivr["programmes"]
        where = f"[ivr] programmes in {path}"
        if not isinstance(names, list) or not names or \
                not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{where} must be a non-empty list of programme names, "
                              f"got {names!r}")
        if "programme" in ivr and ivr["programme"] != names[0]:
            raise ConfigError(f"[ivr] programme = {ivr['programme']!r} and programmes = "
                              f"{names!r} in {path} disagree: keep only programmes (the first "
                              "is the default), or name its first in programme")
    else:
        names = [setting(ivr, "programme", str, "mmitra", "ivr")]
        where = f"[ivr] programme in {path}"
    for name in names:
        try:
            programme_path(name)
        except ProgrammeError as e:
            raise ConfigError(f"{where}: {e}") from None
    if len(set(names)) < len(names):
        raise ConfigError(f"{where}: a programme is named twice in {names!r}")
    return tuple(names)


def node_name(env: Mapping[str, str], ivr: dict, path: Path | None) -> str:
    """IVR_NODE, else [ivr] node (`ivr`: the [ivr] table of the file at `path`), checked;
    the host name when neither is set (also the sandbox's Asterisk systemname)."""
    if env.get("IVR_NODE"):
        raw, where = env["IVR_NODE"], "IVR_NODE"
    elif "node" in ivr:
        raw, where = setting(ivr, "node", str, "", "ivr"), f"[ivr] node in {path}"
    else:
        return host_node()
    try:
        return check_node_name(raw, where)
    except NodeNameError as e:
        raise ConfigError(str(e)) from None


def installation_timezone(env: Mapping[str, str], ivr: dict, path: Path | None) -> str | None:
    """IVR_TIMEZONE, else [ivr] timezone, an IANA zone name ('Asia/Kolkata'); None when
    neither is set. ConfigError naming the setting when the zone is unknown."""
    if env.get("IVR_TIMEZONE"):
        raw, where = env["IVR_TIMEZONE"], "IVR_TIMEZONE"
    elif "timezone" in ivr:
        raw, where = setting(ivr, "timezone", str, "", "ivr"), f"[ivr] timezone in {path}"
    else:
        return None
    try:
        zone(raw.strip())
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None
    return raw.strip()
