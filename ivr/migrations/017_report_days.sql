-- 016: `ivr report`'s calls per closed day (ivr/adapters/report_rollup.py). A day is a local
-- day cut at a UTC offset (seconds): day = FLOOR((created_at + utc_offset) / 86400); the
-- report uses the days of its zone's offset and reads the calls of every other day raw.
-- report_days: the days rolled up (a day with no call has a row here and none in
-- report_calls). report_calls: the ended calls (tests aside) of those days, counted (n) and
-- their heard shares summed (heard) by the report's dimensions, each woman's under her
-- programme, language, slot and partner as report_women records them (rekeyed when hers
-- change). report_lock: one row (id 1), written first by every writer of these tables, so
-- that two nodes never roll the same day twice.
CREATE TABLE report_days (
    id          INTEGER PRIMARY KEY,
    utc_offset  INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    rolled_at   REAL NOT NULL
);
CREATE UNIQUE INDEX report_days_key ON report_days(utc_offset, day);
CREATE TABLE report_calls (
    id          INTEGER PRIMARY KEY,
    utc_offset  INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    programme   TEXT NOT NULL,
    language    TEXT NOT NULL,
    slot        TEXT NOT NULL,
    partner     TEXT NOT NULL,                -- '(none)' when she has none
    kind        TEXT NOT NULL,
    number      INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    hb          INTEGER NOT NULL,             -- heard band: 0 under half, 1 half, 2 three quarters
    replayed    INTEGER NOT NULL,             -- 1: played twice or more
    n           INTEGER NOT NULL,
    heard       REAL NOT NULL
);
CREATE UNIQUE INDEX report_calls_key ON report_calls(utc_offset, day, programme, language,
    slot, partner, kind, number, outcome, hb, replayed);
CREATE TABLE report_women (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    programme      TEXT NOT NULL,
    language       TEXT NOT NULL,
    slot           TEXT NOT NULL,
    partner        TEXT NOT NULL
);
CREATE UNIQUE INDEX report_women_her ON report_women(subscriber_id);
CREATE TABLE report_lock (
    id       INTEGER PRIMARY KEY,
    held_at  REAL NOT NULL
);
