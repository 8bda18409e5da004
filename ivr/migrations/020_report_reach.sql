-- 020: `ivr report`'s funnel from the summary per woman (ivr/adapters/report_engagement.py).
-- report_engagement.tried: 1 when a call of hers (tests never) placed before the share's
-- upto was started; answered: 1 when one was answered. The funnel's "first attempt" and
-- "first answer" read them, and probe only the calls placed since `upto`. The rows folded
-- before this migration get theirs from their calls here.
ALTER TABLE report_engagement ADD COLUMN tried INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_engagement ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;
UPDATE report_engagement SET
    tried = CASE WHEN EXISTS (SELECT 1 FROM attempts a JOIN report_engagement_upto u
        ON u.low_share = report_engagement.low_share
        WHERE a.subscriber_id = report_engagement.subscriber_id AND a.kind != 'test'
        AND a.started_at IS NOT NULL AND a.created_at < u.upto) THEN 1 ELSE 0 END,
    answered = CASE WHEN EXISTS (SELECT 1 FROM attempts a JOIN report_engagement_upto u
        ON u.low_share = report_engagement.low_share
        WHERE a.subscriber_id = report_engagement.subscriber_id AND a.kind != 'test'
        AND a.outcome = 'answered' AND a.created_at < u.upto) THEN 1 ELSE 0 END;
