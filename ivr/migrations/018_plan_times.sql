-- 018 (issue 14; to be renumbered 020 at merge): when each woman must be planned again, in a
-- narrow table of its own. The day plan sets it for a quarter of all women every day; as a
-- column of subscribers each change wrote a new copy of her whole row and an entry in every
-- subscribers index (the column is indexed: never a HOT update): ~22 us of PostgreSQL's CPU
-- a woman, against ~4.6 us for this row of two columns and its two indexes
-- (bench/results/postgres.md, bench/plan_floor.py). id: the woman's (subscribers.id); a
-- woman with nothing to plan until an event has no row.
CREATE TABLE plan_times (
    id       INTEGER PRIMARY KEY REFERENCES subscribers(id),
    plan_at  REAL NOT NULL
);
INSERT INTO plan_times (id, plan_at)
    SELECT id, plan_at FROM subscribers WHERE plan_at IS NOT NULL ORDER BY id;
CREATE INDEX plan_times_due ON plan_times(plan_at, id);
DROP INDEX subscribers_plan;
ALTER TABLE subscribers DROP COLUMN plan_at;
