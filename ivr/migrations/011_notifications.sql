-- 011: notification calls (issue 15, item 2). The doctor closes a follow-up with ask_to_come
-- and a date: her call "please come to the health centre on <date>" is a delivery like her
-- messages (message key 'notify:come:<ISO date>', claimed and retried by the same rules);
-- this row says which follow-up asked for it and the day she is expected.
CREATE TABLE notifications (
    delivery_id    INTEGER PRIMARY KEY REFERENCES deliveries(id),
    follow_up_id   INTEGER NOT NULL REFERENCES follow_ups(id),
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers(id),
    come_on        TEXT NOT NULL                   -- ISO date
);
CREATE INDEX notifications_subscriber ON notifications(subscriber_id);
