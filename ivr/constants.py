"""Every name shared between the controller and the Asterisk configuration in dialplan/.

tests/test_constants.py checks these names against the files in dialplan/, so a rename
on one side without the other fails the suite.
"""

# Channel variables set on the Originate and read back in the dialplan / AGI route.
# IVR_ATTEMPT_ID is the one correlation id: it travels through the Originate, is read by
# the AGI route and comes back on AMI events (manager.conf channelvars).
VAR_ATTEMPT_ID = "IVR_ATTEMPT_ID"
VAR_LANG = "IVR_LANG"
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

# Dialplan global holding the FastAGI address (set by the deployment, see dialplan/).
GLOBAL_AGI_URL = "IVR_AGI_URL"
