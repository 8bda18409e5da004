"""Every name shared between the controller and the Asterisk configuration in dialplan/.

tests/test_constants.py checks these names against the files in dialplan/, so a rename
on one side without the other fails the suite.
"""

# Channel variables set on the Originate and read back in the dialplan / AGI route.
# IVR_ATTEMPT_ID is the one correlation id: it travels through the Originate, is read by
# the AGI route and comes back on AMI events (manager.conf channelvars).
VAR_ATTEMPT_ID = "IVR_ATTEMPT_ID"
VAR_LANG = "IVR_LANG"
VAR_MESSAGE = "IVR_MESSAGE"      # her message's key: the dialplan plays it if the controller
                                 # is gone
# A per-call secret set on the Originate; the dialplan passes it to the FastAGI route as its
# second argument, and the route serves only a session that carries the live call's token.
VAR_AGI_TOKEN = "IVR_AGI_TOKEN"
# Set by the AGI route before it returns, for the dialplan (and CDRs) to read.
VAR_RESULT = "IVR_RESULT"

# Dialplan contexts.
CONTEXT_OUTBOUND = "ivr-outbound"          # an answered outbound call runs the IVR here
CONTEXT_AGI_FAILED = "ivr-agi-failed"      # FastAGI unreachable: apologise and hang up
CONTEXT_MISSED_CALL = "ivr-missed-call"    # missed-call DIDs: never answered
CONTEXT_SIM_PHONES = "sim-phones"          # sandbox only: simulated handsets
EXTEN_START = "s"

# FastAGI routes (the path part of agi://host:port/<route>).
AGI_ROUTE_CALL = "call"

# UserEvent names sent by the dialplan.
USEREVENT_MISSED_CALL = "IvrMissedCall"
USEREVENT_AGI_FAILED = "IvrAgiFailed"

# Dialplan globals set by the deployment (see dialplan/): the FastAGI address, and the
# directory of recorded prompts (<IVR_SOUNDS>/<lang>/<name>.wav) for the dialplan's own apology.
GLOBAL_AGI_URL = "IVR_AGI_URL"
GLOBAL_SOUNDS = "IVR_SOUNDS"

# Recorded prompts, one file per language in the catalogue: <sounds>/<lang>/<name>.wav,
# beside the programme's messages (<sounds>/<lang>/<message key>.wav).
PROMPT_GREETING = "ivr-greeting"            # "Hello, this is your weekly health message"
PROMPT_MENU = "ivr-menu"                    # "Press 1 to hear it again, 0 ... 9 to stop"
PROMPT_INVALID = "ivr-invalid"              # "Sorry, that key is not valid"
PROMPT_GOODBYE = "ivr-goodbye"
PROMPT_OPTOUT_CONFIRM = "ivr-optout-confirm"  # "To stop all messages press 1, else hang up"
PROMPT_OPTOUT_DONE = "ivr-optout-done"
# the opt-out could not be recorded: "we could not stop your messages now; a health worker
# from the call centre will call you" (she is put on the call centre's list)
PROMPT_OPTOUT_FAILED = "ivr-optout-failed"
PROMPT_CALL_CENTRE = "ivr-call-centre"      # "Connecting you to a health worker"
PROMPT_SORRY = "ivr-sorry"                  # apology when the service cannot play (AGI down)
# the message of a notification call (scheduler/notifications.py), followed by the day she is
# expected, said with two recorded prompts: the day of the month, then the month (the order
# of hi, mr, gu, en "7 December", fr, sw; pt records its months as "de dezembro")
PROMPT_NOTIFY_COME = "ivr-notify-come"      # "Please come to the health centre on"
PROMPT_DAYS = tuple(f"ivr-day-{n}" for n in range(1, 32))        # "7"
PROMPT_MONTHS = tuple(f"ivr-month-{n}" for n in range(1, 13))    # "December"
PROMPTS = (PROMPT_GREETING, PROMPT_MENU, PROMPT_INVALID, PROMPT_GOODBYE, PROMPT_OPTOUT_CONFIRM,
           PROMPT_OPTOUT_DONE, PROMPT_OPTOUT_FAILED, PROMPT_CALL_CENTRE, PROMPT_SORRY,
           PROMPT_NOTIFY_COME, *PROMPT_DAYS, *PROMPT_MONTHS)

# Keys of the in-call menu.
KEY_REPLAY = "1"
KEY_CALL_CENTRE = "0"
KEY_STOP = "9"
KEY_CONFIRM = "1"

# The FastAGI address for one call: every Originate carries it, so the call reaches the
# server that placed it (tests run servers on ephemeral ports); the [globals] value of the
# same name is the deployment's default.
VAR_AGI_URL = GLOBAL_AGI_URL

# --- issue 7: call centre, missed-call fallback, sandbox agent --------------------------
# IVR_RESULT value on which the outbound context transfers her to the call centre
# (the flow's ENDED_CALL_CENTRE; tests/dialplan checks they agree).
RESULT_CALL_CENTRE = "call_centre"
CONTEXT_CALL_CENTRE = "ivr-call-centre"    # dials ${IVR_CALL_CENTRE}, then hangs up
# [globals]: the call centre's dial string (e.g. PJSIP/agents@callcentre, Local/s@my-queue),
# and how long to ring it in seconds (default 45 when unset).
GLOBAL_CALL_CENTRE = "IVR_CALL_CENTRE"
GLOBAL_CALL_CENTRE_TIMEOUT = "IVR_CALL_CENTRE_TIMEOUT"
# [globals]: the controller's missed-call spool directory (ivr.toml [ivr] missed_spool); the
# missed-call context passes it to the classic AGI script below, which drops one file per
# missed call there even when the controller is down. Asterisk never sees the database.
GLOBAL_MISSED_SPOOL = "IVR_MISSED_SPOOL"
AGI_SCRIPT_MISSED_CALL = "ivr-missed-call-fallback"   # in Asterisk's astagidir
# Set by that script: the name of the spool file it wrote (empty when it could not write).
VAR_MISSED_CALL_FILE = "IVR_MISSED_CALL_FILE"
# The one header of IvrMissedCall: that file's name (the controller ingests it at once).
HEADER_MISSED_CALL_FILE = "MissedCallFile"

# Sandbox tests only: an environment variable of Asterisk's that holds the fallback script's first
# run half-way (ivr.missed_fallback.TEST_HOLD_ENV), set from the SIP header X-Ivr-Test-Hold.
VAR_MISSED_FALLBACK_TEST_HOLD = "IVR_MISSED_FALLBACK_TEST_HOLD"

# Sandbox only: the simulated call-centre agent (Local/agent@sim-agent) and its event.
CONTEXT_SIM_AGENT = "sim-agent"
USEREVENT_SIM_AGENT = "IvrSimAgentAnswered"
# Sandbox only: a simulated phone's call ended (headers Phone, Answered yes/no, Talked: seconds
# since its answer, Cause); the failure drills (bench/drills.py) count from it.
USEREVENT_SIM_PHONE_ENDED = "SimPhoneEnded"
# Sent by the call-centre context after the Dial (header DialStatus: ANSWER, NOANSWER, BUSY...).
USEREVENT_CALL_CENTRE = "IvrCallCentre"
CONTEXT_APOLOGY = "ivr-apology"            # plays ivr-sorry when it exists, then hangs up
CONTEXT_MISSED_CALL_RECORD = "ivr-missed-call-record"   # Gosub: the AGI script, then the event

# How long `ivr run` lets live calls finish after SIGTERM (deploy/ivr.service's TimeoutStopSec
# is longer, so systemd never kills it mid-drain).
DRAIN_SECONDS = 600.0
# The headers each of our UserEvents carries (beyond the channel's own): an AMI message
# naming one of these events with any other header is refused (ivr/protocol/ami.py), so
# tests/test_constants.py checks this table against every UserEvent(...) in dialplan/.
USER_EVENT_HEADERS = {
    USEREVENT_MISSED_CALL: (HEADER_MISSED_CALL_FILE,),
    USEREVENT_AGI_FAILED: (VAR_ATTEMPT_ID,),
    USEREVENT_CALL_CENTRE: (VAR_ATTEMPT_ID, "DialStatus"),
    USEREVENT_SIM_AGENT: (VAR_ATTEMPT_ID,),
}
