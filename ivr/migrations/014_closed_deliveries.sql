-- 014: the absence sweep (issue 15, ivr/absence.py) reads the deliveries that ended without
-- being delivered, by the time they closed, a page at a time: without this index each
-- hourly sweep would read every delivery.
CREATE INDEX deliveries_closed ON deliveries(closed_at, id)
    WHERE status IN ('undelivered', 'superseded');
