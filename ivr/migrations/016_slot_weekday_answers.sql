-- 016: her answer pattern per slot and weekday (issue 16, `retry_slots_by_weekday`): per woman,
-- programme slot and weekday of her local date (0 = Monday .. 6 = Sunday), the same calls as
-- slot_answers (015) counts per slot, and how many she answered. Written at the end of each
-- such call, in its transaction, and read by retry_slots = "learned", both only while the
-- programme's retry_slots_by_weekday is true (scheduler/retry_slots.weekday_pattern: her
-- weekday cells start from her per-slot figure, so cells without calls cost nothing).
-- Calls before this migration, or while the setting was off, are not counted.
CREATE TABLE slot_weekday_answers (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    slot           TEXT NOT NULL,
    weekday        INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    calls          INTEGER NOT NULL,
    answered       INTEGER NOT NULL
);
CREATE UNIQUE INDEX slot_weekday_answers_her_cell
    ON slot_weekday_answers(subscriber_id, slot, weekday);
