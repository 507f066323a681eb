-- train(): its bad inputs, at most 400 candidates, values beyond float8's and
-- timestamptz's ranges, json properties that are no jsonb, a cancelled run, and who may
-- train; nothing is written when it fails. (Learning itself: train_learning.sql.)
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-07-01 00:00:00+00';

-- The CRM, outcomes and attached profile of train_learning.sql, with its later events
-- (not trained: each check below is that a failed train leaves the draft as it was).
\o /dev/null
CREATE SCHEMA tr;
-- Deterministic uniform numbers in [0, 1) for row n of stream s.
CREATE FUNCTION tr.r(n bigint, s integer) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT (hashint8extended(n, s) & 9007199254740991)::float8 / 9007199254740992 $$;
CREATE TABLE tr.accounts (id bigint PRIMARY KEY, employees integer);
CREATE TABLE tr.contacts (id bigint PRIMARY KEY, account_id bigint, role text, decision_maker boolean, email text,
                          created timestamptz);
CREATE TABLE tr.events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz, props jsonb);
CREATE INDEX ON tr.events (contact_id, at);
INSERT INTO tr.accounts SELECT g, greatest(1, round(exp(tr.r(g, 1) * ln(5000))))::int FROM generate_series(1, 300) AS g;
INSERT INTO tr.contacts
SELECT g, 1 + floor(tr.r(g, 2) * 300)::bigint,
       (ARRAY['vp', 'manager', 'engineer', 'student'])[1 + floor(tr.r(g, 3) * 4)::int],
       tr.r(g, 4) < 0.3, 'person' || g || '@example.com', '2023-06-01'::timestamptz + tr.r(g, 6) * interval '300 days'
  FROM generate_series(1, 4000) AS g;
-- Up to three demos, pages and webinars each, between March and the end of June.
INSERT INTO tr.events (contact_id, kind, at, props)
SELECT c, k.kind, '2024-03-01'::timestamptz + tr.r(c * 10 + i, 5 + k.n) * interval '120 days',
       CASE k.kind WHEN 'page_view' THEN jsonb_build_object('url', CASE WHEN tr.r(c * 10 + i, 30) < 0.3 THEN '/pricing' ELSE '/blog' END)
                   WHEN 'demo' THEN jsonb_build_object('seats', 1 + floor(tr.r(c * 10 + i, 31) * 50)::int) END
  FROM generate_series(1, 4000) AS c,
       (VALUES (1, 'demo'), (2, 'page_view'), (3, 'webinar')) AS k(n, kind),
       generate_series(1, 3) AS i
 WHERE tr.r(c * 10 + i, 10 + k.n) < CASE k.kind WHEN 'demo' THEN 0.25 ELSE 0.5 END;
-- Decided on June 1st; the planted model over what was known then:
--   logit = -2 + 1.2 [vp] - 1.5 [student] + 0.8 [decision maker] + 0.7 [500+ employees]
--           + 0.9 x demos halving every 30 days (pages and webinars: no effect)
CREATE TABLE tr.outcomes (id bigint, converted boolean, decided timestamptz, split text, planted float8);
INSERT INTO tr.outcomes
SELECT c.id, tr.r(c.id, 20) < p, '2024-06-01',
       CASE WHEN tr.r(c.id, 21) < 0.6 THEN 'train' WHEN tr.r(c.id, 21) < 0.8 THEN 'valid' ELSE 'test' END, p
  FROM tr.contacts c JOIN tr.accounts a ON a.id = c.account_id
 CROSS JOIN LATERAL (SELECT coalesce(sum(power(2, -extract(epoch FROM '2024-06-01'::timestamptz - e.at) / (30 * 86400))), 0) AS demos
                       FROM tr.events e WHERE e.contact_id = c.id AND e.kind = 'demo' AND e.at <= '2024-06-01') d
 CROSS JOIN LATERAL (SELECT 1 / (1 + exp(-(-2 + 1.2 * (c.role = 'vp')::int - 1.5 * (c.role = 'student')::int
                                          + 0.8 * c.decision_maker::int + 0.7 * (a.employees >= 500)::int
                                          + 0.9 * d.demos))) AS p) m;
-- (A row without an outcome is ignored, and counted.)
INSERT INTO tr.outcomes VALUES (9999, NULL, '2024-06-01', 'train', 0.5);
SELECT split, count(*) AS contacts, count(*) FILTER (WHERE converted) AS converted FROM tr.outcomes GROUP BY 1 ORDER BY 1;

-- A profile to learn into: attached (its tables are where the features come from),
-- with a hand-set rule and a disqualifier in its draft.
SELECT lead_score.create_profile('Learned') > 0 AS created;
SELECT lead_score.add_rule('Learned', 'Hand-set', '{"kind": "event", "event": "page_view", "points": 5}') > 0 AS added;
SELECT lead_score.add_rule('Learned', 'No students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}') > 0 AS added;
SELECT lead_score.publish('Learned') AS version;
SELECT lead_score.attach('Learned', 'tr.contacts', 'tr.events', '{"accounts": "tr.accounts", "event_type": "kind", "event_time": "at", "event_props": "props"}');
INSERT INTO tr.events (contact_id, kind, at, props)
SELECT g, 'demo', '2024-06-20', '{"seats": 1000}'::jsonb FROM generate_series(1, 4000, 3) AS g
UNION ALL
SELECT g, 'page_view', '2024-06-21'::timestamptz + i * interval '1 hour', '{"url": "/launch"}'
  FROM generate_series(1, 4000, 3) AS g, generate_series(1, 2) AS i
UNION ALL
SELECT g, 'trial', '2024-06-22', '{"plan": "pro"}' FROM generate_series(1, 4000, 2) AS g;
\o

-- Bad inputs.
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "value_names": "no"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "subset": "test"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "train": "fit"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "points_per_doubling": 0}');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE tr.few AS SELECT id, id % 300 = 0 AS converted FROM tr.contacts;
SELECT * FROM lead_score.train('Learned', 'tr.few', '{"key": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "split": "split", "valid": "none"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Unattached') > 0 AS created;
SELECT * FROM lead_score.train('Unattached', 'tr.outcomes', '{"key": "id"}');
\echo :LAST_ERROR_SQLSTATE
-- At most 400 candidate rules (54000): a contacts table of 80 text columns, each with
-- six frequent values, offers 480.
CREATE TABLE tr.wide (id bigint PRIMARY KEY);
DO $$ BEGIN
  EXECUTE (SELECT format('ALTER TABLE tr.wide %s', string_agg(format('ADD COLUMN c%s text', c), ', ')) FROM generate_series(1, 80) c);
END $$;
INSERT INTO tr.wide (id) SELECT g FROM generate_series(1, 600) g;
DO $$ BEGIN
  EXECUTE (SELECT format('UPDATE tr.wide SET %s', string_agg(format('c%s = %L || (id %% 6)', c, 'v'), ', ')) FROM generate_series(1, 80) c);
END $$;
CREATE TABLE tr.wide_events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
CREATE TABLE tr.wide_outcomes AS SELECT id, id % 3 = 0 AS converted FROM tr.wide;
SELECT lead_score.create_profile('Wide') > 0 AS created;
SELECT lead_score.add_rule('Wide', 'Any visit', '{"kind": "event", "event": "visit", "points": 1}') > 0 AS added;
SELECT lead_score.publish('Wide') AS version;
SELECT lead_score.attach('Wide', 'tr.wide', 'tr.wide_events', '{"event_type": "kind", "event_time": "at"}');
SELECT * FROM lead_score.train('Wide', 'tr.wide_outcomes', '{"key": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.detach('Wide');
SELECT lead_score.drop_profile('Wide');
-- Values beyond float8's and timestamptz's ranges are read as scoring reads them, never
-- failing the train: a numeric 1e400 (and -1e400, and 1e-400, too small for a float8),
-- a date of the year 300000, and a timestamp that is past timestamptz's end once read
-- in New York's time zone. The quartiles are those of the other values: three for
-- each column, as plain SQL finds them (below).
CREATE TABLE tr.extreme (id bigint PRIMARY KEY, amount numeric, seen date, stamped timestamp);
INSERT INTO tr.extreme SELECT g, g, DATE '2024-06-01' - g, TIMESTAMP '2024-06-01' - g * INTERVAL '1 day'
  FROM generate_series(1, 300) g;
UPDATE tr.extreme SET amount = 1e400, seen = '300000-01-01', stamped = '294276-12-31 23:00' WHERE id = 1;
UPDATE tr.extreme SET amount = -1e400, seen = '4713-01-01 BC', stamped = '4714-11-24 00:00 BC' WHERE id = 2;
UPDATE tr.extreme SET amount = 1e-400 WHERE id = 3;
CREATE TABLE tr.extreme_events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
CREATE TABLE tr.extreme_outcomes AS SELECT id, id % 3 = 0 AS converted FROM tr.extreme;
SELECT lead_score.create_profile('Extreme') > 0 AS created;
SELECT lead_score.add_rule('Extreme', 'Any visit', '{"kind": "event", "event": "visit", "points": 1}') > 0 AS added;
SELECT lead_score.publish('Extreme') AS version;
SELECT lead_score.attach('Extreme', 'tr.extreme', 'tr.extreme_events', '{"event_type": "kind", "event_time": "at"}');
SET timezone = 'America/New_York';
SELECT metric, value FROM lead_score.train('Extreme', 'tr.extreme_outcomes', '{"key": "id"}')
 WHERE metric IN ('contacts', 'ignored', 'candidates');
SET timezone = 'UTC';
SELECT c, count(DISTINCT q) AS quartiles FROM (
    SELECT 'amount', unnest(percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY amount))::text FROM tr.extreme WHERE id > 3
    UNION ALL SELECT 'seen', unnest(percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY seen))::text FROM tr.extreme WHERE id > 1
    UNION ALL SELECT 'stamped', unnest(percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY stamped))::text FROM tr.extreme WHERE id > 2) quartiles(c, q)
 GROUP BY c ORDER BY c;
SELECT lead_score.detach('Extreme');
-- A json properties column holding "\u0000" (legal json, not legal jsonb): such an
-- event's properties offer no candidates, and the train goes on.
CREATE TABLE tr.json_events (contact_id bigint, kind text, at timestamptz, props json);
INSERT INTO tr.json_events SELECT id, 'visit', '2024-06-01', CASE WHEN id % 2 = 0 THEN '{"page": "a\u0000"}' ELSE '{"page": "b"}' END::json
  FROM tr.extreme;
SELECT lead_score.attach('Extreme', 'tr.extreme', 'tr.json_events', '{"event_type": "kind", "event_time": "at", "event_props": "props"}');
SELECT metric, value FROM lead_score.train('Extreme', 'tr.extreme_outcomes', '{"key": "id"}')
 WHERE metric IN ('contacts', 'ignored');
SELECT lead_score.detach('Extreme');
SELECT lead_score.drop_profile('Extreme');
-- A training run (about 120 ms on a quiet 2-core machine) can be cancelled: under a
-- statement_timeout it stops within a second (57014), whichever of its loops it is in,
-- and writes nothing.
CREATE TEMP TABLE draft_uncancelled AS
SELECT rule_name, rule FROM lead_score.rules WHERE profile = 'Learned' AND is_draft;
CREATE FUNCTION tr.cancelled(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  EXECUTE call;
  RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
  RETURN SQLSTATE || CASE WHEN clock_timestamp() - started < interval '1 second'
                          THEN ' within a second' ELSE ' too late' END;
END
$$;
SET statement_timeout = '25ms';
SELECT tr.cancelled($$SELECT count(*) FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "as_of": "decided", "split": "split"}')$$) AS train;
RESET statement_timeout;
SELECT count(*) AS rules_changed
  FROM (SELECT rule_name, rule FROM lead_score.rules WHERE profile = 'Learned' AND is_draft) a
  FULL JOIN draft_uncancelled b USING (rule_name)
 WHERE a.rule IS DISTINCT FROM b.rule;
-- Who may train: a role that may read everything but not edit profiles is refused
-- before any work; one that may edit but not read the outcomes, or whom row-level
-- security on the contacts restricts, too; nothing is written either way.
CREATE TEMP TABLE draft_now AS
SELECT rule_name, rule FROM lead_score.rules WHERE profile = 'Learned' AND is_draft;
CREATE ROLE tr_analyst;
CREATE ROLE tr_editor;
GRANT USAGE ON SCHEMA tr TO tr_analyst, tr_editor;
GRANT SELECT ON ALL TABLES IN SCHEMA tr TO tr_analyst;
GRANT SELECT ON tr.contacts, tr.events, tr.accounts TO tr_editor;
GRANT EXECUTE ON FUNCTION lead_score.train TO tr_analyst, tr_editor;
GRANT EXECUTE ON FUNCTION lead_score.add_rule, lead_score.remove_rule, lead_score.update_profile TO tr_editor;
SET ROLE tr_analyst;
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "as_of": "decided"}');
\echo :LAST_ERROR_SQLSTATE
SET ROLE tr_editor;
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "as_of": "decided"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON tr.outcomes TO tr_editor;
ALTER TABLE tr.contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY first_hundred ON tr.contacts FOR SELECT USING (id <= 100);
SET ROLE tr_editor;
SELECT * FROM lead_score.train('Learned', 'tr.outcomes', '{"key": "id", "as_of": "decided"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER TABLE tr.contacts DISABLE ROW LEVEL SECURITY;
SELECT count(*) AS rules_changed
  FROM (SELECT rule_name, rule FROM lead_score.rules WHERE profile = 'Learned' AND is_draft) a
  FULL JOIN draft_now b USING (rule_name)
 WHERE a.rule IS DISTINCT FROM b.rule;

-- Columns that say who a contact is (names, emails, nearly unique text) offer no
-- candidates, even when their values happen to predict the outcome, unless the
-- "identifiers" option names them; a category named like one (plan_name) stays.
CREATE TABLE tr.people (id bigint PRIMARY KEY, first_name text, work_email text, plan_name text, ref_code text);
INSERT INTO tr.people
SELECT g, (ARRAY['Ann', 'Bob', 'Cy', 'Dee', 'Eve'])[1 + g % 5], 'p' || g || '@example.com',
       (ARRAY['free', 'pro', 'team'])[1 + (g / 5) % 3], md5(g::text)
  FROM generate_series(1, 3000) AS g;
CREATE TABLE tr.people_events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
CREATE INDEX ON tr.people_events (contact_id, at);
-- Ann and Bob convert more; so does the pro plan.
CREATE TABLE tr.people_outcomes AS
SELECT p.id, tr.r(p.id, 40) < CASE WHEN p.first_name IN ('Ann', 'Bob') THEN 0.5 ELSE 0.2 END
                                + CASE WHEN p.plan_name = 'pro' THEN 0.3 ELSE 0 END AS converted
  FROM tr.people p;
SELECT lead_score.create_profile('People') > 0 AS created;
SELECT lead_score.add_rule('People', 'Pro', '{"kind": "fit", "when": {"field": "plan_name", "op": "eq", "value": "pro"}, "points": 5}') > 0 AS added;
SELECT lead_score.publish('People') AS version;
SELECT lead_score.attach('People', 'tr.people', 'tr.people_events', '{"event_type": "kind", "event_time": "at"}');
SELECT metric, value FROM lead_score.train('People', 'tr.people_outcomes') WHERE metric IN ('candidates', 'rules');
SELECT rule_name FROM lead_score.rules WHERE profile = 'People' AND is_draft ORDER BY rule_name;
SELECT metric, value FROM lead_score.train('People', 'tr.people_outcomes', '{"identifiers": ["first_name"]}')
 WHERE metric IN ('candidates', 'rules');
SELECT rule_name FROM lead_score.rules WHERE profile = 'People' AND is_draft ORDER BY rule_name;
-- The option's bad inputs: not an array, not names, a column train does not learn from.
SELECT * FROM lead_score.train('People', 'tr.people_outcomes', '{"identifiers": "first_name"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.train('People', 'tr.people_outcomes', '{"identifiers": ["first_name", 7]}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.train('People', 'tr.people_outcomes', '{"identifiers": ["nickname"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.train('People', 'tr.people_outcomes', '{"identifiers": ["id"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.drop_profile('People');

SELECT lead_score.detach('Learned');
SELECT lead_score.drop_profile('Learned');
SELECT lead_score.drop_profile('Unattached');
DROP SCHEMA tr CASCADE;
DROP OWNED BY tr_analyst;
DROP OWNED BY tr_editor;
DROP ROLE tr_analyst;
DROP ROLE tr_editor;
