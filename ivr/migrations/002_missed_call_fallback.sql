-- 002: missed calls recorded by the dialplan's fallback AGI script (ivr/missed_fallback.py)
-- even while the controller is down. The controller handles every row with handled_at NULL
-- (on the IvrMissedCall UserEvent, and at start-up for rows written while it was down),
-- then sets handled_at (and subscriber_id / callback_id when she is a subscriber).
-- uniqueid is the Asterisk channel's Uniqueid: one row per call, whoever writes it first
-- (the script, or the controller from the event when the script could not write).
ALTER TABLE missed_calls ADD COLUMN uniqueid TEXT;
ALTER TABLE missed_calls ADD COLUMN handled_at REAL;
CREATE UNIQUE INDEX missed_calls_uniqueid ON missed_calls(uniqueid) WHERE uniqueid IS NOT NULL;
CREATE INDEX missed_calls_unhandled ON missed_calls(received_at) WHERE handled_at IS NULL;
