-- 015: her answer pattern (issue 16): per woman and programme slot, how many of her scheduled
-- calls said whether she could answer at that time (answer_model.EVIDENCE: answered, no
-- answer, busy, rejected, unreachable) and how many she answered. Written at the end of each
-- such call, in its transaction; read by retry_slots = "learned" (her counts, and the sums
-- per slot as the population's prior), `ivr women show` and `ivr women suggest-slots`.
-- Calls before this migration are not counted: her pattern starts from her next calls.
-- own_calls, own_answered: those of them placed while this slot was her chosen one (the retry
-- rule's prior is split so: scheduler/retry_slots.retry_prior).
CREATE TABLE slot_answers (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    slot           TEXT NOT NULL,
    calls          INTEGER NOT NULL,
    answered       INTEGER NOT NULL,
    own_calls      INTEGER NOT NULL DEFAULT 0,
    own_answered   INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX slot_answers_her_slot ON slot_answers(subscriber_id, slot);
