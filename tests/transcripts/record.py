"""Record real FastAGI transcripts from the sandbox Asterisk into tests/transcripts/.

    .venv/bin/python -m tests.transcripts.record          # from the repository root

Starts (or reuses) the sandbox in $IVR_HOME or ./var, listens on an ephemeral port with a raw
asyncio server (no codec: bytes are stored exactly as received), calls simulated phones
through AMI and sends each a fixed list of commands, one at a time, reading until the reply
line(s) arrive.  For every scenario it writes:
    <name>.agi    every byte Asterisk sent (the request, replies, HANGUP notices)
    <name>.sent   the commands we sent, one per line (for people; the tests do not read it)
The expected events of each transcript are written by hand in tests/protocol/test_agi.py.
Phone numbers in the transcripts are the sandbox's simulated ones (91 90000 B ...).
"""
from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path

from ivr.config import home_dir, load_config
from ivr.sandbox import Sandbox
from tests.fastagi.sim import ami, make_sounds, originate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# name -> (number dialled, caller id, commands); "{s}" is the sounds dir
SCENARIOS: dict[str, tuple[str, str | None, list[str]]] = {
    "play-to-end": ("919000011", '"सुनीता देवी" <5550100>', [
        'STREAM FILE {s}/msg ""',
        "GET VARIABLE IVR_ATTEMPT_ID",
        "GET VARIABLE CHANNEL(language)",
        "GET DATA {s}/menu 1500 1",
        "FROB NICATE",
        "STREAM FILE",
        'STREAM FILE {s}/no-such-sound ""',
        "CHANNEL STATUS",
        "SET VARIABLE IVR_RESULT no_input",
    ]),
    "digit-interrupt": ("9190000219", None, [
        "STREAM FILE {s}/long 19",        # the phone presses 1 at ~3 s
        "GET DATA {s}/menu 5000 1",       # ... and 9 at ~6 s
        "SET VARIABLE IVR_RESULT completed",
    ]),
    "hangup-mid-play": ("9190000703", None, [
        'STREAM FILE {s}/long ""',        # the phone hangs up after 3 s
        "CHANNEL STATUS",
        "GET VARIABLE IVR_ATTEMPT_ID",
        'STREAM FILE {s}/msg ""',
        "SET VARIABLE IVR_RESULT hangup",
    ]),
}

_FINAL = re.compile(rb"(^|\n)(\d{3}) [^\n]*\n$")


async def _read_reply(reader: asyncio.StreamReader, got: bytearray) -> None:
    """Read until what arrived ends with a final reply line (not HANGUP, not 520-...)."""
    start = len(got)
    while True:
        line = await asyncio.wait_for(reader.readline(), 30)
        if not line:
            return
        got += line
        text = bytes(got[start:])
        if _FINAL.search(text) and not text.endswith(b"HANGUP\n"):
            if not text.startswith(b"520-") or line.startswith(b"520 "):
                return


async def record(sounds: Path, out: Path) -> None:
    sandbox = Sandbox(home_dir({"IVR_HOME": os.environ.get("IVR_HOME") or str(ROOT / "var")}))
    sandbox.start()
    config = load_config(sandbox.home / "ivr.toml", env={"IVR_HOME": str(sandbox.home)})
    done: dict[str, asyncio.Future[None]] = {}
    loop = asyncio.get_running_loop()
    for name in SCENARIOS:
        done[name] = loop.create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = bytearray()
        while not got.endswith(b"\n\n"):
            line = await asyncio.wait_for(reader.readline(), 10)
            if not line:
                break
            got += line
        m = re.search(rb"agi_arg_1: (\d+)\n", got)
        name = list(SCENARIOS)[int(m.group(1))] if m else None
        sent = []
        try:
            if name is None:
                return
            for command in SCENARIOS[name][2]:
                line = command.replace("{s}", str(sounds)) + "\n"
                sent.append(line)
                writer.write(line.encode())
                await writer.drain()
                await _read_reply(reader, got)
            writer.close()
            got += await asyncio.wait_for(reader.read(), 10)
            (out / f"{name}.agi").write_bytes(bytes(got))
            (out / f"{name}.sent").write_text("".join(sent).replace(str(sounds), "<sounds>"))
            done[name].set_result(None)
        except Exception as e:  # keep the recorder going: the scenario is reported as failed
            if name and not done[name].done():
                done[name].set_exception(e)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with ami(config.ami) as manager:
            calls = [originate(manager, digits, i, f"agi://127.0.0.1:{port}", "hi", caller_id=cid)
                     for i, (digits, cid, _) in enumerate(SCENARIOS.values())]
            await asyncio.wait_for(asyncio.gather(*calls), 60)
            await asyncio.wait_for(asyncio.gather(*done.values()), 60)
    finally:
        server.close()
        await server.wait_closed()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sounds = make_sounds(Path(tmp), "hi", {"msg": 1.0, "long": 10.0, "menu": 0.5})
        asyncio.run(record(sounds, HERE))
    for name in SCENARIOS:
        print(f"recorded {HERE / (name + '.agi')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
