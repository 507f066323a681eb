-- The database an older release made (tests/upgrade/before.sql) holds every kind of
-- record the update must keep: one line per kind, the kind, then 't' when it is there.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SELECT 'tags', count(*) > 0 FROM lead_score.tag_store;
SELECT 'a cleared tag', count(*) > 0 FROM lead_score.transitions WHERE kind = 'tag_cleared';
SELECT 'tagged by an event', count(*) > 0 FROM lead_score.transitions WHERE kind = 'tagged' AND source = 'event';
SELECT 'tagged by tick()', count(*) > 0 FROM lead_score.transitions WHERE kind = 'tagged' AND source = 'tick';
SELECT 'disqualified', count(*) > 0 FROM lead_score.transitions WHERE kind = 'disqualified';
SELECT 'requalified', count(*) > 0 FROM lead_score.transitions WHERE kind = 'requalified';
SELECT 'five attached profiles', count(*) = 5 FROM lead_score.attachment_store;
SELECT 'an attachment whose contacts table was dropped', count(*) = 1 FROM lead_score.attachment_store a
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = a.contacts);
SELECT 'an attachment whose events table was dropped', count(*) = 1 FROM lead_score.attachment_store a
 WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = a.events);
SELECT 'tags of a profile no longer attached', count(*) > 0 FROM lead_score.tag_store g
 WHERE NOT EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = g.profile_id);
SELECT 'published versions', count(*) >= 4 FROM lead_score.version_store;
SELECT 'a draft change', count(*) > 0 FROM lead_score.rule_store r JOIN lead_score.profile_store p ON p.id = r.profile_id
 WHERE p.name = 'Sales' AND r.version IS NULL AND r.name = 'Webinar';
SELECT to_regclass('lead_score.adjustment_store') IS NOT NULL AS since_0_2_0 \gset
\if :since_0_2_0
SELECT 'adjustments', count(*) = 3 FROM lead_score.adjustment_store;
SELECT 'tagged by an adjustment', count(*) > 0 FROM lead_score.transitions WHERE kind = 'tagged' AND source = 'adjustment';
SELECT 'a published likelihood', count(*) = 1 FROM lead_score.attachment_store WHERE likelihood_intercept IS NOT NULL;
\endif
