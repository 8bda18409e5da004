-- 021: the rows that point at a call (attempts.id) indexed by it, for the retention purge
-- (ivr/adapters/retention.py). A purge page deletes 20,000 old calls; for each deleted call
-- both stores look for the rows that still refer to it (the foreign keys), and without an
-- index each look was a scan of the whole table: one page took ~170 s on SQLite at 10 M
-- calls (141,223 callback requests scanned 20,000 times) under the write lock of `ivr run`.
-- The purge now unlinks these rows first (their attempt_id set to NULL: the answers,
-- follow-ups, call-centre list rows and callback requests stay; only the link to the deleted
-- call goes), through the same indexes.
CREATE INDEX callback_requests_attempt ON callback_requests(attempt_id);
CREATE INDEX answers_attempt ON answers(attempt_id);
CREATE INDEX follow_ups_attempt ON follow_ups(attempt_id);
CREATE INDEX call_centre_list_attempt ON call_centre_list(attempt_id);
