"""The Asterisk side of one FastAGI session, as the dialplan ivr-outbound runs it for an
answered call of the fake AMI peer (tests/fakes/ami_peer.py, whose module doc tells the
answers it gives)."""
from __future__ import annotations

import asyncio
import re
import shlex
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from ivr import constants as C

if TYPE_CHECKING:
    from tests.fakes.ami_peer import FakeCall


class FastAgiSide:
    """Connects to the call's IVR_AGI_URL, sends the agi_* environment, answers each command."""

    def __init__(self, call: FakeCall) -> None:
        self.call = call
        self.dead = False
        self.language = call.variables.get(C.VAR_LANG, "en")

    async def run(self) -> None:
        call = self.call
        m = re.fullmatch(r"agi://([^:/]+):(\d+)/?", call.variables.get(C.VAR_AGI_URL, ""))
        if m is None:
            return
        reader, writer = await asyncio.open_connection(m.group(1), int(m.group(2)))
        env = {"agi_network": "yes", "agi_network_script": "call",
               "agi_request": f"{call.variables[C.VAR_AGI_URL]}/call",
               "agi_channel": call.names[0], "agi_language": call.variables.get(C.VAR_LANG, "en"),
               "agi_type": "Local", "agi_uniqueid": call.channel_id,
               "agi_callerid": call.digits, "agi_context": C.CONTEXT_OUTBOUND,
               "agi_extension": C.EXTEN_START, "agi_priority": "10",
               "agi_arg_1": call.variables.get(C.VAR_ATTEMPT_ID, "")}
        writer.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        try:
            while line := await asyncio.wait_for(reader.readline(), 30):
                command = line.decode().strip()
                call.agi_commands.append(command)
                writer.write(self.answer(command).encode())
                await writer.drain()
                if call.hangup.is_set() and not self.dead:
                    writer.write(b"HANGUP\n")
                    self.dead = True
        except (ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    def answer(self, command: str) -> str:
        words = shlex.split(command)
        verb = " ".join(words[:2]).upper()
        if verb in ("SET VARIABLE", "GET VARIABLE"):
            if verb == "SET VARIABLE" and len(words) > 3:
                self.call.agi_variables[words[2]] = words[3]
                if words[2] == "CHANNEL(language)":
                    self.language = words[3]
            if verb == "SET VARIABLE":
                return "200 result=1\n"
            value = self.call.variables.get(words[2]) if len(words) > 2 else None
            return "200 result=0\n" if value is None else f"200 result=1 ({value})\n"
        if self.dead:
            return "511 Command Not Permitted on a dead channel or intercept routine\n"
        if verb in ("STREAM FILE", "CONTROL STREAM"):
            frames = _frames(words[2] if len(words) > 2 else "", self.language)
            if frames is None:
                return "200 result=-1 endpos=0\n"
            share = self.call.fate.hangs_up_at
            if share is not None and Path(words[2]).name not in C.PROMPTS:
                self.dead = True
                self.call.hangup.set()
                return f"200 result=-1 endpos={int(frames * share)}\nHANGUP\n"
            return f"200 result=0 endpos={frames}\n"
        if verb == "GET DATA":
            return "200 result= (timeout)\n"
        if verb == "CHANNEL STATUS":
            return "200 result=6\n"
        return "200 result=1\n"


def _frames(path: str, language: str) -> int | None:
    """Samples in the file STREAM FILE names, found as Asterisk finds it: <dir>/<language>/
    <name>.wav first, then <dir>/<name>.wav."""
    where = Path(path)
    for candidate in (where.parent / language / (where.name + ".wav"), Path(path + ".wav")):
        try:
            with wave.open(str(candidate), "rb") as w:
                return w.getnframes()
        except (OSError, wave.Error, EOFError):
            continue
    return None
