"""Rendering the sandbox's Asterisk configuration and the ivr.toml that points at it.

Templates are dialplan/sandbox/*.conf with @NAME@ placeholders. The production dialplan files
(dialplan/*.conf) are not copied: the sandbox's extensions.conf #includes them by absolute
path, so tests exercise exactly what a telephony engineer deploys.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Mapping

from ivr.files import write_private
from ivr.sandbox.model import SandboxError

PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
PRIVATE = {"manager.conf"}               # holds the AMI secret: mode 0600


def dialplan_dir() -> Path:
    """dialplan/ of this checkout (the project is installed editable, `pip install -e`)."""
    d = Path(__file__).resolve().parents[2] / "dialplan"
    if not (d / "sandbox").is_dir():
        raise SandboxError(f"the Asterisk configuration templates are missing: {d}/sandbox "
                           "(the sandbox runs from a checkout of the project, installed with "
                           "`pip install -e .`)")
    return d


def substitute(text: str, values: Mapping[str, str], name: str) -> str:
    def one(m: re.Match) -> str:
        key = m.group(1)
        if key not in values:
            raise SandboxError(f"template {name} uses @{key}@, which the sandbox does not define "
                               f"(known: {', '.join(sorted(values))})")
        return values[key]
    return PLACEHOLDER.sub(one, text)


def render_all(templates: Path, etc: Path, values: Mapping[str, str]) -> list[Path]:
    """Render every templates/*.conf into etc/; returns the files written."""
    etc.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted(templates.glob("*.conf")):
        text = substitute(src.read_text(encoding="utf-8"), values, src.name)
        dst = etc / src.name
        write_private(dst, text, 0o600 if src.name in PRIVATE else 0o644)
        written.append(dst)
    if not written:
        raise SandboxError(f"no *.conf templates in {templates}")
    return written


# ---------------------------------------------------------------------------- ivr.toml
TOML_HEADER = """\
# Written by `ivr sandbox start` so that the default configuration points at the sandbox.
# Policy: written whole only when missing; afterwards only the [ami] port/secret and [agi]
# port lines are rewritten (in place) when they differ from the sandbox's: keys you add stay.
"""


def toml_text(ami_port: int, secret: str, agi_port: int) -> str:
    return TOML_HEADER + f"""
[ivr]
database = "ivr.db"
sounds = "sounds"

[ami]
host = "127.0.0.1"
port = {ami_port}
username = "ivr"
secret = "{secret}"

[agi]
host = "127.0.0.1"
port = {agi_port}

[[trunk]]
name = "sim"
dial = "Local/{{digits}}@sim-phones"
channels = 50
cps = 50
ring_timeout = 30

[[trunk]]
name = "carrier"                # a loopback PJSIP trunk to sipp (the tests start its UAS)
dial = "PJSIP/{{digits}}@carrier"
channels = 50
cps = 20
ring_timeout = 30
run = false                     # `ivr run` uses it only when named: ivr run --trunk carrier
"""


def set_keys(text: str, section: str, values: Mapping[str, str]) -> str:
    """Set `key = value` lines (values already TOML-encoded) inside [section], keeping every
    other line; missing keys are added at the end of the section, a missing section at the end."""
    lines = text.splitlines()
    header = re.compile(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    start = end = None
    for i, line in enumerate(lines):
        m = header.match(line)
        if m and start is None and m.group(1) == section and not line.lstrip().startswith("[["):
            start = i
        elif m and start is not None:
            end = i
            break
    if start is None:
        lines += ["", f"[{section}]"] + [f"{k} = {v}" for k, v in values.items()]
        return "\n".join(lines) + "\n"
    end = len(lines) if end is None else end
    todo = dict(values)
    for i in range(start + 1, end):
        m = re.match(r"(\s*)([A-Za-z0-9_-]+)\s*=", lines[i])
        if m and m.group(2) in todo:
            lines[i] = f"{m.group(1)}{m.group(2)} = {todo.pop(m.group(2))}"
    insert_at = end
    while insert_at > start + 1 and not lines[insert_at - 1].strip():
        insert_at -= 1
    lines[insert_at:insert_at] = [f"{k} = {v}" for k, v in todo.items()]
    return "\n".join(lines) + "\n"


def read_sections(path: Path) -> dict | None:
    """The tables of an existing ivr.toml (None when there is no file)."""
    if not path.exists():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise SandboxError(f"{path} is not valid TOML ({e}); fix it or delete it and run "
                           "`ivr sandbox start` again") from None


def _ours(data: dict, ami_port: int, secret: str, agi_port: int) -> bool:
    ami, agi = data.get("ami", {}), data.get("agi", {})
    return (ami.get("secret") == secret and ami.get("port") == ami_port
            and agi.get("port", 4573) == agi_port)


def write_ivr_toml(path: Path, ami_port: int, secret: str, agi_port: int) -> str:
    """Create or update home/ivr.toml; returns "written", "updated" or "kept"."""
    data = read_sections(path)
    if data is None:
        write_private(path, toml_text(ami_port, secret, agi_port))
        return "written"
    if _ours(data, ami_port, secret, agi_port):
        return "kept"
    new = set_keys(path.read_text(encoding="utf-8"), "ami",
                   {"port": str(ami_port), "secret": f'"{secret}"'})
    new = set_keys(new, "agi", {"port": str(agi_port)})
    if not _ours(tomllib.loads(new), ami_port, secret, agi_port):
        raise SandboxError(f"could not update [ami] port/secret and [agi] port in {path}; "
                           "delete the file and run `ivr sandbox start` again")
    write_private(path, new)
    return "updated"
