-- adjust(), kept apart from their contacts table and key column: a role reads the
-- adjustments of contacts it may see (none once the table is dropped); adjustments kept
-- from tables of another key type, table or key column never count for, nor show to,
-- the contacts of the table attached now; may_see_contact never raises. (The first
-- half of adjust(), its scoring, rights and bad inputs: adjust_scoring.sql.)
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-08 00:00:00+00';

-- The roles, granted adjust() and the schema as adjust_scoring.sql grants them.
CREATE ROLE adj_ann;
CREATE ROLE adj_bob;
CREATE SCHEMA adj;
GRANT USAGE ON SCHEMA adj TO adj_ann, adj_bob;
GRANT EXECUTE ON FUNCTION lead_score.adjust(text, text, float8, text, interval),
                          lead_score.adjust(text, anyelement, float8, text, interval) TO adj_ann, adj_bob;

-- A role that may see a contact reads its adjustments; once the contacts table is
-- dropped, it reads none, and no error: may_see_contact says no for a table gone.
CREATE TABLE adj.keyed (id bigint PRIMARY KEY, rep text);
CREATE TABLE adj.keyed_events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
CREATE INDEX ON adj.keyed_events (contact_id, at);
INSERT INTO adj.keyed VALUES (7, 'adj_ann'), (9223372036854775807, 'adj_ann');
SELECT lead_score.create_profile('Adj keys') > 0 AS created;
SELECT lead_score.add_rule('Adj keys', 'Demo', '{"kind": "event", "event": "demo", "points": 10}') > 0 AS added;
SELECT lead_score.publish('Adj keys') AS version;
SELECT lead_score.attach('Adj keys', 'adj.keyed', 'adj.keyed_events', '{"event_type": "kind", "event_time": "at"}');
SELECT lead_score.adjust('Adj keys', 7, 16, 'seen') > 0 AS adjusted;
GRANT SELECT ON adj.keyed TO adj_ann;
SET ROLE adj_ann;
SELECT contact, points FROM lead_score.adjustments WHERE profile = 'Adj keys' ORDER BY contact;
RESET ROLE;
-- (CASCADE: the scores' policy names the table. Its NOTICE names the state table. The
-- schema guard refuses to drop it while its events table keeps the profile's triggers,
-- see schema_guard.sql: disabled here, as a superuser can.)
SET client_min_messages = warning;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
DROP TABLE adj.keyed CASCADE;
ALTER EVENT TRIGGER lead_score_schema_guard_after ENABLE;
RESET client_min_messages;
SET ROLE adj_ann;
SELECT contact, points FROM lead_score.adjustments WHERE profile = 'Adj keys' ORDER BY contact;
RESET ROLE;
SELECT lead_score.detach('Adj keys');
SELECT lead_score.drop_profile('Adj keys');

-- Adjustments kept from an attachment to tables of another key type are another
-- table's: a full pass over bigint contacts neither fails on the keys that are no
-- bigint ('abc', '007', one past the largest bigint) nor counts '7' for contact 7, and
-- neither do rescoring contact 7 alone and verify().
CREATE TABLE adj.text_contacts (id text PRIMARY KEY);
CREATE TABLE adj.text_events (id serial PRIMARY KEY, contact_id text, kind text, at timestamptz);
CREATE INDEX ON adj.text_events (contact_id, at);
INSERT INTO adj.text_contacts VALUES ('abc'), ('007'), ('9223372036854775808'), ('7');
CREATE TABLE adj.keyed (id bigint PRIMARY KEY, rep text);
INSERT INTO adj.keyed VALUES (7, 'adj_ann'), (9223372036854775807, 'adj_ann');
SELECT lead_score.create_profile('Adj keys') > 0 AS created;
SELECT lead_score.add_rule('Adj keys', 'Demo', '{"kind": "event", "event": "demo", "points": 10}') > 0 AS added;
SELECT lead_score.publish('Adj keys') AS version;
SELECT lead_score.attach('Adj keys', 'adj.text_contacts', 'adj.text_events', '{"event_type": "kind", "event_time": "at"}');
SELECT count(lead_score.adjust('Adj keys', k, p, 'as text ' || k)) AS adjusted
  FROM (VALUES ('abc', 1), ('007', 2), ('9223372036854775808', 4), ('7', 8)) AS a(k, p);
SELECT lead_score.detach('Adj keys');
SELECT lead_score.attach('Adj keys', 'adj.keyed', 'adj.keyed_events', '{"event_type": "kind", "event_time": "at"}');
SELECT id, score FROM lead_score."Adj keys_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Adj keys');
SELECT lead_score.rescore('Adj keys', 7::bigint) AS rescored;
SELECT id, score FROM lead_score."Adj keys_scores" ORDER BY id;
SELECT lead_score.rescore('Adj keys') AS rescored_all;
SELECT * FROM lead_score.verify('Adj keys');
SELECT lead_score.detach('Adj keys');
SELECT lead_score.drop_profile('Adj keys');

-- Adjustments stay with the contacts table and key column they were made on. adj_ann
-- adjusts her contact 3 privately; the owner moves the profile to adj.partners, whose
-- partner 3 is adj_bob's: it does not get the points, and adj_bob cannot read the
-- reason; nor does the contact whose other key (legacy_id) is 3. Adjustments of a table
-- keyed by text, kept while attached to a bigint-keyed one, never make the view fail
-- (22P02) for a role that is not the owner; back on its own table, adj_ann's counts
-- again.
CREATE TABLE adj.mine (id bigint PRIMARY KEY, legacy_id bigint UNIQUE NOT NULL, rep text);
CREATE TABLE adj.partners (id bigint PRIMARY KEY, rep text);
CREATE TABLE adj.by_email (email text PRIMARY KEY, rep text);
CREATE TABLE adj.move_events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
CREATE TABLE adj.email_events (id serial PRIMARY KEY, email text, kind text, at timestamptz);
INSERT INTO adj.mine VALUES (3, 30, 'adj_ann'), (30, 3, 'adj_bob');
INSERT INTO adj.partners VALUES (3, 'adj_bob');
INSERT INTO adj.by_email VALUES ('bob@example.com', 'adj_bob');
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['adj.mine', 'adj.partners', 'adj.by_email'] LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY own ON %s FOR SELECT USING (rep = current_user)', t);
        EXECUTE format('GRANT SELECT ON %s TO adj_ann, adj_bob', t);
    END LOOP;
END $$;
SELECT lead_score.create_profile('Adj move', settings => '{"pql_threshold": 50}') > 0 AS created;
SELECT lead_score.add_rule('Adj move', 'Demo', '{"kind": "event", "event": "demo", "points": 10}') > 0 AS added;
SELECT lead_score.publish('Adj move') AS version;
SELECT lead_score.attach('Adj move', 'adj.mine', 'adj.move_events', '{"event_type": "kind", "event_time": "at"}');
SET ROLE adj_ann;
SELECT lead_score.adjust('Adj move', 3, 40, 'ann private: CEO leaving') > 0 AS adjusted;
SELECT contact, points, reason FROM lead_score.adjustments WHERE profile = 'Adj move';
RESET ROLE;
SELECT contact_key, contacts, key_column FROM lead_score.adjustment_store
 WHERE profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Adj move');
SELECT lead_score.detach('Adj move');
SELECT lead_score.attach('Adj move', 'adj.partners', 'adj.move_events', '{"event_type": "kind", "event_time": "at"}');
SELECT id, score, tags FROM lead_score."Adj move_scores" ORDER BY id;
SELECT lead_score.rescore('Adj move', 3::bigint) AS rescored;
SELECT lead_score.rescore('Adj move') AS rescored_all;
SELECT id, score, tags FROM lead_score."Adj move_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Adj move');
SELECT rule_name, kind, points FROM lead_score.explain('Adj move', 3::bigint);
SET ROLE adj_bob;
SELECT contact, points, reason FROM lead_score.adjustments WHERE profile = 'Adj move';
RESET ROLE;
-- The same table by another key column: legacy_id 3 is adj_bob's contact 30.
SELECT lead_score.detach('Adj move');
SELECT lead_score.attach('Adj move', 'adj.mine', 'adj.move_events', '{"event_type": "kind", "event_time": "at", "contact_key": "legacy_id"}');
SELECT legacy_id, score FROM lead_score."Adj move_scores" ORDER BY legacy_id;
SET ROLE adj_bob;
SELECT contact, points, reason FROM lead_score.adjustments WHERE profile = 'Adj move';
RESET ROLE;
-- A text-keyed table's adjustment, then back to adj.mine by id (bigint).
SELECT lead_score.detach('Adj move');
SELECT lead_score.attach('Adj move', 'adj.by_email', 'adj.email_events', '{"event_contact": "email", "event_type": "kind", "event_time": "at"}');
SELECT lead_score.adjust('Adj move', 'bob@example.com'::text, 5, 'bounced once') > 0 AS adjusted;
SET ROLE adj_bob;
SELECT contact, points, reason FROM lead_score.adjustments WHERE profile = 'Adj move';
RESET ROLE;
SELECT lead_score.detach('Adj move');
SELECT lead_score.attach('Adj move', 'adj.mine', 'adj.move_events', '{"event_type": "kind", "event_time": "at"}');
SET ROLE adj_bob;
SELECT contact, points, reason FROM lead_score.adjustments ORDER BY id;
RESET ROLE;
SET ROLE adj_ann;
SELECT contact, points, reason FROM lead_score.adjustments ORDER BY id;
RESET ROLE;
SELECT id, score, tags FROM lead_score."Adj move_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Adj move');
-- may_see_contact never raises, whatever key it is given, and says no to a row of
-- another table or key column.
SET ROLE adj_ann;
SELECT k, lead_score.may_see_contact(p.id, 'adj.mine', 'id', k) AS sees
  FROM lead_score.profile_store p,
       unnest(ARRAY['3', '03', 'abc', '', '9223372036854775808', '-9223372036854775809', '30']) AS k
 WHERE p.name = 'Adj move';
SELECT lead_score.may_see_contact(p.id, 'adj.partners', 'id', '3') AS other_table,
       lead_score.may_see_contact(p.id, 'adj.mine', 'legacy_id', '3') AS other_column,
       lead_score.may_see_contact(p.id, NULL, NULL, '3') AS unknown_table
  FROM lead_score.profile_store p WHERE p.name = 'Adj move';
RESET ROLE;
SELECT lead_score.detach('Adj move');
SELECT lead_score.drop_profile('Adj move');

DROP SCHEMA adj CASCADE;
DROP OWNED BY adj_ann;
DROP OWNED BY adj_bob;
DROP ROLE adj_ann;
DROP ROLE adj_bob;
