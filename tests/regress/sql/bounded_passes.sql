-- Full passes within maintenance_work_mem (issue 29): publish, rescore, verify, preview
-- and scores_at keep a summary per contact while they read the events; when those
-- would take more than maintenance_work_mem they score a key range at a time (cut at
-- sampled keys, cut again when a range still outgrows it). The results are the same
-- as one pass's, for integer keys and for text keys whose columns sort in different
-- collations, with events of contacts that do not exist and manual adjustments.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-30 00:00:00+00';
CREATE SCHEMA bp;
CREATE TABLE bp.contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE bp.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz, props jsonb);
CREATE INDEX ON bp.events (contact_id, occurred_at);
INSERT INTO bp.contacts SELECT g, (ARRAY['US', 'DE', 'FR'])[1 + g % 3] FROM generate_series(1, 20000) AS g;
-- 100,000 events over half a year; contacts 20,001 to 20,500 do not exist.
INSERT INTO bp.events (contact_id, event_type, occurred_at, props)
SELECT 1 + (g * 7919) % 20500, (ARRAY['visit', 'visit', 'demo', 'bounce', 'webinar'])[1 + (g * 13) % 5],
       '2024-06-30'::timestamptz - ((g::bigint * 104729) % (180 * 24)) * interval '1 hour',
       jsonb_build_object('url', (ARRAY['/pricing', '/blog'])[1 + g % 2])
  FROM generate_series(1, 100000) AS g;
SELECT lead_score.create_profile('Bounded', settings => '{"pql_threshold": 60}') > 0 AS created;
SELECT count(lead_score.add_rule('Bounded', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 20}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 3, "half_life": "7 days"}'),
  ('Pricing', '{"kind": "event", "event": "visit", "when": {"field": "props.url", "op": "eq", "value": "/pricing"}, "points": 5, "half_life": "30 days"}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 25, "half_life": "30 days", "count": "once"}'),
  ('Bounce', '{"kind": "event", "event": "bounce", "points": -5, "half_life": "3 days"}'),
  ('Webinar', '{"kind": "event", "event": "webinar", "points": 10, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Bounded');
SELECT lead_score.attach('Bounded', 'bp.contacts', 'bp.events', '{"view": "bp_scores", "event_props": "props"}');
ANALYZE bp.contacts, bp.events;
SELECT lead_score.adjust('Bounded', 17::bigint, 50, 'met at a fair') > 0 AS adjusted;
SELECT lead_score.adjust('Bounded', 19999::bigint, -20, 'bounced') > 0 AS adjusted;
-- Scored in one pass (1 GB is plenty for 20,000 contacts).
SET maintenance_work_mem = '1GB';
SELECT lead_score.rescore('Bounded') AS rescored;
CREATE TABLE bp.one_pass AS SELECT id, score, fit_score, engagement_score, is_pql, disqualified FROM lead_score.bp_scores;
CREATE TABLE bp.at_one_pass AS SELECT * FROM lead_score.scores_at('Bounded', '2024-05-01');
SELECT count(*) AS contacts, count(*) FILTER (WHERE score > 0) AS scoring, round(sum(score)::numeric, 6) AS total FROM bp.one_pass;

-- Attached again from nothing with the smallest maintenance_work_mem, then rescored: the
-- pass says (at DEBUG1) that it works a key range at a time.
SET maintenance_work_mem = '1MB';
SELECT lead_score.detach('Bounded');
SELECT lead_score.attach('Bounded', 'bp.contacts', 'bp.events', '{"view": "bp_scores", "event_props": "props"}');
SET client_min_messages = debug1;
\set VERBOSITY terse
SELECT lead_score.rescore('Bounded') AS rescored;
RESET client_min_messages;
\set VERBOSITY default
-- The same scores, every contact, and nothing for verify to report (itself in ranges).
SELECT count(*) AS differ FROM bp.one_pass o FULL JOIN lead_score.bp_scores s USING (id)
 WHERE (o.score, o.fit_score, o.engagement_score, o.is_pql, o.disqualified)
       IS DISTINCT FROM (s.score, s.fit_score, s.engagement_score, s.is_pql, s.disqualified);
SELECT count(*) AS verify_rows FROM lead_score.verify('Bounded');
-- scores_at in ranges: the same rows, in key order.
SELECT count(*) AS differ FROM bp.at_one_pass o FULL JOIN lead_score.scores_at('Bounded', '2024-05-01') a USING (contact)
 WHERE (o.score, o.disqualified) IS DISTINCT FROM (a.score, a.disqualified);
SELECT bool_and(later > earlier) AS in_key_order FROM (
  SELECT contact::bigint AS later, lag(contact::bigint) OVER (ROWS UNBOUNDED PRECEDING) AS earlier
    FROM lead_score.scores_at('Bounded', '2024-05-01')) k WHERE earlier IS NOT NULL;
-- A draft previewed in ranges: every contact, ranked as the published version ranks them.
SELECT lead_score.add_rule('Bounded', 'Demo twice', '{"kind": "event", "event": "demo", "points": 10, "half_life": "30 days"}') > 0 AS added;
SELECT count(*) AS previewed, count(*) FILTER (WHERE p.active_score IS DISTINCT FROM o.score) AS active_differs
  FROM lead_score.preview('Bounded') p JOIN bp.one_pass o ON o.id = p.contact::bigint;
-- Publishing it in ranges gives what publishing it in one pass gives.
SELECT lead_score.publish('Bounded') AS version;
CREATE TABLE bp.ranged_publish AS SELECT id, score FROM lead_score.bp_scores;
SET maintenance_work_mem = '1GB';
SELECT lead_score.rescore('Bounded') AS rescored;
SELECT count(*) AS differ FROM bp.ranged_publish r JOIN lead_score.bp_scores s USING (id) WHERE r.score IS DISTINCT FROM s.score;
SELECT count(*) AS verify_rows FROM lead_score.verify('Bounded');

-- Text keys: the contacts' key sorts in the database's collation, the events' column in
-- "C"; keys differ in case, and a range's bounds fall between them in byte order.
CREATE TABLE bp.people (email text PRIMARY KEY, country text);
CREATE TABLE bp.visits (id bigserial PRIMARY KEY, email text COLLATE "C", kind text, at timestamptz);
CREATE INDEX ON bp.visits (email, at);
INSERT INTO bp.people
SELECT (ARRAY['ann', 'Bob', 'cy', 'Dee', 'éva', 'Zoë'])[1 + g % 6] || g || '@example.com', (ARRAY['US', 'DE'])[1 + g % 2]
  FROM generate_series(1, 12000) AS g;
INSERT INTO bp.visits (email, kind, at)
SELECT (ARRAY['ann', 'Bob', 'cy', 'Dee', 'éva', 'Zoë'])[1 + (g * 31) % 6] || (1 + (g * 7919) % 12100) || '@example.com',
       (ARRAY['visit', 'demo'])[1 + g % 2], '2024-06-30'::timestamptz - (g % 2000) * interval '1 hour'
  FROM generate_series(1, 60000) AS g;
SELECT lead_score.create_profile('Texts') > 0 AS created;
SELECT count(lead_score.add_rule('Texts', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 20}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 3, "half_life": "7 days"}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 25, "half_life": "30 days", "count": {"max": 2}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Texts');
SET maintenance_work_mem = '1GB';
SELECT lead_score.attach('Texts', 'bp.people', 'bp.visits', '{"view": "people_scores", "contact_key": "email", "event_contact": "email", "event_type": "kind", "event_time": "at"}');
ANALYZE bp.people, bp.visits;
CREATE TABLE bp.texts_one_pass AS SELECT email, score FROM lead_score.people_scores;
SET maintenance_work_mem = '1MB';
SELECT lead_score.detach('Texts');
SELECT lead_score.attach('Texts', 'bp.people', 'bp.visits', '{"view": "people_scores", "contact_key": "email", "event_contact": "email", "event_type": "kind", "event_time": "at"}');
SET client_min_messages = debug1;
\set VERBOSITY terse
SELECT lead_score.rescore('Texts') AS rescored;
RESET client_min_messages;
\set VERBOSITY default
SELECT count(*) AS contacts, count(*) FILTER (WHERE o.score IS DISTINCT FROM s.score) AS differ
  FROM bp.texts_one_pass o FULL JOIN lead_score.people_scores s USING (email);
SELECT count(*) AS verify_rows FROM lead_score.verify('Texts');
RESET maintenance_work_mem;

SELECT lead_score.drop_profile('Bounded');
SELECT lead_score.drop_profile('Texts');
DROP SCHEMA bp CASCADE;
