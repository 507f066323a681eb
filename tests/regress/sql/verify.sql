-- verify() compares everything the scoring stores with a recomputation: each part of a
-- score row, tampered with in turn (and rolled back), is named; then the copies of tags,
-- a missing score row, and a score row without a contact.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-10 00:00:00+00';

CREATE SCHEMA v;
CREATE TABLE v.contacts (id integer PRIMARY KEY, role text);
CREATE TABLE v.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz);
INSERT INTO v.contacts VALUES (1, 'buyer'), (2, 'student');
SELECT lead_score.create_profile('Checked', settings =>
    '{"half_life": "30 days", "pql_threshold": 10}') > 0 AS created;
SELECT count(lead_score.add_rule('Checked', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Buyer', '{"kind": "fit", "when": {"field": "role", "op": "eq", "value": "buyer"}, "points": 2}'),
  ('Projects', '{"kind": "event", "event": "project", "points": 5, "count": {"max": 2}, "dimension": "product"}'),
  ('Recent visit', '{"kind": "event", "event": "visit", "points": 1, "within": "7 days", "half_life": null}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Checked') AS version;
SELECT lead_score.attach('Checked', 'v.contacts', 'v.events', '{"event_type": "kind", "event_time": "at"}');
INSERT INTO v.events (contact_id, kind, at) VALUES
  (1, 'project', '2024-06-01'), (1, 'project', '2024-06-02'), (1, 'project', '2024-06-03'),
  (1, 'visit', '2024-06-09'), (2, 'visit', '2024-06-09');
SELECT id, round(score::numeric, 6) AS score, is_pql, disqualified, tags FROM lead_score."Checked_scores" ORDER BY id;
SELECT format('lead_score.%I', state_table) AS state FROM lead_score.attachment_store a
  JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Checked' \gset
SELECT contact_key, limits, tally, next_due, dimensions <> '{}' AS has_dimensions FROM :state ORDER BY 1;
SELECT count(*) AS differences FROM lead_score.verify('Checked');

-- Each stored part, changed behind the scoring's back (and rolled back), is named. An
-- early due time is no difference: tick() then finds nothing to change.
CREATE FUNCTION pg_temp.named(change text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    found text;
BEGIN
    BEGIN
        EXECUTE change;
        SELECT string_agg(f.contact || ': ' || f.difference, '; ' ORDER BY f.contact) INTO found
          FROM lead_score.verify('Checked') f;
        RAISE EXCEPTION 'roll back' USING ERRCODE = 'P0001';
    EXCEPTION WHEN SQLSTATE 'P0001' THEN
        NULL;
    END;
    RETURN coalesce(found, '(nothing)');
END
$$;
SELECT change, pg_temp.named(format(change, :'state')) AS verify_says FROM (VALUES
  ('UPDATE %s SET fit = fit + 1 WHERE contact_key = 1'),
  ('UPDATE %s SET engagement = (SELECT lead_score.decayed_sum(3, ''2024-06-01'', ''30 days'')) WHERE contact_key = 1'),
  ('UPDATE %s SET disqualified_by = ''{}'' WHERE contact_key = 2'),
  ('UPDATE %s SET dimensions = ''{}'' WHERE contact_key = 1'),
  ('UPDATE %s SET next_due = NULL WHERE contact_key = 1'),
  ('UPDATE %s SET next_due = next_due + interval ''1 day'' WHERE contact_key = 1'),
  ('UPDATE %s SET next_due = next_due - interval ''1 day'' WHERE contact_key = 1'),
  ('UPDATE %s SET tally[1] = tally[1] + 1 WHERE contact_key = 1'),
  ('UPDATE %s SET limits = ''{}'' WHERE contact_key = 1'),
  ('UPDATE %s SET tags = ''{}'' WHERE contact_key = 1'),
  ('DELETE FROM %s WHERE contact_key = 1'),
  ('INSERT INTO %s SELECT 3, 1, 0, engagement, ''{}'', ''{}'', NULL, ''{0,0,0,0,0,0}'', NULL, now() FROM %1$s WHERE contact_key = 2'),
  ('DELETE FROM lead_score.tag_store WHERE contact_key = ''1''')
) AS c(change);
SELECT count(*) AS differences FROM lead_score.verify('Checked');
SELECT lead_score.detach('Checked');
DROP SCHEMA v CASCADE;
SELECT lead_score.drop_profile('Checked');

-- tick() sweeps every attached profile, each in a subtransaction of its own: one whose
-- attachment is broken (its contacts table dropped: 55000) is rolled back alone and
-- reported with a WARNING naming it, its row has no counts, and the next profile's due
-- contacts are still rescored.
SET lead_score.now = '2024-06-10 00:00:00+00';
CREATE SCHEMA tk1;
CREATE SCHEMA tk2;
CREATE TABLE tk1.contacts (id integer PRIMARY KEY);
CREATE TABLE tk1.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz);
CREATE TABLE tk2.contacts (id integer PRIMARY KEY);
CREATE TABLE tk2.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz);
CREATE INDEX ON tk1.events (contact_id, at);
CREATE INDEX ON tk2.events (contact_id, at);
INSERT INTO tk1.contacts VALUES (1);
INSERT INTO tk2.contacts VALUES (1), (2);
SELECT p, lead_score.create_profile(p, settings => '{"half_life": "30 days"}') > 0 AS created,
       lead_score.add_rule(p, 'Recent visit', '{"kind": "event", "event": "visit", "points": 1, "within": "7 days", "half_life": null}') > 0 AS rule,
       lead_score.publish(p) AS version
  FROM unnest(ARRAY['Tick first', 'Tick second']) p;
SELECT lead_score.attach('Tick first', 'tk1.contacts', 'tk1.events', '{"event_type": "kind", "event_time": "at"}');
SELECT lead_score.attach('Tick second', 'tk2.contacts', 'tk2.events', '{"event_type": "kind", "event_time": "at"}');
INSERT INTO tk1.events (contact_id, kind, at) VALUES (1, 'visit', '2024-06-09');
INSERT INTO tk2.events (contact_id, kind, at) VALUES (1, 'visit', '2024-06-09'), (2, 'visit', '2024-06-08');
SELECT id, score, scored_at FROM lead_score."Tick second_scores" ORDER BY id;
-- (Both of its tables, in one command: the schema guard refuses to drop one of them
-- while the other keeps the profile's triggers, see schema_guard.sql.)
SET client_min_messages = warning;
DROP TABLE tk1.contacts, tk1.events CASCADE;
RESET client_min_messages;
-- Both visits have left the 7-day window by June 20th: both contacts are due.
SET lead_score.now = '2024-06-20 00:00:00+00';
\set VERBOSITY terse
SELECT * FROM lead_score.tick() WHERE profile LIKE 'Tick %' ORDER BY profile;
\set VERBOSITY default
SELECT id, score, scored_at FROM lead_score."Tick second_scores" ORDER BY id;
SELECT count(*) AS differences FROM lead_score.verify('Tick second');
SELECT lead_score.detach(p) FROM unnest(ARRAY['Tick first', 'Tick second']) p;
SELECT lead_score.drop_profile(p) FROM unnest(ARRAY['Tick first', 'Tick second']) p;
SET client_min_messages = warning;
DROP SCHEMA tk1, tk2 CASCADE;
RESET client_min_messages;
