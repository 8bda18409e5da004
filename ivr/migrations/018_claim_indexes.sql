-- 018: fewer index entries for each row a claim writes
-- (issue 14: a claim of 500 calls inserts 500 attempts and updates their 500 deliveries; the
-- update sets next_attempt_at, indexed, so it writes a new entry in every deliveries index).
-- attempts_live (subscriber_id WHERE outcome IS NULL) held the key of attempts_one_live (006)
-- for every live call but the test calls, which have no woman: the reads of "her live call"
-- now name the test calls' exclusion (ivr/adapters/deliveries.py NO_LIVE_CALL) and use
-- attempts_one_live; the reads of every live call (outcome IS NULL: the live list, the reap,
-- next_wake) use attempts_lease, partial on the same condition.
-- deliveries_subscriber (subscriber_id, due_at): no read wants her deliveries in due_at order;
-- her deliveries are found by the unique (subscriber_id, message_key) of 001.
DROP INDEX attempts_live;
DROP INDEX deliveries_subscriber;
