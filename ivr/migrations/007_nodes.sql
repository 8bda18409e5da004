-- 007: the nodes: every `ivr run` sharing this database writes its own row (its name is the
-- key) every [run] heartbeat_seconds, and marks it stopped on a clean exit (ivr/nodes.py,
-- ivr/adapters/nodes.py, `ivr status --nodes`).
-- owner: its owner id (ivr/owner.py), as in attempts.acquired_by;
-- live_calls: JSON text {trunk: live calls} of every trunk it runs;
-- cps_shares: JSON text {trunk: call set-ups per second} of every shared trunk it runs
-- (trunk shared_cps), as it last applied it;
-- last_error: its latest error, numbers masked, and when.
CREATE TABLE nodes (
    name             TEXT PRIMARY KEY,
    host             TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    owner            TEXT NOT NULL,
    started_at       REAL NOT NULL,
    heartbeat_at     REAL NOT NULL,
    heartbeat_every  REAL NOT NULL,
    stopped_at       REAL,
    live_calls       TEXT NOT NULL DEFAULT '{}',
    cps_shares       TEXT NOT NULL DEFAULT '{}',
    last_error       TEXT,
    last_error_at    REAL
);
