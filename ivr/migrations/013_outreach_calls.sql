-- 013: the call centre's outreach calls (issue 16, item 2): `ivr outreach list` ranks the
-- women a live call would help most this week; `ivr outreach done` records each call made,
-- at most one per woman and week. week: the ISO week of the programme's local date when it
-- was recorded ('2026-W49'); worker: who called (NULL: not said); outcome: a closed list
-- (scheduler/outreach_weeks.py OUTCOMES); no free text (nothing about her health here).
CREATE TABLE outreach_calls (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    week           TEXT NOT NULL,
    worker_id      INTEGER REFERENCES workers(id),
    outcome        TEXT NOT NULL
                   CHECK (outcome IN ('reached', 'not_reached', 'refused', 'wrong_number')),
    at             REAL NOT NULL,
    recorded_by    TEXT NOT NULL,
    UNIQUE (subscriber_id, week)
);
CREATE INDEX outreach_calls_at ON outreach_calls(at);
