-- 008: two-way calls (issue 15): health workers and whom they follow, the answers a woman
-- (or her child's carer) keys in, and the follow-ups the programme's rules open for a worker.

-- A health worker, agent, doctor or call-centre member. phone: E.164 digits, masked in output
-- like a woman's; one active worker per number.
CREATE TABLE workers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('health_worker', 'agent', 'doctor', 'call_centre')),
    created_at  REAL NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX workers_phone ON workers(phone) WHERE active = 1;

-- Who follows whom, over time: until IS NULL is the current assignment. role is the worker's,
-- kept here so that "at most one current worker per role for a woman" is an index.
CREATE TABLE assignments (
    id             INTEGER PRIMARY KEY,
    worker_id      INTEGER NOT NULL REFERENCES workers(id),
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    role           TEXT NOT NULL,
    since          REAL NOT NULL,
    until          REAL
);
CREATE UNIQUE INDEX assignments_current ON assignments(subscriber_id, role) WHERE until IS NULL;
CREATE INDEX assignments_worker ON assignments(worker_id) WHERE until IS NULL;

-- Her answers: one current answer per (woman, question, week); an answer given again in the
-- same week supersedes the earlier one, which stays (superseded_at set) for the audit.
-- week: the ISO week of her local date when she answered, 'YYYY-Www' (sorts in time order).
-- value: the answer as exact decimal text ('1' yes, '2' no, a choice's key, '12.3' kg);
-- NULL when skipped (silence or wrong keys, twice).
CREATE TABLE answers (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    question       TEXT NOT NULL,
    week           TEXT NOT NULL,
    value          TEXT,
    status         TEXT NOT NULL CHECK (status IN ('answered', 'skipped')),
    attempt_id     INTEGER REFERENCES attempts(id),
    answered_at    REAL NOT NULL,
    superseded_at  REAL
);
CREATE UNIQUE INDEX answers_current ON answers(subscriber_id, question, week)
    WHERE superseded_at IS NULL;

-- A follow-up a rule opened for her: owner is her worker of owner_role when she has one, else
-- NULL (the role's pool). Never two open follow-ups of the same rule for the same woman.
CREATE TABLE follow_ups (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    rule           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    due_on         TEXT NOT NULL,                  -- ISO date
    worker_id      INTEGER REFERENCES workers(id),
    owner_role     TEXT NOT NULL,
    question       TEXT,                           -- the question that opened it; NULL: absence
    answer_id      INTEGER REFERENCES answers(id),
    attempt_id     INTEGER REFERENCES attempts(id),
    opened_at      REAL NOT NULL,
    closed_at      REAL,
    outcome        TEXT,
    closed_by      TEXT
);
CREATE UNIQUE INDEX follow_ups_open ON follow_ups(subscriber_id, rule) WHERE closed_at IS NULL;
CREATE INDEX follow_ups_worker ON follow_ups(worker_id, due_on) WHERE closed_at IS NULL;
