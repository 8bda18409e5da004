-- 001: the tables, designed for millions of women from the start.
-- Times are REAL seconds since the Unix epoch (UTC); calendar dates are 'YYYY-MM-DD' text.

CREATE TABLE subscribers (
    id            INTEGER PRIMARY KEY,
    phone         TEXT NOT NULL,                 -- E.164, digits after '+'
    name          TEXT,
    language      TEXT NOT NULL,
    slot          TEXT NOT NULL,                 -- time slot name of the programme, e.g. '09-12'
    timezone      TEXT NOT NULL DEFAULT 'Asia/Kolkata',
    programme     TEXT NOT NULL,
    track         TEXT NOT NULL,                 -- 'pregnancy' or 'infant'
    lmp           TEXT,                          -- last menstrual period
    edd           TEXT,                          -- expected delivery date
    child_dob     TEXT,
    partner       TEXT,                          -- enrolment partner: hospital or NGO
    health_worker TEXT,
    consent_date  TEXT,
    status        TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'paused', 'opted_out', 'deactivated', 'completed')),
    status_reason TEXT,
    enrolled_at   REAL NOT NULL,
    updated_at    REAL NOT NULL,
    plan_at       REAL                           -- when the scheduler must plan her next message
);
-- one active (or paused) woman per phone; old, ended records may share it
CREATE UNIQUE INDEX subscribers_live_phone ON subscribers(phone)
    WHERE status IN ('active', 'paused');
CREATE INDEX subscribers_status_slot ON subscribers(status, slot);
CREATE INDEX subscribers_plan ON subscribers(plan_at) WHERE plan_at IS NOT NULL;

-- one message owed to one woman
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    subscriber_id    INTEGER NOT NULL REFERENCES subscribers(id),
    message_key      TEXT NOT NULL,
    slot             TEXT NOT NULL,              -- her slot, copied: claims are made per slot
    due_at           REAL NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'undelivered', 'superseded', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL,
    heard_share      REAL NOT NULL DEFAULT 0,    -- the most she heard of it, 0..1
    acquired_by      TEXT,                       -- lease: owner of the claim
    acquired_until   REAL,                       -- lease: expiry (reaped after)
    closed_at        REAL,
    UNIQUE (subscriber_id, message_key)
);
CREATE INDEX deliveries_pending_next ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id, due_at);

-- one row per call
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    delivery_id      INTEGER REFERENCES deliveries(id),
    callback_id      INTEGER REFERENCES callback_requests(id),
    subscriber_id    INTEGER REFERENCES subscribers(id),
    number           INTEGER NOT NULL DEFAULT 1 CHECK (number >= 1),
    kind             TEXT NOT NULL DEFAULT 'scheduled' CHECK (kind IN ('scheduled', 'callback', 'test')),
    phone            TEXT NOT NULL,
    language         TEXT NOT NULL,
    message_key      TEXT NOT NULL,
    trunk            TEXT,                        -- set when the call is placed
    created_at       REAL NOT NULL,
    started_at       REAL,                        -- originate sent
    answered_at      REAL,
    ended_at         REAL,
    outcome          TEXT,                        -- scheduler.outcome.Outcome; NULL while live
    reason           INTEGER,                     -- OriginateResponse Reason
    cause            INTEGER,                     -- Hangup Cause (Q.850) of the dialled leg
    cause_text       TEXT,
    heard_seconds    REAL,                        -- furthest point of the message reached
    message_seconds  REAL,
    heard_share      REAL,
    ended            TEXT,                        -- how the in-call flow ended
    keys             TEXT,                        -- keys she pressed
    language_played  TEXT,                        -- differs from language when the fallback played
    channel          TEXT,
    uniqueid         TEXT,
    acquired_by      TEXT,                        -- lease of a live attempt: who placed it
    acquired_until   REAL                         -- and until when (reaped after)
);
CREATE INDEX attempts_delivery ON attempts(delivery_id);
CREATE INDEX attempts_subscriber ON attempts(subscriber_id, created_at);
CREATE INDEX attempts_created ON attempts(created_at);
CREATE INDEX attempts_live ON attempts(subscriber_id) WHERE outcome IS NULL;
CREATE INDEX attempts_lease ON attempts(acquired_until) WHERE outcome IS NULL;

-- every missed call the dialplan reported
CREATE TABLE missed_calls (
    id             INTEGER PRIMARY KEY,
    phone          TEXT NOT NULL,
    did            TEXT,
    received_at    REAL NOT NULL,
    subscriber_id  INTEGER REFERENCES subscribers(id),
    callback_id    INTEGER REFERENCES callback_requests(id)
);
CREATE INDEX missed_calls_received ON missed_calls(received_at);

CREATE TABLE callback_requests (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    requested_at   REAL NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'served', 'expired', 'cancelled')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    served_at      REAL,
    attempt_id     INTEGER REFERENCES attempts(id)
);
CREATE INDEX callback_requests_pending ON callback_requests(next_attempt_at) WHERE status = 'pending';
CREATE INDEX callback_requests_subscriber ON callback_requests(subscriber_id, id);

-- who changed what, when
CREATE TABLE audit (
    id             INTEGER PRIMARY KEY,
    at             REAL NOT NULL,
    actor          TEXT NOT NULL,
    subscriber_id  INTEGER,
    action         TEXT NOT NULL,
    detail         TEXT                           -- JSON
);
CREATE INDEX audit_subscriber ON audit(subscriber_id, at);
