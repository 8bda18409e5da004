-- 006: at most one live call per woman, kept by the database itself (the claim's rule keeps
-- it too; this holds when several nodes claim from one PostgreSQL at once: a second live
-- attempt of hers makes the claim that tries it fail whole, and it is tried again).
-- Test calls (`ivr call test`) are not hers to schedule and stay out of it.
CREATE UNIQUE INDEX attempts_one_live ON attempts(subscriber_id)
    WHERE outcome IS NULL AND subscriber_id IS NOT NULL AND kind != 'test';
