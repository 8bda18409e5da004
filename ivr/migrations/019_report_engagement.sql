-- 019: `ivr report`'s at-risk list from a summary per woman (ivr/adapters/report_engagement.py).
-- report_engagement: per woman and at-risk share (low_share: the programme's
-- low_listening_share, the heard share that makes an answered call "well heard"), what
-- scheduler/engagement.py's rule reads of her ended calls (tests never) placed before the
-- share's report_engagement_upto.upto, folded in her order: low_run, her answered calls
-- after her last well-heard one; since, when the first call after her last answered one
-- (after that well-heard one) ended (NULL: none); and last_answered, when her last answered
-- call (any kind) was placed. The calls placed since `upto` are read raw by the report.
-- A woman with no row has no call before `upto`.
CREATE TABLE report_engagement (
    id             INTEGER PRIMARY KEY,
    low_share      REAL NOT NULL,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    low_run        INTEGER NOT NULL,
    since          REAL,
    last_answered  REAL
);
CREATE UNIQUE INDEX report_engagement_her ON report_engagement(low_share, subscriber_id);
CREATE TABLE report_engagement_upto (
    id         INTEGER PRIMARY KEY,
    low_share  REAL NOT NULL,
    upto       REAL NOT NULL,
    folded_at  REAL NOT NULL
);
CREATE UNIQUE INDEX report_engagement_upto_share ON report_engagement_upto(low_share);
