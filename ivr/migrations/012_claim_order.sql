-- 012: the claim reads due calls in (next_attempt_at, id) order and the day plan women in
-- (plan_at, id) order, LIMIT n. SQLite's indexes carry the rowid (= id) after their key, so
-- the old ones gave that order already; PostgreSQL's do not: with 625,000 calls due at the
-- same slot opening (or 617,000 women planned at the same midnight) it read and sorted them
-- all for each claim of 500 (2 s at 2.5 M women) or plan batch. The id is now in the key.
DROP INDEX deliveries_pending_next;
CREATE INDEX deliveries_pending_next ON deliveries(next_attempt_at, id) WHERE status = 'pending';
DROP INDEX subscribers_plan;
CREATE INDEX subscribers_plan ON subscribers(plan_at, id) WHERE plan_at IS NOT NULL;
