-- 003: how many times her message was started in a call (1, plus each replay she asked for
-- with key 1; 0 when she hung up during the greeting); NULL when no in-call flow ran (not
-- answered, or the flow failed). Reports count the answered calls she replayed.
ALTER TABLE attempts ADD COLUMN plays INTEGER;
