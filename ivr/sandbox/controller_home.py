"""The controller's side of a sandbox home: what its ivr.toml says that the Asterisk
configuration needs (the node name, the missed-call spool), and the controller's database
and spool, made when the sandbox starts."""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ivr.config import ConfigError, node_name
from ivr.sandbox import render
from ivr.sandbox.model import SandboxError


def node(home: Path) -> str:
    """The node name as `ivr run` reads it (IVR_NODE, ivr.toml [ivr] node, the host name):
    Asterisk's systemname, the prefix of every Uniqueid."""
    data = render.read_sections(home / "ivr.toml") or {}
    ivr = data.get("ivr")
    try:
        return node_name(os.environ, ivr if isinstance(ivr, dict) else {}, home / "ivr.toml")
    except ConfigError as e:
        raise SandboxError(str(e)) from None


def missed_spool(home: Path) -> Path:
    """The controller's missed-call spool as ivr.toml names it (default home/spool/missed):
    the dialplan's IVR_MISSED_SPOOL."""
    data = render.read_sections(home / "ivr.toml") or {}
    spool = data.get("ivr", {}).get("missed_spool", "spool/missed") \
        if isinstance(data.get("ivr"), dict) else "spool/missed"
    if not isinstance(spool, str) or not spool or any(c in spool for c in "\r\n\0,"):
        raise SandboxError(f"{home / 'ivr.toml'}: [ivr] missed_spool must be a "
                           f"directory name, got {spool!r}")
    path = Path(spool)
    return path if path.is_absolute() else home / path


def create_database(home: Path) -> None:
    """The controller's database, with its schema, and its missed-call spool exist from
    the start: the dialplan's fallback script drops missed calls into the spool even
    before `ivr run` has ever run."""
    from ivr.adapters.store import Store, StoreError
    from ivr.config import load_config
    from ivr.intake import IntakeError, prepare_spool

    async def create(path: Path | str) -> None:
        await (await Store.open(path)).close()

    try:
        cfg = load_config(home / "ivr.toml", env={"IVR_HOME": str(home)})
        with ThreadPoolExecutor(1) as pool:     # callable from inside a running event loop
            pool.submit(asyncio.run, create(cfg.store_address)).result(timeout=30)
        prepare_spool(cfg.spool)
    except (ConfigError, StoreError, OSError, IntakeError) as e:
        raise SandboxError(f"the sandbox's database could not be created: {e}") from None
