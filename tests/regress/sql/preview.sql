-- preview(): every contact scored with the draft (or another version) beside its score
-- now, writing nothing; then publish does exactly what it said. preview_summary() in
-- numbers. Bad inputs and who may call them.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA pv;
CREATE TABLE pv.contacts (id integer PRIMARY KEY, role text, country text);
CREATE TABLE pv.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz);
CREATE INDEX ON pv.events (contact_id, at);
INSERT INTO pv.contacts SELECT g, CASE WHEN g % 9 = 0 THEN 'student' ELSE 'buyer' END, (ARRAY['US', 'DE', 'UK'])[1 + g % 3]
  FROM generate_series(1, 30) AS g;
INSERT INTO pv.events (contact_id, kind, at)
SELECT 1 + g % 30, (ARRAY['visit', 'demo', 'webinar', 'visit'])[1 + (g / 30) % 4], '2024-05-01'::timestamptz + g * interval '2 hours'
  FROM generate_series(1, 300) AS g;
SELECT lead_score.create_profile('Plan', settings => '{"half_life": "30 days", "pql_threshold": 60, "thresholds": {"MQL": 30}}') > 0 AS created;
SELECT count(lead_score.add_rule('Plan', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 5}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 2}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10, "count": {"max": 3}}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Plan') AS version;
SELECT lead_score.attach('Plan', 'pv.contacts', 'pv.events', '{"event_type": "kind", "event_time": "at"}');

-- The draft: webinars count, UK counts as fit, students are no longer held back but
-- Germans are, and PQL comes at 40, low enough that the best new scores (about 40.7)
-- reach it while the active 60 is far off: only the draft's thresholds tag PQL.
SELECT lead_score.add_rule('Plan', 'Webinar', '{"kind": "event", "event": "webinar", "points": 6}') > 0 AS added;
SELECT lead_score.update_rule('Plan', 'US', '{"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 5}');
SELECT lead_score.remove_rule('Plan', 'Students');
SELECT lead_score.add_rule('Plan', 'Germans', '{"kind": "disqualifier", "when": {"field": "country", "op": "eq", "value": "DE"}}') > 0 AS added;
SELECT lead_score.update_profile('Plan', settings => '{"half_life": "30 days", "pql_threshold": 40, "thresholds": {"MQL": 30}}');

-- What the tables hold before the preview.
SELECT format('lead_score.%I', state_table) AS state FROM lead_score.attachment_store a
  JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Plan' \gset
CREATE TEMP VIEW held_now AS
SELECT (SELECT md5(string_agg(s::text, ',' ORDER BY s.contact_key)) FROM :state s) AS scores,
       (SELECT md5(string_agg(t::text, ',' ORDER BY t.profile_id, t.contact_key, t.tag)) FROM lead_score.tag_store t) AS tags,
       (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM lead_score.transitions t) AS transitions;
CREATE TEMP TABLE held AS SELECT * FROM held_now;
-- (Plan's own, of them: the tags of version 1 given at attach.)
SELECT (SELECT count(*) FROM lead_score.tag_store t JOIN lead_score.profile_store p ON p.id = t.profile_id WHERE p.name = 'Plan') AS tags,
       (SELECT count(*) FROM lead_score.transitions WHERE profile = 'Plan') AS transitions;

SELECT contact, round(active_score::numeric, 6) AS active_score, round(new_score::numeric, 6) AS new_score,
       active_rank, new_rank, change
  FROM lead_score.preview('Plan') WHERE new_rank <= 8 OR change IS NOT NULL ORDER BY new_rank, contact::int;
SELECT metric, round(value::numeric, 6) AS value FROM lead_score.preview_summary('Plan');

-- The preview wrote nothing.
SELECT n.scores = h.scores AS scores_untouched, n.tags = h.tags AS tags_untouched,
       n.transitions = h.transitions AS transitions_untouched
  FROM held_now n, held h;
DROP VIEW held_now;

-- Publishing gives every contact exactly its new score and does exactly the listed changes.
CREATE TEMP TABLE previewed AS SELECT * FROM lead_score.preview('Plan');
SELECT max(id) AS last_transition FROM lead_score.transitions \gset
SELECT lead_score.publish('Plan') AS version;
SELECT count(*) AS contacts,
       count(*) FILTER (WHERE abs(p.new_score - lead_score.score('Plan', p.contact)) > 1e-9) AS scores_off
  FROM previewed p;
SELECT (SELECT coalesce(string_agg(p.contact || ': ' || p.change, '; ' ORDER BY p.contact::int), '')
          FROM previewed p WHERE p.change IS NOT NULL)
     = (SELECT coalesce(string_agg(t.contact || ': ' || t.changes, '; ' ORDER BY t.contact::int), '')
          FROM (SELECT t.contact, string_agg(t.kind || coalesce(' ' || t.tag, ''), ', ' ORDER BY t.id) AS changes
                  FROM lead_score.transitions t WHERE t.profile = 'Plan' AND t.id > :last_transition
                 GROUP BY t.contact) t) AS same_changes;
SELECT count(*) AS differences FROM lead_score.verify('Plan');

-- A published version can be previewed too: back to version 1.
SELECT count(*) AS contacts, count(*) FILTER (WHERE change IS NOT NULL) AS with_changes
  FROM lead_score.preview('Plan', 1);
-- With nothing in the draft, the draft's preview moves nothing.
SELECT count(*) FILTER (WHERE abs(new_score - active_score) > 1e-9 OR change IS NOT NULL) AS moved
  FROM lead_score.preview('Plan');

-- Bad inputs.
SELECT * FROM lead_score.preview('Nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.preview('Plan', 7);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Loose') > 0 AS created;
SELECT * FROM lead_score.preview('Loose');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Plan', 'Size', '{"kind": "fit", "when": {"field": "employees", "op": "gt", "value": 100}, "points": 3}') > 0 AS added;
SELECT * FROM lead_score.preview('Plan');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.remove_rule('Plan', 'Size');
SELECT count(*) AS rows FROM lead_score.preview(NULL);
-- preview_summary passes preview's errors on, and summarises nothing for NULL.
SELECT * FROM lead_score.preview_summary('Nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.preview_summary('Plan', 7);
\echo :LAST_ERROR_SQLSTATE
SELECT metric, value FROM lead_score.preview_summary(NULL) WHERE value <> 0 OR value IS NULL;

-- Only roles granted it may preview (it reads every contact's data).
CREATE ROLE pv_reader;
SET ROLE pv_reader;
SELECT * FROM lead_score.preview('Plan');
\echo :LAST_ERROR_SQLSTATE
SELECT metric, round(value::numeric, 6) AS value FROM lead_score.preview_summary('Plan');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT EXECUTE ON FUNCTION lead_score.preview, lead_score.preview_summary TO pv_reader;
SET ROLE pv_reader;
SELECT count(*) AS previewed FROM lead_score.preview('Plan');
RESET ROLE;
DROP OWNED BY pv_reader;
DROP ROLE pv_reader;

SELECT lead_score.detach('Plan');
SELECT lead_score.drop_profile('Plan');
SELECT lead_score.drop_profile('Loose');
DROP SCHEMA pv CASCADE;
