-- Lead routing (the "routing" setting): a contact given the routing tag while its owner
-- column is NULL gets the next owner in turn, in the same transaction, as the contacts
-- table's owner, with a `routed` transition and its notification. Covers: an event
-- INSERT that tags, several contacts tagged in one statement (round robin in key
-- order), a contact whose owner is set (untouched, no turn used), the CRM's own trigger
-- on the column, owners of an integer and of a text column, a writer with INSERT on
-- events only, preview, every bad setting, and a type whose input runs as the owner.
-- verify() after each scenario.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE ROLE routing_crm;
CREATE ROLE routing_writer;
CREATE SCHEMA rt AUTHORIZATION routing_crm;
GRANT USAGE ON SCHEMA rt TO routing_writer;
SET ROLE routing_crm;
CREATE TABLE rt.contacts (id bigint PRIMARY KEY, role text, owner_id integer, rep text);
CREATE TABLE rt.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON rt.events (contact_id, occurred_at);
INSERT INTO rt.contacts VALUES (1, 'buyer', NULL), (2, 'buyer', NULL), (3, 'buyer', 42), (4, 'buyer', NULL), (5, 'buyer', NULL);
-- The CRM's own trigger on the owner column, logging who set it and as whom.
CREATE TABLE rt.owner_log (contact bigint, old_owner integer, new_owner integer, by_user name);
CREATE FUNCTION rt.log_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rt.owner_log VALUES (NEW.id, OLD.owner_id, NEW.owner_id, current_user);
    RETURN NEW;
END $$;
CREATE TRIGGER log_owner AFTER UPDATE OF owner_id ON rt.contacts
    FOR EACH ROW EXECUTE FUNCTION rt.log_owner();
GRANT INSERT ON rt.events TO routing_writer;
GRANT USAGE ON SEQUENCE rt.events_id_seq TO routing_writer;
RESET ROLE;

SELECT lead_score.create_profile('Route', settings =>
    '{"pql_threshold": 50, "routing": {"tag": "PQL", "column": "owner_id", "owners": [7, 8, 9]}}') > 0 AS created;
SELECT lead_score.add_rule('Route', 'Demo', '{"kind": "event", "event": "demo", "points": 30}') > 0 AS added;
SELECT lead_score.publish('Route');
SELECT lead_score.attach('Route', 'rt.contacts', 'rt.events');

-- One event INSERT that tags contact 1: it gets owner 7 (turn 0), the CRM's trigger
-- logs it as done by the table's owner. (Each transition is announced as every one is;
-- tests/isolation/specs/routing_turns.spec shows the notifications, which psql prints
-- with a process id.)
INSERT INTO rt.events (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-06-01'), (1, 'demo', '2024-06-01');
SELECT id, owner_id FROM rt.contacts ORDER BY id;
SELECT * FROM rt.owner_log ORDER BY contact;
SELECT contact, kind, tag, old_state, new_state, score, reason, source, actor
  FROM lead_score.transitions WHERE profile = 'Route' ORDER BY id;
SELECT next_turn FROM lead_score.routing_turns
 WHERE profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Route');
SELECT * FROM lead_score.verify('Route');

-- One statement tags 5, 3 and 2: 3 has an owner (untouched, no turn used); 2 and 5 get
-- the next turns in key order: 2 gets 8, 5 gets 9.
INSERT INTO rt.events (contact_id, event_type, occurred_at)
SELECT c, 'demo', '2024-06-01' FROM (VALUES (5), (3), (2)) AS v(c), generate_series(1, 2);
SELECT id, owner_id FROM rt.contacts ORDER BY id;
SELECT * FROM rt.owner_log ORDER BY contact;
SELECT contact, kind, tag, new_state, source FROM lead_score.transitions
 WHERE profile = 'Route' AND kind = 'routed' ORDER BY id;
SELECT id, tags FROM lead_score."Route_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Route');

-- A writer with INSERT on events only (no UPDATE on contacts): contact 4 is routed all
-- the same (the UPDATE runs as the table's owner), back at the start of the list (7);
-- the transitions name the writer.
SET ROLE routing_writer;
INSERT INTO rt.events (contact_id, event_type, occurred_at) VALUES (4, 'demo', '2024-06-01'), (4, 'demo', '2024-06-01');
RESET ROLE;
SELECT id, owner_id FROM rt.contacts WHERE id = 4;
SELECT contact, kind, new_state, actor FROM lead_score.transitions
 WHERE profile = 'Route' AND contact = '4' ORDER BY id;
SELECT * FROM rt.owner_log WHERE contact = 4;
-- Routing is once: tags are sticky, and a contact whose owner is cleared again is not
-- routed by further events.
UPDATE rt.contacts SET owner_id = NULL WHERE id = 4;
INSERT INTO rt.events (contact_id, event_type, occurred_at) VALUES (4, 'demo', '2024-06-01');
SELECT id, owner_id FROM rt.contacts WHERE id = 4;
SELECT * FROM lead_score.verify('Route');

-- A rolled-back tagging gives its turn back: contact 6 is tagged and routed (8), rolled
-- back; then contact 7 gets 8.
INSERT INTO rt.contacts VALUES (6, 'buyer', NULL), (7, 'buyer', NULL);
BEGIN;
INSERT INTO rt.events (contact_id, event_type, occurred_at) VALUES (6, 'demo', '2024-06-01'), (6, 'demo', '2024-06-01');
SELECT id, owner_id FROM rt.contacts WHERE id = 6;
ROLLBACK;
INSERT INTO rt.events (contact_id, event_type, occurred_at) VALUES (7, 'demo', '2024-06-01'), (7, 'demo', '2024-06-01');
SELECT id, owner_id FROM rt.contacts WHERE id IN (6, 7) ORDER BY id;
SELECT * FROM lead_score.verify('Route');

-- Preview lists the routing publishing would cause: a lower threshold tags 6 (no owner:
-- routed) and nobody else new.
SELECT lead_score.update_profile('Route', settings =>
    '{"pql_threshold": 20, "routing": {"tag": "PQL", "column": "owner_id", "owners": [7, 8, 9]}}');
INSERT INTO rt.events (contact_id, event_type, occurred_at) VALUES (6, 'demo', '2024-06-01');
SELECT contact, change FROM lead_score.preview('Route') WHERE change IS NOT NULL ORDER BY contact;
-- Publishing routes it (source publish), with the next turn (9).
SELECT lead_score.publish('Route');
SELECT id, owner_id FROM rt.contacts WHERE id = 6;
SELECT contact, kind, tag, new_state, source FROM lead_score.transitions
 WHERE profile = 'Route' AND contact = '6' ORDER BY id;
SELECT * FROM lead_score.verify('Route');

-- Bad settings: each named with its JSON path, with its SQLSTATE.
\set VERBOSITY terse
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"tag": "MQL", "column": "owner_id", "owners": [7]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner_id", "owners": []}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner_id", "owners": [7, 7]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner_id", "owners": [7, true]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner_id", "owners": [7], "strategy": "least_loaded"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"owners": [7]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner_id", "owners": [7], "round_robin": true}}');
\echo :LAST_ERROR_SQLSTATE
-- Against the attached table, at publish: a column the table lacks, the key column, a
-- value the column's type refuses (text for an integer, and out of its range).
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner", "owners": [7]}}');
SELECT lead_score.publish('Route');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "id", "owners": [7]}}');
SELECT lead_score.publish('Route');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner_id", "owners": [7, "ann"]}}');
SELECT lead_score.publish('Route');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Route', settings => '{"pql_threshold": 20, "routing": {"column": "owner_id", "owners": [7, 9999999999]}}');
SELECT lead_score.publish('Route');
\echo :LAST_ERROR_SQLSTATE
-- Nothing was published: version 2 stays active.
SELECT active_version FROM lead_score.profiles WHERE name = 'Route';
\set VERBOSITY default
SELECT * FROM lead_score.verify('Route');
-- The schema guard keeps the owner column routing writes (2BP01), as it keeps the
-- columns rules read.
ALTER TABLE rt.contacts RENAME COLUMN owner_id TO owner_ref;
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.detach('Route');

-- Owners of a text column, and the same checks at attach for a profile published
-- before it is attached: a domain over text whose check runs a function that records
-- current_user. It runs as the table's owner (routing_crm), never as the extension's.
SET ROLE routing_crm;
CREATE TABLE rt.spied (call_no serial, by_user name, value text);
CREATE FUNCTION rt.spy(value text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rt.spied (by_user, value) VALUES (current_user, value);
    RETURN value <> 'nobody';
END $$;
CREATE DOMAIN rt.rep AS text CHECK (rt.spy(VALUE));
ALTER TABLE rt.contacts ALTER COLUMN rep TYPE rt.rep;
RESET ROLE;
SELECT lead_score.create_profile('Route text', settings =>
    '{"pql_threshold": 50, "routing": {"column": "rep", "owners": ["ann", "bob", "nobody"]}}') > 0 AS created;
SELECT lead_score.add_rule('Route text', 'Demo', '{"kind": "event", "event": "demo", "points": 30}') > 0 AS added;
-- A rule reads the routing column: the routing UPDATE rescores its contacts (Ann's get 5).
SELECT lead_score.add_rule('Route text', 'Ann''s', '{"kind": "fit", "when": {"field": "rep", "op": "eq", "value": "ann"}, "points": 5}') > 0 AS added;
SELECT lead_score.publish('Route text');
\set VERBOSITY terse
SELECT lead_score.attach('Route text', 'rt.contacts', 'rt.events');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT DISTINCT by_user FROM rt.spied;
SELECT lead_score.update_profile('Route text', settings =>
    '{"pql_threshold": 50, "routing": {"column": "rep", "owners": ["ann", "bob"]}}');
SELECT lead_score.publish('Route text');
TRUNCATE rt.spied;
SELECT lead_score.attach('Route text', 'rt.contacts', 'rt.events');
-- Attach tagged 1, 2, 3, 4, 5, 7 (6 has one demo): each routed in key order.
SELECT id, rep FROM rt.contacts ORDER BY id;
SELECT DISTINCT by_user FROM rt.spied;
SELECT contact, new_state, source FROM lead_score.transitions
 WHERE profile = 'Route text' AND kind = 'routed' ORDER BY id;
SELECT * FROM lead_score.verify('Route text');
-- The routing UPDATE fired our own contacts trigger nested; a rule reads "rep", so it
-- rescored the routed contacts: Ann's have 5 more.
SELECT id, score, tags FROM lead_score."Route text_scores" ORDER BY id;

SELECT lead_score.detach('Route text');
SELECT lead_score.drop_profile('Route text');
SELECT lead_score.drop_profile('Route');
DROP SCHEMA rt CASCADE;
DROP ROLE routing_crm;
DROP ROLE routing_writer;
