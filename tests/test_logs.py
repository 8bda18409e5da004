"""`ivr run --log-level debug`: what panoramisk, aiosqlite and our own code log reaches
standard error with no phone number in clear. The logging set-up runs in a child process, as
in `ivr run` (it configures a process whose logging nobody configured yet)."""
import subprocess
import sys
from pathlib import Path

from ivr.logs import mask_numbers

ROOT = Path(__file__).resolve().parents[1]
PHONE = "919876543210"

SCRIPT = f"""
import logging
from panoramisk.message import Message
from ivr.commands.run import setup_logging       # what `ivr run --log-level` calls
setup_logging(LEVEL)
event = Message({{"Event": "Newchannel", "CallerIDNum": "{PHONE}", "Uniqueid": "1764500000.123",
                 "Channel": "Local/{PHONE}@sim-phones-00000001;1"}})
# what panoramisk's AMI protocol logs for every message (its logger is the manager's)
logging.getLogger("panoramisk.manager").debug("message interpreted: %r", event)
logging.getLogger("panoramisk.ami_protocol").info(
    'Adding action "originate" to awaiting list: %s',
    {{"Action": "Originate", "Channel": "Local/+{PHONE}@sim-phones"}})
try:
    raise ValueError("cannot send to {PHONE}")
except ValueError:
    logging.getLogger("panoramisk.ami_protocol").exception("Fail to send")
logging.getLogger("ivr.service").debug("a line of our own about %s", "{PHONE}")
logging.getLogger("ivr.controller").info("attempt 7: calling %s", "{PHONE}")
logging.getLogger("aiosqlite").debug("executing %s", ("SELECT ?", "{PHONE}"))
"""


def run_with(level: str) -> str:
    done = subprocess.run([sys.executable, "-c", f"LEVEL = {level!r}\n" + SCRIPT], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_debug_logging_never_prints_a_caller_number_in_clear():
    err = run_with("debug")
    assert "DEBUG panoramisk.manager: message interpreted" in err     # debug is on
    assert "CallerIDNum='*********210'" in err and "Uniqueid='1764500000.123'" in err
    assert "INFO panoramisk.ami_protocol: Adding action" in err
    assert "ValueError: cannot send to *********210" in err           # tracebacks too
    assert "DEBUG ivr.service: a line of our own about *********210" in err
    assert "aiosqlite" not in err                    # its SQL parameters: never at debug
    assert PHONE not in err and "9876543" not in err


def test_info_level_keeps_debug_lines_out_and_masks_the_rest():
    err = run_with("info")
    assert "message interpreted" not in err and "a line of our own" not in err
    assert "INFO ivr.controller: attempt 7: calling *********210" in err
    assert PHONE not in err


def test_what_is_masked_and_what_stays():
    assert mask_numbers(f"from +{PHONE}.") == "from **********210."
    assert mask_numbers("uniqueid 1764500000.12, linkedid 1764500000.1234567") == \
        "uniqueid 1764500000.12, linkedid 1764500000.1234567"
    assert mask_numbers("attempt 42 of 3 (cause 16), port 4573") == \
        "attempt 42 of 3 (cause 16), port 4573"
    assert mask_numbers("9000011") == "****011"
