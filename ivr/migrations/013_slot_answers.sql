-- 013: her answer pattern (issue 16): per woman and programme slot, how many of her scheduled
-- calls said whether she could answer at that time (answer_model.EVIDENCE: answered, no
-- answer, busy, rejected, unreachable) and how many she answered. Written at the end of each
-- such call, in its transaction; read by retry_slots = "learned" (her counts, and the sums
-- per slot as the population's prior), `ivr women show` and `ivr women suggest-slots`.
-- Calls before this migration are not counted: her pattern starts from her next calls.
CREATE TABLE slot_answers (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    slot           TEXT NOT NULL,
    calls          INTEGER NOT NULL,
    answered       INTEGER NOT NULL
);
CREATE UNIQUE INDEX slot_answers_her_slot ON slot_answers(subscriber_id, slot);
