-- explain(): one row per rule behind a contact's score, adding up to it; its bad inputs;
-- who may call it.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA x;
CREATE TABLE x.accounts (id integer PRIMARY KEY, employees integer);
CREATE TABLE x.contacts (id integer PRIMARY KEY, account_id integer, role text, country text);
CREATE TABLE x.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz, props jsonb);
INSERT INTO x.accounts VALUES (1, 500), (2, 10);
INSERT INTO x.contacts SELECT g, 1 + g % 2, CASE WHEN g % 5 = 0 THEN 'student' ELSE 'buyer' END,
                              (ARRAY['US', 'DE'])[1 + g % 2]
  FROM generate_series(1, 40) AS g;
SELECT lead_score.create_profile('Why', settings => '{"half_life": "30 days", "pql_threshold": 30}') > 0 AS created;
SELECT count(lead_score.add_rule('Why', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}'),
  ('Big account', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 100}, "points": 5}'),
  ('Pricing', '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "eq", "value": "/pricing"}, "points": 3, "dimension": "intent"}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 20, "count": "once"}'),
  ('Recent visit', '{"kind": "event", "event": "visit", "points": 2, "within": "14 days", "half_life": null}'),
  ('Cancelled', '{"kind": "event", "event": "cancel", "points": -10, "half_life": "2 days"}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Why') AS version;
SELECT lead_score.attach('Why', 'x.contacts', 'x.events', '{"accounts": "accounts", "event_type": "kind", "event_time": "at", "event_props": "props"}');
INSERT INTO x.events (contact_id, kind, at, props)
SELECT 1 + g % 40, (ARRAY['page_view', 'visit', 'demo', 'cancel', 'webinar'])[1 + (g / 40) % 5],
       '2024-04-01'::timestamptz + g * interval '7 hours',
       jsonb_build_object('url', CASE WHEN g % 3 = 0 THEN '/pricing' ELSE '/' END)
  FROM generate_series(1, 400) AS g;
-- Contact 4 (US, a big account) is busy in May; a visit and a demo lie ahead.
INSERT INTO x.events (contact_id, kind, at, props) VALUES
  (4, 'page_view', '2024-05-20', '{"url": "/pricing"}'), (4, 'demo', '2024-05-25', NULL),
  (4, 'visit', '2024-05-30', NULL), (4, 'cancel', '2024-05-31', NULL),
  (4, 'visit', '2024-06-20', NULL), (4, 'demo', '2024-07-01', NULL);

-- Contact 4, rule by rule, largest first; the points add up to its score.
SELECT rule_name, kind, dimension, events, round(points::numeric, 6) AS points FROM lead_score.explain('Why', 4);
SELECT round(sum(points)::numeric, 9) = round(lead_score.score('Why', 4)::numeric, 9) AS adds_up
  FROM lead_score.explain('Why', 4);
-- A disqualified contact: its disqualifier, without points, last.
SELECT rule_name, kind, points FROM lead_score.explain('Why', 5) ORDER BY points IS NULL DESC LIMIT 1;

-- For every contact, at three instants (tick() applies what came due), the sum of the
-- explanation is the score within 1e-9.
CREATE FUNCTION pg_temp.mismatches() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM x.contacts c
     WHERE abs(coalesce((SELECT sum(e.points) FROM lead_score.explain('Why', c.id) e), 0)
               - lead_score.score('Why', c.id)) > 1e-9 * greatest(1, abs(lead_score.score('Why', c.id)))
$$;
SELECT pg_temp.mismatches() AS at_june_1st;
SET lead_score.now = '2024-06-25 00:00:00+00';
SELECT count(*) > 0 AS ticked FROM lead_score.tick();
SELECT pg_temp.mismatches() AS at_june_25th;
SET lead_score.now = '2024-09-01 00:00:00+00';
SELECT count(*) > 0 AS ticked FROM lead_score.tick();
SELECT pg_temp.mismatches() AS at_september_1st;
SELECT count(*) AS differences FROM lead_score.verify('Why');

-- explain(at) recomputes from history as of `at`. Now (September) the visits have left
-- their 14-day window and the demo counts once; on June 1st one visit was recent; on
-- June 21st the second one too.
SELECT rule_name, events, round(points::numeric, 6) AS points
  FROM lead_score.explain('Why', 4) WHERE rule_name IN ('Demo', 'Recent visit') ORDER BY 1;
SELECT rule_name, events, round(points::numeric, 6) AS points
  FROM lead_score.explain('Why', 4, '2024-06-01 00:00:00+00') WHERE rule_name IN ('Demo', 'Recent visit') ORDER BY 1;
SELECT rule_name, events FROM lead_score.explain('Why', 4, '2024-06-21') WHERE rule_name = 'Recent visit';
-- The key in its own type or as text, spelled any way its type reads it.
SELECT (SELECT array_agg(e.rule_name) FROM lead_score.explain('Why', 4) e)
     = (SELECT array_agg(e.rule_name) FROM lead_score.explain('Why', '004') e) AS same;

-- Bad inputs: an unknown contact explains nothing; NULLs explain nothing; unknown or
-- unattached profiles and malformed keys are errors.
SELECT count(*) AS rows FROM lead_score.explain('Why', 999);
SELECT count(*) AS rows FROM lead_score.explain('Why', NULL::integer);
SELECT count(*) AS rows FROM lead_score.explain(NULL, 1);
SELECT * FROM lead_score.explain('Nope', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Unattached') > 0 AS created;
SELECT * FROM lead_score.explain('Unattached', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.explain('Why', 'one');
\echo :LAST_ERROR_SQLSTATE

-- Who may call it: a reader who may see the contacts but not the events is refused
-- (an explanation shows what the events hold); one who may read every attached table
-- sees the contacts it may see, and no others.
CREATE ROLE why_reader;
GRANT USAGE ON SCHEMA x TO why_reader;
GRANT SELECT ON x.contacts, x.accounts TO why_reader;
SET ROLE why_reader;
SELECT * FROM lead_score.explain('Why', 1);
\echo :LAST_ERROR_SQLSTATE
-- The same for a score recomputed at another time (it shows when the events happened);
-- the stored score at the clock's time stays readable.
SELECT lead_score.score('Why', 4, '2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM lead_score.score_history('Why', 4, '2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.score('Why', 4) > 0 AS stored_score_readable;
RESET ROLE;
GRANT SELECT ON x.events TO why_reader;
ALTER TABLE x.contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_us ON x.contacts FOR SELECT TO why_reader USING (country = 'US');
SET ROLE why_reader;
SELECT count(*) > 0 AS explains_a_us_contact FROM lead_score.explain('Why', 4);
SELECT lead_score.score('Why', 4, '2024-06-01') > 0 AS recomputes_a_us_contact,
       lead_score.score('Why', 3, '2024-06-01') IS NULL AS not_a_de_contact;
SELECT count(*) AS rows_for_a_de_contact FROM lead_score.explain('Why', 3);
RESET ROLE;
-- Policies on the events table that apply to the reader would hide events the
-- recomputation counts: refused.
ALTER TABLE x.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY recent_only ON x.events FOR SELECT TO why_reader USING (at > '2024-05-15');
SET ROLE why_reader;
SELECT count(*) FROM lead_score.explain('Why', 4);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP POLICY recent_only ON x.events;
ALTER TABLE x.events DISABLE ROW LEVEL SECURITY;
DROP POLICY only_us ON x.contacts;
ALTER TABLE x.contacts DISABLE ROW LEVEL SECURITY;
DROP OWNED BY why_reader;
DROP ROLE why_reader;

-- A renamed profile is found under its new name at once, cached readers included, and
-- no longer under its old one.
SELECT lead_score.score('Why', 4) IS NOT NULL AS before_rename;
SELECT lead_score.update_profile('Why', new_name => 'Why renamed');
SELECT lead_score.score('Why renamed', 4) IS NOT NULL AS after_rename;
SELECT lead_score.score('Why', 4);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Why renamed', new_name => 'Why');
SELECT lead_score.detach('Why');
SELECT lead_score.drop_profile('Why');
SELECT lead_score.drop_profile('Unattached');
DROP SCHEMA x CASCADE;
