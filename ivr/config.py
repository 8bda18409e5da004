"""Settings: defaults, then the TOML file, then IVR_* environment variables.

The state directory ("home") is $IVR_HOME, or ./var under the current directory. The config
file is $IVR_CONFIG, or <home>/ivr.toml (written by `ivr sandbox start` so that the default
configuration points at the sandbox). Secrets can stay out of the file: IVR_AMI_SECRET.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

from ivr.config_tables import (AmiSettings, ConfigError, MetricsSettings, PrivacySettings, Trunk,
                               ami_settings, host_node, installation_timezone,
                               metrics_settings, node_name, privacy_settings, programme_names,
                               setting, trunk_settings)
from ivr.netaddr import private_host


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
    # [ivr] timezone (IVR_TIMEZONE): the zone of the times that belong to no programme
    # (`ivr workers list`, `ivr status --nodes`); None: UTC
    timezone: str | None = None

    @property
    def installation_zone(self) -> str:
        """The zone the times of no programme are shown in: [ivr] timezone, else "UTC"."""
        return self.timezone or "UTC"

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


_KNOWN = {"ivr", "ami", "agi", "trunk", "metrics", "privacy", "run"}
_KEYS = {
    "ivr": {"database", "erasure_key", "sounds", "programme", "programmes", "call_centre",
            "database_group_writable", "missed_spool", "node", "line_secret", "timezone"},
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
    ami_s = ami_settings(ami, env)
    trunks = trunk_settings(data.get("trunk", []))
    address = env.get("IVR_DATABASE") or setting(ivr, "database", str, "ivr.db", "ivr")
    url = address if address.startswith(("postgresql://", "postgres://")) else None
    database = Path("ivr.db" if url else address)
    key = env.get("IVR_ERASURE_KEY") or setting(ivr, "erasure_key", str, "", "ivr")
    erasure_key = (Path(key) if key else Path("erasure.key")) if (key or url) else None
    line = Path(env.get("IVR_LINE_SECRET")
                or setting(ivr, "line_secret", str, "line.secret", "ivr"))
    sounds = Path(env.get("IVR_SOUNDS") or setting(ivr, "sounds", str, "sounds", "ivr"))
    spool = Path(env.get("IVR_MISSED_SPOOL")
                 or setting(ivr, "missed_spool", str, "spool/missed", "ivr"))
    programmes = programme_names(env, ivr, path)
    cfg = Config(
        home=home,
        database=database if database.is_absolute() else home / database,
        sounds=sounds if sounds.is_absolute() else home / sounds,
        programme=programmes[0],
        other_programmes=programmes[1:],
        ami=ami_s,
        agi_host=setting(agi, "host", str, "127.0.0.1", "agi"),
        agi_port=setting(agi, "port", int, 4573, "agi"),
        agi_max_connections=setting(agi, "max_connections", int, 1000, "agi"),
        call_centre=setting(ivr, "call_centre", bool, False, "ivr"),
        line_secret=line if line.is_absolute() else home / line,
        database_group_writable=setting(ivr, "database_group_writable", bool, False, "ivr"),
        metrics=metrics_settings(data.get("metrics", {})),
        privacy=privacy_settings(data.get("privacy", {}), path),
        source=path,
        missed_spool=spool if spool.is_absolute() else home / spool,
        database_url=url,
        erasure_key=None if erasure_key is None else
        erasure_key if erasure_key.is_absolute() else home / erasure_key,
        node=node_name(env, ivr, path),
        timezone=installation_timezone(env, ivr, path),
        heartbeat_seconds=setting(data.get("run", {}), "heartbeat_seconds", float,
                               HEARTBEAT_SECONDS, "run"),
    )
    if trunks:
        cfg = replace(cfg, trunks=trunks)
    if not 0.5 <= cfg.heartbeat_seconds <= 300:
        raise ConfigError(f"run.heartbeat_seconds must be 0.5..300, got {cfg.heartbeat_seconds}")
    if not 1 <= cfg.agi_max_connections <= 100_000:
        raise ConfigError(f"agi.max_connections must be 1..100000, got {cfg.agi_max_connections}")
    try:
        private_host(cfg.agi_host, "agi.host")
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return cfg
