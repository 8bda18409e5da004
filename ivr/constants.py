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
# Set to 1 by the AGI route once it has her call, inside her answer's transaction just
# before its COMMIT is sent, before it plays anything (0 again if her answer cannot be
# written, its COMMIT included): the dialplan's fallback plays her
# message only when it is 1 (else the apology: her attempt is closed as not delivered and
# she is called again).
VAR_SERVED = "IVR_SERVED"

# Dialplan contexts.
CONTEXT_OUTBOUND = "ivr-outbound"          # an answered outbound call runs the IVR here
CONTEXT_AGI_FAILED = "ivr-agi-failed"      # the controller cannot serve her call (see VAR_SERVED)
CONTEXT_MISSED_CALL = "ivr-missed-call"    # missed-call DIDs: never answered
CONTEXT_INBOUND = "ivr-inbound"            # the answered line's DIDs: answered, route inbound
CONTEXT_SIM_PHONES = "sim-phones"          # sandbox only: simulated handsets
EXTEN_START = "s"

# FastAGI routes (the path part of agi://host:port/<route>).
AGI_ROUTE_CALL = "call"
AGI_ROUTE_INBOUND = "inbound"              # the answered line: AGI(<url>/inbound,<DID digits>)

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
# The answered line (issue 15, ivr/inbound_flow.py): a woman or an agent calls in.
PROMPT_LINE_MENU = "ivr-line-menu"          # "1 again, 2 previous, 3 time, 4 language, 5 baby
                                            #  born, 0 a health worker, 9 stop"
PROMPT_LINE_NO_MESSAGE = "ivr-line-no-message"  # "There is no message for you yet."
PROMPT_LINE_SLOTS = "ivr-line-slots"        # "Press 1 for <the programme's first slot>, 2 ..."
PROMPT_LINE_LANGUAGES = "ivr-line-languages"  # "Press 1 for <its first language>, 2 ..."
PROMPT_LINE_BIRTH_CONFIRM = "ivr-line-birth-confirm"  # "If your baby is born, press 1"
PROMPT_LINE_BIRTH_NOTED = "ivr-line-birth-noted"  # "A health worker will call you to confirm"
PROMPT_LINE_CHANGED = "ivr-line-changed"    # "Your choice is saved."
PROMPT_LINE_NOT_CHANGED = "ivr-line-not-changed"  # "Sorry, we could not save it now."
PROMPT_LINE_UNKNOWN = "ivr-line-unknown"    # "This number is not registered... 0 for a health
                                            #  worker"
PROMPT_LINE_CODE = "ivr-line-code"          # agent: "Key the child's code, then #"
PROMPT_LINE_CODE_UNKNOWN = "ivr-line-code-unknown"  # "That code is not one of your children"
PROMPT_LINE_NO_QUESTIONS = "ivr-line-no-questions"  # "No questions for this child this week"
PROMPT_LINE_SAVED = "ivr-line-saved"        # "The answers are saved."
LINE_PROMPTS = (PROMPT_LINE_MENU, PROMPT_LINE_NO_MESSAGE, PROMPT_LINE_SLOTS,
                PROMPT_LINE_LANGUAGES, PROMPT_LINE_BIRTH_CONFIRM, PROMPT_LINE_BIRTH_NOTED,
                PROMPT_LINE_CHANGED, PROMPT_LINE_NOT_CHANGED, PROMPT_LINE_UNKNOWN,
                PROMPT_LINE_CODE, PROMPT_LINE_CODE_UNKNOWN, PROMPT_LINE_NO_QUESTIONS,
                PROMPT_LINE_SAVED)
# the message of a notification call (scheduler/notifications.py), followed by the day she is
# expected, said with two recorded prompts: the day of the month, then the month (the order
# of hi, mr, gu, en "7 December", fr, sw; pt records its months as "de dezembro")
PROMPT_NOTIFY_COME = "ivr-notify-come"      # "Please come to the health centre on"
PROMPT_DAYS = tuple(f"ivr-day-{n}" for n in range(1, 32))        # "7"
PROMPT_MONTHS = tuple(f"ivr-month-{n}" for n in range(1, 13))    # "December"
PROMPTS = (PROMPT_GREETING, PROMPT_MENU, PROMPT_INVALID, PROMPT_GOODBYE, PROMPT_OPTOUT_CONFIRM,
           PROMPT_OPTOUT_DONE, PROMPT_OPTOUT_FAILED, PROMPT_CALL_CENTRE, PROMPT_SORRY,
           *LINE_PROMPTS, PROMPT_NOTIFY_COME, *PROMPT_DAYS, *PROMPT_MONTHS)

# Keys of the answered line's menu (ivr/inbound_flow.py); 0 and 9 as in the in-call menu.
KEY_LINE_AGAIN = "1"
KEY_LINE_PREVIOUS = "2"
KEY_LINE_SLOT = "3"
KEY_LINE_LANGUAGE = "4"
KEY_LINE_BIRTH = "5"

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
# the answered line's secret (ivr/line_secret.py): the inbound route reads it by GET VARIABLE
GLOBAL_LINE_SECRET = "IVR_LINE_SECRET"
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
