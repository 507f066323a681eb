-- The clock belongs to the owner: lead_score.now is superuser-only (the triggers date
-- what they record by it); a DBA delegates it with GRANT SET ON PARAMETER. And no
-- clock makes a score NaN or ±Infinity: readings far before a sum's anchor are bounded
-- (to ±1e100), never ∞ - ∞.
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- (Adjustment and transition ids are left as found, for the test files that show them.)
SELECT last_value AS adjustment_id, is_called AS adjustment_id_called
  FROM lead_score.adjustment_store_id_seq \gset
SELECT last_value AS transition_id, is_called AS transition_id_called
  FROM lead_score.transitions_id_seq \gset
CREATE ROLE clo_rep LOGIN;
CREATE ROLE clo_dba;
CREATE SCHEMA clo;
CREATE TABLE clo.contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE clo.events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
INSERT INTO clo.contacts VALUES (1, 'US'), (2, 'US'), (3, 'DE');
SELECT lead_score.create_profile('Clo', settings => '{"half_life": "30 days", "pql_threshold": 30}') > 0 AS created;
SELECT count(lead_score.add_rule('Clo', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 5}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Clo') AS version;
SELECT lead_score.attach('Clo', 'clo.contacts', 'clo.events', '{"event_type": "kind", "event_time": "at"}');
-- The rep writes events and may adjust.
GRANT USAGE ON SCHEMA clo TO clo_rep;
GRANT SELECT, INSERT ON clo.contacts, clo.events TO clo_rep;
GRANT USAGE ON SEQUENCE clo.events_id_seq TO clo_rep;
GRANT EXECUTE ON FUNCTION lead_score.adjust(text, text, float8, text, interval),
                          lead_score.adjust(text, anyelement, float8, text, interval) TO clo_rep;

-- 1. A plain role may not set the clock (42501): not with SET, SET LOCAL or
-- set_config(). The clock stays real.
SET ROLE clo_rep;
SET lead_score.now = '2200-01-01';
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL lead_score.now = '1999-01-01';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT pg_catalog.set_config('lead_score.now', '2100-01-01', false);
\echo :LAST_ERROR_SQLSTATE
SHOW lead_score.now;
SELECT lead_score.now() = now() AS real_clock;
-- So its adjustments and writes are dated by the real clock.
SELECT lead_score.adjust('Clo', 3, 1, 'real time') > 0 AS adjusted;
RESET ROLE;
SELECT abs(extract(epoch FROM clock_timestamp() - adjusted_at)) < 3600 AS dated_now
  FROM lead_score.adjustments WHERE profile = 'Clo';

-- 2. Set before the library is loaded (a fresh session: a placeholder, which Postgres
-- accepts from anyone), the value is checked against the role that set it when the
-- library loads: refused with a warning, and the write is scored at the real time.
\c - clo_rep
SET timezone = 'UTC';
SET lead_score.now = '2200-01-01';
INSERT INTO clo.events (contact_id, kind, at) VALUES (3, 'demo', now());
SHOW lead_score.now;
SELECT lead_score.now() = now() AS real_clock;
\c - postgres
SET timezone = 'UTC';
SELECT id, scored_at < '2100-01-01' AS scored_now, abs(extract(epoch FROM clock_timestamp() - scored_at)) < 3600 AS recently
  FROM lead_score."Clo_scores" WHERE id = 3;

-- 3. The DBA delegates the clock to a role with GRANT SET ON PARAMETER.
GRANT SET ON PARAMETER lead_score.now TO clo_dba;
SET ROLE clo_dba;
SET lead_score.now = '2024-06-01';
SELECT lead_score.now();
RESET ROLE;
RESET lead_score.now;
REVOKE SET ON PARAMETER lead_score.now FROM clo_dba;
SET ROLE clo_dba;
SET lead_score.now = '2024-06-01';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 4. The attack, as the superuser who may set the clock: +1e9 halving every hour and
-- -1e9 every two hours, adjusted at 2200, then the clock set back. Read at the real
-- clock both terms are bounded: the pair cancels (contact 1), the one-sided +1e9 reads
-- 1e+100 (contact 2), never NaN or Infinity; avg(score) is finite.
SET lead_score.now = '2200-01-01';
SELECT lead_score.adjust('Clo', 1, 1e9, 'up', '1 hour') > 0 AS up,
       lead_score.adjust('Clo', 1, -1e9, 'down', '2 hours') > 0 AS down,
       lead_score.adjust('Clo', 2, 1e9, 'up', '1 hour') > 0 AS one_sided;
SELECT id, score, engagement_score, score_100 FROM lead_score."Clo_scores" WHERE id IN (1, 2) ORDER BY id;
RESET lead_score.now;
SELECT id, score, engagement_score, score_100 FROM lead_score."Clo_scores" WHERE id IN (1, 2) ORDER BY id;
SELECT avg(score) < 'Infinity' AND avg(score) > '-Infinity' AS avg_finite,
       bool_and(score::text NOT IN ('NaN', 'Infinity', '-Infinity')
                AND engagement_score::text NOT IN ('NaN', 'Infinity', '-Infinity')) AS all_finite
  FROM lead_score."Clo_scores";
-- Later writes (the fast path and a full recomputation) and tick() keep it finite, in
-- 1999 and 2100 as well, and so do the scores transitions record.
INSERT INTO clo.events (contact_id, kind, at) VALUES (1, 'demo', now()), (2, 'demo', now());
UPDATE clo.contacts SET country = 'US' WHERE id = 1;
SELECT id, round(score::numeric, 4) AS score FROM lead_score."Clo_scores" WHERE id = 1;
-- tick() past 2200 rescores the contacts whose adjustments came due; read back at the
-- real clock, still finite.
SET lead_score.now = '2200-01-02';
SELECT checked, changed FROM lead_score.tick() WHERE profile = 'Clo';
RESET lead_score.now;
SELECT pg_catalog.format('lead_score.%I', a.state_table) AS state_table
  FROM lead_score.attachment_store a JOIN lead_score.profile_store p ON p.id = a.profile_id
 WHERE p.name = 'Clo' \gset
SELECT t.at, bool_and(lead_score.value_at(s.engagement, t.at)::text NOT IN ('NaN', 'Infinity', '-Infinity')
                      AND (s.fit + lead_score.value_at(s.engagement, t.at))::text NOT IN ('NaN', 'Infinity', '-Infinity')) AS all_finite
  FROM :state_table s
 CROSS JOIN (VALUES ('1999-01-01'::timestamptz), ('2100-01-01'), ('-infinity'), ('infinity')) AS t(at)
 GROUP BY t.at ORDER BY t.at;
SET lead_score.now = '1999-01-01';
SELECT id, score FROM lead_score."Clo_scores" WHERE id IN (1, 2) ORDER BY id;
SET lead_score.now = '2100-01-01';
SELECT id, score FROM lead_score."Clo_scores" WHERE id IN (1, 2) ORDER BY id;
RESET lead_score.now;
SELECT count(*) AS transitions,
       bool_and(score::text NOT IN ('NaN', 'Infinity', '-Infinity')) AS all_finite
  FROM lead_score.transitions WHERE profile = 'Clo';

-- 5. lead_score.value_at on such a sum, at any instant.
SELECT t.at, lead_score.value_at(
         '{"terms": [{"half_life": 3600, "anchor": 7258118400000000, "value": 1e9},
                     {"half_life": 7200, "anchor": 7258118400000000, "value": -1e9}]}', t.at) AS pair,
       lead_score.value_at('{"terms": [{"half_life": 3600, "anchor": 7258118400000000, "value": 1e9}]}', t.at) AS one_sided,
       lead_score.value_at('{"terms": [{"half_life": 0.000001, "anchor": 7258118400000000, "value": -1e9}]}', t.at) AS tiny_half_life
  FROM (VALUES ('-infinity'::timestamptz), ('1999-01-01'), ('2026-01-01'), ('2200-01-01'), ('infinity')) AS t(at)
 ORDER BY t.at;

SELECT lead_score.detach('Clo');
SELECT lead_score.drop_profile('Clo');
DELETE FROM lead_score.transitions WHERE profile = 'Clo';
SELECT pg_catalog.setval('lead_score.adjustment_store_id_seq', :adjustment_id, :'adjustment_id_called') > 0 AS ids_left_as_found,
       pg_catalog.setval('lead_score.transitions_id_seq', :transition_id, :'transition_id_called') > 0 AS transition_ids_left_as_found;
DROP SCHEMA clo CASCADE;
DROP OWNED BY clo_rep;
DROP OWNED BY clo_dba;
DROP ROLE clo_rep;
DROP ROLE clo_dba;
