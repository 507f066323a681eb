-- next_actions(): the positive event rules worth most to a contact now, without those
-- whose count limit it used up, with the tags they would give; its bad inputs.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA na;
CREATE TABLE na.contacts (id bigint PRIMARY KEY, role text);
CREATE TABLE na.events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz, props jsonb);
INSERT INTO na.contacts VALUES (1, 'buyer'), (2, 'buyer'), (3, 'student');
SELECT lead_score.create_profile('Next', settings => '{"half_life": "30 days", "pql_threshold": 40, "thresholds": {"MQL": 25}}') > 0 AS created;
SELECT count(lead_score.add_rule('Next', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Demo', '{"kind": "event", "event": "demo", "points": 20, "count": "once"}'),
  ('Trial', '{"kind": "event", "event": ["trial", "signup"], "points": 15}'),
  ('Pricing', '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "eq", "value": "/pricing"}, "points": 3}'),
  ('Webinar', '{"kind": "event", "event": "webinar", "points": 3}'),
  ('Cancelled', '{"kind": "event", "event": "cancel", "points": -10}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Next') AS version;
SELECT lead_score.attach('Next', 'na.contacts', 'na.events', '{"event_type": "kind", "event_time": "at", "event_props": "props"}');
-- Contact 1 had its demo (the once-only rule is used up) and a webinar: 23 points.
INSERT INTO na.events (contact_id, kind, at) VALUES (1, 'demo', '2024-06-01'), (1, 'webinar', '2024-06-01'), (3, 'trial', '2024-06-01');
SELECT id, score, tags FROM lead_score."Next_scores" ORDER BY id;

-- Contact 1: the trial would take it over MQL (25) but not PQL (40); no demo again.
SELECT * FROM lead_score.next_actions('Next', 1);
-- Contact 2 has done nothing: the demo would take it to 20; ties by rule name; all of them.
SELECT * FROM lead_score.next_actions('Next', 2, 10);
-- Contact 3 is disqualified: it would cross no threshold.
SELECT * FROM lead_score.next_actions('Next', '3', 1);

-- Bad inputs.
SELECT count(*) AS rows FROM lead_score.next_actions('Next', 1, 0);
SELECT count(*) AS rows FROM lead_score.next_actions('Next', 1, NULL);
SELECT * FROM lead_score.next_actions('Next', 1, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM lead_score.next_actions('Next', 999);
SELECT count(*) AS rows FROM lead_score.next_actions(NULL, 1);
SELECT * FROM lead_score.next_actions('Nope', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.next_actions('Next', 'x');
\echo :LAST_ERROR_SQLSTATE

-- A reader who may not read the contacts is refused, as score() refuses it; one who
-- may sees suggestions.
CREATE ROLE na_reader;
SET ROLE na_reader;
SELECT count(*) AS rows FROM lead_score.next_actions('Next', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT USAGE ON SCHEMA na TO na_reader;
GRANT SELECT ON na.contacts TO na_reader;
SET ROLE na_reader;
SELECT count(*) AS rows FROM lead_score.next_actions('Next', 1);
RESET ROLE;
DROP OWNED BY na_reader;
DROP ROLE na_reader;

SELECT lead_score.detach('Next');
SELECT lead_score.drop_profile('Next');
DROP SCHEMA na CASCADE;
