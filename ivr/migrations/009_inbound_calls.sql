-- 009: the answered line (issue 15): one row per call to the line's DID, so reports can count
-- its use. caller is masked (last 3 digits) like every number in output: the row says who by
-- subscriber_id (a known woman, or the child an agent answered for last) or worker_id (an agent).
-- played: the messages she heard ("latest", "previous"), done: what she changed or the agent
-- answered ("slot:09-12", "language:mr", "birth", "opt_out", "child:42"), both space-separated.
CREATE TABLE inbound_calls (
    id             INTEGER PRIMARY KEY,
    started_at     REAL NOT NULL,
    ended_at       REAL NOT NULL,
    did            TEXT NOT NULL,
    caller         TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('woman', 'unknown', 'agent')),
    subscriber_id  INTEGER REFERENCES subscribers(id),
    worker_id      INTEGER REFERENCES workers(id),
    ended          TEXT NOT NULL,
    keys           TEXT NOT NULL DEFAULT '',
    played         TEXT NOT NULL DEFAULT '',
    done           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbound_calls_started ON inbound_calls(started_at);
CREATE INDEX inbound_calls_subscriber ON inbound_calls(subscriber_id) WHERE subscriber_id IS NOT NULL;
