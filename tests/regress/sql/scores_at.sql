-- scores_at(): every contact as it stood at another time, recomputed from history in one
-- pass; equal to a recomputation in plain SQL, to explain() at that time, and at the
-- clock's time to the stored scores. Bad inputs and who may call it.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA sa;
CREATE TABLE sa.contacts (id integer PRIMARY KEY, country text);
CREATE TABLE sa.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz);
CREATE INDEX ON sa.events (contact_id, at);
INSERT INTO sa.contacts SELECT g, (ARRAY['US', 'DE'])[1 + g % 2] FROM generate_series(1, 25) AS g;
INSERT INTO sa.events (contact_id, kind, at)
SELECT 1 + g % 25, CASE WHEN g % 7 = 0 THEN 'demo' ELSE 'visit' END, '2024-05-01'::timestamptz + g * interval '5 hours'
  FROM generate_series(1, 140) AS g;
SELECT lead_score.create_profile('Then', settings => '{"half_life": "10 days", "pql_threshold": 12}') > 0 AS created;
SELECT count(lead_score.add_rule('Then', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 2}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10, "count": "once", "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Then') AS version;
SELECT lead_score.attach('Then', 'sa.contacts', 'sa.events', '{"event_type": "kind", "event_time": "at"}');

-- What the profile's tables hold before anything is asked of its past: the score rows,
-- the tags and the transitions (some contacts are over the PQL threshold now).
SELECT format('lead_score.%I', a.state_table) AS state, p.id AS profile_id FROM lead_score.attachment_store a
  JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Then' \gset
CREATE TEMP VIEW held_now AS
SELECT (SELECT md5(string_agg(s::text, ',' ORDER BY s.contact_key)) FROM :state s) AS scores,
       (SELECT md5(string_agg(t::text, ',' ORDER BY t.contact_key, t.tag)) FROM lead_score.tag_store t
         WHERE t.profile_id = :profile_id) AS tags,
       (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM lead_score.transitions t WHERE t.profile = 'Then') AS transitions;
CREATE TEMP TABLE held AS SELECT * FROM held_now;
SELECT (SELECT count(*) FROM :state) AS score_rows,
       (SELECT count(*) FROM lead_score.tag_store WHERE profile_id = :profile_id) AS tags,
       (SELECT count(*) FROM lead_score.transitions WHERE profile = 'Then') AS transitions;

-- On May 15th, before most of the history: each contact's fit, plus 2 points per visit
-- up to then halving every 10 days, plus 10 for a demo up to then (once).
CREATE TEMP TABLE plain AS
SELECT c.id::text AS contact,
       (c.country = 'US')::int
       + coalesce((SELECT sum(2 * power(2, -extract(epoch FROM '2024-05-15'::timestamptz - e.at) / 864000))
                     FROM sa.events e WHERE e.contact_id = c.id AND e.kind = 'visit' AND e.at <= '2024-05-15'), 0)
       + CASE WHEN EXISTS (SELECT FROM sa.events e WHERE e.contact_id = c.id AND e.kind = 'demo'
                              AND e.at <= '2024-05-15') THEN 10 ELSE 0 END AS score
  FROM sa.contacts c;
SELECT count(*) AS contacts,
       count(*) FILTER (WHERE abs(s.score - p.score) > 1e-9 * greatest(1, abs(p.score))) AS off_plain_sql,
       count(*) FILTER (WHERE abs(s.score - s.fit_score - s.engagement_score) > 1e-12) AS parts_off
  FROM lead_score.scores_at('Then', '2024-05-15') s JOIN plain p USING (contact);
SELECT contact, round(score::numeric, 6) AS score, fit_score, round(engagement_score::numeric, 6) AS engagement_score, disqualified
  FROM lead_score.scores_at('Then', '2024-05-15') ORDER BY contact::int LIMIT 3;
-- score(profile, contact, at) is exact at any time too, before the latest event as well.
SELECT count(*) FILTER (WHERE abs(lead_score.score('Then', p.contact, '2024-05-15') - p.score) > 1e-9 * greatest(1, abs(p.score)))
       AS score_at_off_plain_sql
  FROM plain p;
-- explain() at the same time agrees, contact by contact.
SELECT count(*) FILTER (WHERE abs(s.score - coalesce((SELECT sum(e.points) FROM lead_score.explain('Then', s.contact, '2024-05-15') e), 0)) > 1e-9)
       AS off_explain
  FROM lead_score.scores_at('Then', '2024-05-15') s;
-- Asking for the past wrote nothing: score rows, tags and transitions are as they were
-- (a score row stored as of May 15th would show here).
SELECT n.scores = h.scores AS scores_untouched, n.tags = h.tags AS tags_untouched,
       n.transitions = h.transitions AS transitions_untouched
  FROM held_now n, held h;
-- At the clock's time it is what the score rows say.
SELECT count(*) FILTER (WHERE abs(s.score - lead_score.score('Then', s.contact)) > 1e-9) AS off_stored
  FROM lead_score.scores_at('Then', lead_score.now()) s;
-- Nor did that write anything.
SELECT n.scores = h.scores AS scores_untouched, n.tags = h.tags AS tags_untouched,
       n.transitions = h.transitions AS transitions_untouched
  FROM held_now n, held h;
DROP VIEW held_now;
-- And the stored results are still right (verify() may write what is due: after the above).
SELECT count(*) AS differences FROM lead_score.verify('Then');

-- Bad inputs.
SELECT count(*) AS rows FROM lead_score.scores_at(NULL, now());
SELECT count(*) AS rows FROM lead_score.scores_at('Then', NULL);
SELECT * FROM lead_score.scores_at('Nope', now());
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Unattached') > 0 AS created;
SELECT * FROM lead_score.scores_at('Unattached', now());
\echo :LAST_ERROR_SQLSTATE

-- It shows every contact: only for roles granted it.
CREATE ROLE sa_reader;
SET ROLE sa_reader;
SELECT count(*) FROM lead_score.scores_at('Then', now());
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT EXECUTE ON FUNCTION lead_score.scores_at TO sa_reader;
SET ROLE sa_reader;
SELECT count(*) AS contacts FROM lead_score.scores_at('Then', now());
RESET ROLE;
DROP OWNED BY sa_reader;
DROP ROLE sa_reader;

SELECT lead_score.detach('Then');
SELECT lead_score.drop_profile('Then');
SELECT lead_score.drop_profile('Unattached');
DROP SCHEMA sa CASCADE;
