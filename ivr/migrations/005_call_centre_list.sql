-- 005: the call centre's list: women a health worker must call by hand, because the IVR told
-- her so.  First (and so far only) reason: she pressed 9 then 1 to stop her messages and
-- recording it failed; she heard that the call centre will call her (ivr/flow.py,
-- "opt_out_failed").  done_at is set once the call centre has handled her.
CREATE TABLE call_centre_list (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    attempt_id     INTEGER REFERENCES attempts(id),
    reason         TEXT NOT NULL CHECK (reason IN ('opt_out_not_recorded')),
    added_at       REAL NOT NULL,
    done_at        REAL
);
CREATE INDEX call_centre_list_open ON call_centre_list(added_at) WHERE done_at IS NULL;
