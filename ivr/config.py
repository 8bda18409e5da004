"""Settings: defaults, then the TOML file, then IVR_* environment variables.

The state directory ("home") is $IVR_HOME, or ./var under the current directory. The config
file is $IVR_CONFIG, or <home>/ivr.toml (written by `ivr sandbox start` so that the default
configuration points at the sandbox). Secrets can stay out of the file: IVR_AMI_SECRET.
"""
from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Mapping, Sequence

from ivr.errors import BadInput
from ivr.netaddr import private_host
from ivr.nodes import NodeNameError, check_node_name
from scheduler.programme import ProgrammeError, programme_path


class ConfigError(BadInput):
    """The configuration file or an IVR_* variable is wrong; the message says which key."""


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


HEARTBEAT_SECONDS = 5.0


@dataclass(frozen=True)
class Config:
    home: Path
    database: Path
    sounds: Path
    programme: str = "mmitra"        # the first programme: an unknown caller's, the default
    # the installation's other programmes ([ivr] programmes after the first): see `programmes`
    other_programmes: tuple[str, ...] = ()
    ami: AmiSettings = field(default_factory=AmiSettings)
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    # FastAGI connections served at once (each answered call holds one); more are closed
    agi_max_connections: int = 1000
    trunks: tuple[Trunk, ...] = (Trunk("sim", "Local/{digits}@sim-phones"),)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    # key 0 reaches the call centre (dialplan global IVR_CALL_CENTRE)
    call_centre: bool = False
    # the database file 0660 in a 0770 directory instead of 0600/0700: for a deployment where
    # Asterisk's missed-call fallback script (another user, same group) writes into it
    database_group_writable: bool = False
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    source: Path | None = None       # the file read, if any
    # where Asterisk's missed-call fallback script drops one file per missed call (the
    # dialplan's IVR_MISSED_SPOOL); None: <home>/spool/missed
    missed_spool: Path | None = None
    # `[ivr] database = "postgresql://..."` (or IVR_DATABASE): the PostgreSQL store, shared
    # by several nodes; None: the SQLite file `database`
    database_url: str | None = None
    # the erasure key file (ivr/adapters/erasure.py); None: <database>.key beside SQLite's
    # file, <home>/erasure.key with PostgreSQL (every node needs the same file)
    erasure_key: Path | None = None
    # the answered line's secret file (ivr/line_secret.py), 0600, generated once
    line_secret: Path = Path("line.secret")

    @property
    def programmes(self) -> tuple[str, ...]:
        """Every programme this installation runs, the first one first (each a shipped name
        or a file's path)."""
        return (self.programme, *self.other_programmes)

    @property
    def store_address(self) -> Path | str:
        """What Store.open takes: the PostgreSQL connection string, or the SQLite file."""
        return self.database_url or self.database

    @property
    def database_name(self) -> str:
        """The database as people read it (a PostgreSQL password masked)."""
        if self.database_url:
            from ivr.adapters.pg_sql import masked
            return masked(self.database_url)
        return str(self.database)
    # this `ivr run`'s name among the nodes sharing the database (ivr/nodes.py)
    node: str = field(default_factory=host_node)
    # [run] heartbeat_seconds: how often `ivr run` writes its row of the nodes table
    heartbeat_seconds: float = HEARTBEAT_SECONDS

    @property
    def spool(self) -> Path:
        """The missed-call spool directory."""
        return self.missed_spool or self.home / "spool" / "missed"

    def trunk(self, name: str | None = None) -> Trunk:
        if name is None:
            return self.trunks[0]
        for t in self.trunks:
            if t.name == name:
                return t
        raise ConfigError(f"no trunk named {name!r}; configured: "
                          f"{', '.join(t.name for t in self.trunks)}")

    def run_trunks(self, names: Sequence[str] = ()) -> tuple[Trunk, ...]:
        """The trunks `ivr run` calls through: those named (in that order), or else every
        trunk without `run = false`, in the file's order (the order of preference)."""
        if names:
            return tuple(self.trunk(n) for n in dict.fromkeys(names))
        chosen = tuple(t for t in self.trunks if t.run)
        if not chosen:
            raise ConfigError("every trunk has run = false: name one with --trunk")
        return chosen

    def with_ami_secret(self, secret: str) -> "Config":
        return replace(self, ami=replace(self.ami, secret=secret))


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("IVR_HOME") or "var").absolute()


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    home = home_dir(env)
    if path is None and env.get("IVR_CONFIG"):
        path = Path(env["IVR_CONFIG"])
    if path is None and (home / "ivr.toml").exists():
        path = home / "ivr.toml"
    data: dict = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path}: {e}") from None
    return _build(home, data, env, path)


def _get(section: dict, key: str, kind: type, default, where: str):
    value = section.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key} must be {kind.__name__}, got {value!r}")
    return value


_KNOWN = {"ivr", "ami", "agi", "trunk", "metrics", "privacy", "run"}
_KEYS = {
    "ivr": {"database", "erasure_key", "sounds", "programme", "programmes", "call_centre",
            "database_group_writable", "missed_spool", "node", "line_secret"},
    "run": {"heartbeat_seconds"},
    "ami": {"host", "port", "username", "secret", "ping_interval", "connect_timeout"},
    "agi": {"host", "port", "max_connections"},
    "metrics": {"enabled", "host", "port"},
    "privacy": {"keep_call_records"},
    "trunk": {"name", "dial", "channels", "cps", "caller_id", "ring_timeout", "run",
              "rest_after", "rest_seconds", "shared_cps"},
}


def _build(home: Path, data: dict, env: Mapping[str, str], path: Path | None) -> Config:
    unknown = set(data) - _KNOWN
    if unknown:
        raise ConfigError(f"unknown section(s) {sorted(unknown)} in {path}; "
                          f"known: {sorted(_KNOWN)}")
    for section, keys in _KEYS.items():
        tables = data.get(section, [] if section == "trunk" else {})
        for i, table in enumerate(tables if isinstance(tables, list) else [tables]):
            if not isinstance(table, dict):
                raise ConfigError(f"[{section}] in {path} must be a table")
            unknown_keys = set(table) - keys
            if unknown_keys:
                where = f"trunk[{i}]" if section == "trunk" else f"[{section}]"
                raise ConfigError(f"unknown key(s) {sorted(unknown_keys)} in {where} of {path}; "
                                  f"known: {sorted(keys)}")
    ivr, ami, agi = data.get("ivr", {}), data.get("ami", {}), data.get("agi", {})
    d = AmiSettings()
    ami_s = AmiSettings(
        host=_get(ami, "host", str, d.host, "ami"),
        port=_get(ami, "port", int, d.port, "ami"),
        username=_get(ami, "username", str, d.username, "ami"),
        secret=env.get("IVR_AMI_SECRET") or _get(ami, "secret", str, d.secret, "ami"),
        ping_interval=_get(ami, "ping_interval", float, d.ping_interval, "ami"),
        connect_timeout=_get(ami, "connect_timeout", float, d.connect_timeout, "ami"),
    )
    trunks: list[Trunk] = []
    for i, t in enumerate(data.get("trunk", [])):
        where = f"trunk[{i}]"
        if "name" not in t or "dial" not in t:
            raise ConfigError(f"{where} needs both 'name' and 'dial'")
        dial = _get(t, "dial", str, "", where)
        if "{digits}" not in dial and "{e164}" not in dial:
            raise ConfigError(f"{where}.dial must contain {{digits}} or {{e164}}: {dial!r}")
        trunk = Trunk(
            name=_get(t, "name", str, "", where), dial=dial,
            channels=_get(t, "channels", int, 30, where),
            cps=_get(t, "cps", float, 10.0, where),
            caller_id=_get(t, "caller_id", str, "", where),
            ring_timeout=_get(t, "ring_timeout", float, 30.0, where),
            run=_get(t, "run", bool, True, where),
            rest_after=_get(t, "rest_after", int, 5, where),
            rest_seconds=_get(t, "rest_seconds", float, 60.0, where),
            shared_cps=_get(t, "shared_cps", float, None, where) if "shared_cps" in t else None)
        if trunk.name in {x.name for x in trunks}:
            raise ConfigError(f"{where}: a second trunk named {trunk.name!r}")
        if trunk.channels < 1 or not trunk.cps > 0:
            raise ConfigError(f"{where}: channels must be >= 1 and cps > 0")
        if trunk.rest_after < 0 or not trunk.rest_seconds > 0:
            raise ConfigError(f"{where}: rest_after must be >= 0 and rest_seconds > 0")
        if trunk.shared_cps is not None and not trunk.shared_cps > 0:
            raise ConfigError(f"{where}: shared_cps must be > 0 (leave it out: not shared)")
        trunks.append(trunk)
    address = env.get("IVR_DATABASE") or _get(ivr, "database", str, "ivr.db", "ivr")
    url = address if address.startswith(("postgresql://", "postgres://")) else None
    database = Path("ivr.db" if url else address)
    key = env.get("IVR_ERASURE_KEY") or _get(ivr, "erasure_key", str, "", "ivr")
    erasure_key = (Path(key) if key else Path("erasure.key")) if (key or url) else None
    line = Path(env.get("IVR_LINE_SECRET") or _get(ivr, "line_secret", str, "line.secret", "ivr"))
    sounds = Path(env.get("IVR_SOUNDS") or _get(ivr, "sounds", str, "sounds", "ivr"))
    spool = Path(env.get("IVR_MISSED_SPOOL")
                 or _get(ivr, "missed_spool", str, "spool/missed", "ivr"))
    programmes = programme_names(env, ivr, path)
    cfg = Config(
        home=home,
        database=database if database.is_absolute() else home / database,
        sounds=sounds if sounds.is_absolute() else home / sounds,
        programme=programmes[0],
        other_programmes=programmes[1:],
        ami=ami_s,
        agi_host=_get(agi, "host", str, "127.0.0.1", "agi"),
        agi_port=_get(agi, "port", int, 4573, "agi"),
        agi_max_connections=_get(agi, "max_connections", int, 1000, "agi"),
        call_centre=_get(ivr, "call_centre", bool, False, "ivr"),
        line_secret=line if line.is_absolute() else home / line,
        database_group_writable=_get(ivr, "database_group_writable", bool, False, "ivr"),
        metrics=_metrics(data.get("metrics", {})),
        privacy=privacy_settings(data.get("privacy", {}), path),
        source=path,
        missed_spool=spool if spool.is_absolute() else home / spool,
        database_url=url,
        erasure_key=None if erasure_key is None else
        erasure_key if erasure_key.is_absolute() else home / erasure_key,
        node=node_name(env, ivr, path),
        heartbeat_seconds=_get(data.get("run", {}), "heartbeat_seconds", float,
                               HEARTBEAT_SECONDS, "run"),
    )
    if trunks:
        cfg = replace(cfg, trunks=tuple(trunks))
    if not 0.5 <= cfg.heartbeat_seconds <= 300:
        raise ConfigError(f"run.heartbeat_seconds must be 0.5..300, got {cfg.heartbeat_seconds}")
    if not 1 <= cfg.agi_max_connections <= 100_000:
        raise ConfigError(f"agi.max_connections must be 1..100000, got {cfg.agi_max_connections}")
    try:
        private_host(cfg.agi_host, "agi.host")
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return cfg


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
        names = [_get(ivr, "programme", str, "mmitra", "ivr")]
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
        raw, where = _get(ivr, "node", str, "", "ivr"), f"[ivr] node in {path}"
    else:
        return host_node()
    try:
        return check_node_name(raw, where)
    except NodeNameError as e:
        raise ConfigError(str(e)) from None


def _metrics(section: dict) -> MetricsSettings:
    d = MetricsSettings()
    m = MetricsSettings(enabled=_get(section, "enabled", bool, d.enabled, "metrics"),
                        host=_get(section, "host", str, d.host, "metrics"),
                        port=_get(section, "port", int, d.port, "metrics"))
    if not local_address(m.host):
        raise ConfigError(f"metrics.host {m.host!r}: the metrics endpoint has no authentication; "
                          "bind it to loopback or a private address, never a public one or 0.0.0.0")
    if not 0 <= m.port <= 65535:
        raise ConfigError(f"metrics.port {m.port}: must be 0..65535")
    return m
