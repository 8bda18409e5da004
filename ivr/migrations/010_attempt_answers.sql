-- 010: how many of her message's questions she answered in the call (issue 15); 0 when they
-- were asked and she answered none; NULL when no question was asked (the message has none,
-- she did not hear it to a normal end, or no in-call flow ran). Her answers themselves are
-- in the answers table (008), with this attempt's id.
ALTER TABLE attempts ADD COLUMN answers INTEGER;
