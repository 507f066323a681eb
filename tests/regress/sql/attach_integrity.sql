-- Attaching a profile to tables that must stay fit to be read: one owner for them all,
-- at attach and ever after; a contacts table and key column that stay what they were;
-- a valid unique index for the contacts' key and the accounts'. (Attaching, the
-- triggers, decay, tick(), stats(), verify() and detach: attach_scoring.sql.)
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-07 00:00:00+00';

CREATE SCHEMA crm;
CREATE TABLE crm.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text,
                         occurred_at timestamptz, properties jsonb, channel text);
CREATE INDEX ON crm.events (contact_id, occurred_at);

-- One owner for the attached tables, at attach and ever after (the scoring reads them as
-- it): 55000 otherwise. A table dropped since, or a contacts key column dropped or
-- retyped since, is a 55000 too, never a read of what took its place. (The schema
-- guard refuses those changes, and a new owner for one of the tables, see
-- schema_guard.sql; they are made here with it disabled, as a superuser can.) Each
-- break is rolled back; after it the attachment works again.
CREATE ROLE att_other_owner;
CREATE TABLE crm.o_contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE crm.o_events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON crm.o_events (contact_id, occurred_at);
INSERT INTO crm.o_contacts VALUES (1, 'US'), (2, 'DE');
SELECT lead_score.create_profile('Owners') > 0 AS created;
SELECT lead_score.add_rule('Owners', 'US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}') > 0 AS added;
SELECT lead_score.publish('Owners') AS version;
ALTER TABLE crm.o_events OWNER TO att_other_owner;
SELECT lead_score.attach('Owners', 'crm.o_contacts', 'crm.o_events');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE crm.o_events OWNER TO CURRENT_USER;
SELECT lead_score.attach('Owners', 'crm.o_contacts', 'crm.o_events');
-- Owners that diverge later: writes and rescores refuse.
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
ALTER TABLE crm.o_events OWNER TO att_other_owner;
INSERT INTO crm.o_events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-05-31');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
ALTER TABLE crm.o_events OWNER TO att_other_owner;
SELECT lead_score.rescore('Owners');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- A table dropped since. (Terse: the DETAIL names the table's oid.)
\set VERBOSITY terse
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
SET LOCAL client_min_messages = warning;
DROP TABLE crm.o_contacts CASCADE;
INSERT INTO crm.o_events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-05-31');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
DROP TABLE crm.o_events;
SELECT lead_score.rescore('Owners');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
\set VERBOSITY default
-- The contacts' key column dropped (with the scores' policy that names it), or swapped
-- for one of another type (Postgres will not retype it in place under that policy).
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
SET LOCAL client_min_messages = warning;
ALTER TABLE crm.o_contacts DROP COLUMN id CASCADE;
UPDATE crm.o_contacts SET country = 'UK';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
ALTER TABLE crm.o_contacts RENAME COLUMN id TO old_id;
ALTER TABLE crm.o_contacts ADD COLUMN id text;
UPDATE crm.o_contacts SET country = 'UK';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- (The positive control: untouched, the same write and rescore go through.)
UPDATE crm.o_contacts SET country = 'US' WHERE id = 2;
SELECT lead_score.rescore('Owners') AS rescored;
SELECT id, score FROM lead_score."Owners_scores" ORDER BY id;
SELECT lead_score.drop_profile('Owners');
DROP TABLE crm.o_contacts, crm.o_events;
DROP ROLE att_other_owner;

-- An invalid unique index (left by a failed CREATE UNIQUE INDEX CONCURRENTLY) is no
-- key: 42P10. Rebuilt valid, the same table attaches.
CREATE TABLE crm.half_indexed (id bigint, country text);
INSERT INTO crm.half_indexed VALUES (1, 'US'), (1, 'DE');
CREATE UNIQUE INDEX CONCURRENTLY half_indexed_id ON crm.half_indexed (id);
DELETE FROM crm.half_indexed WHERE country = 'DE';
SELECT indisvalid FROM pg_index WHERE indexrelid = 'crm.half_indexed_id'::regclass;
SELECT lead_score.create_profile('Half') > 0 AS created;
SELECT lead_score.add_rule('Half', 'US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}') > 0 AS added;
SELECT lead_score.publish('Half') AS version;
SELECT lead_score.attach('Half', 'crm.half_indexed', 'crm.events', '{"contact_key": "id"}');
\echo :LAST_ERROR_SQLSTATE
REINDEX INDEX crm.half_indexed_id;
SELECT indisvalid FROM pg_index WHERE indexrelid = 'crm.half_indexed_id'::regclass;
SELECT lead_score.attach('Half', 'crm.half_indexed', 'crm.events', '{"contact_key": "id"}');
SELECT id, score FROM lead_score."Half_scores" ORDER BY id;
SELECT lead_score.drop_profile('Half');
DROP TABLE crm.half_indexed;

-- The accounts' key must be unique too (42P10): a contact is scored with its account's
-- row. 0.2.0 attached a key with no unique index; once two accounts shared a value,
-- every write touching one of their contacts failed (21000, a row affected twice), and
-- so did rescore. A unique index on the column alone makes it a key.
CREATE TABLE crm.coded_accounts (id bigint PRIMARY KEY, code text, employees integer);
CREATE TABLE crm.coded_contacts (id bigint PRIMARY KEY, account_code text);
INSERT INTO crm.coded_accounts VALUES (1, 'BIG', 400), (2, 'TINY', 3);
INSERT INTO crm.coded_contacts VALUES (1, 'BIG'), (2, 'TINY');
SELECT lead_score.create_profile('Coded') > 0 AS created;
SELECT lead_score.add_rule('Coded', 'Big account', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}') > 0 AS added;
SELECT lead_score.publish('Coded') AS version;
SELECT lead_score.attach('Coded', 'crm.coded_contacts', 'crm.events',
    '{"accounts": "coded_accounts", "contact_account": "account_code", "account_key": "code"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.coded_accounts VALUES (3, 'BIG', 5);
UPDATE crm.coded_contacts SET account_code = 'BIG' WHERE id = 2;
DELETE FROM crm.coded_accounts WHERE id = 3;
CREATE UNIQUE INDEX ON crm.coded_accounts (code);
SELECT lead_score.attach('Coded', 'crm.coded_contacts', 'crm.events',
    '{"accounts": "coded_accounts", "contact_account": "account_code", "account_key": "code"}');
UPDATE crm.coded_contacts SET account_code = 'TINY' WHERE id = 1;
SELECT id, score FROM lead_score."Coded_scores" ORDER BY id;
SELECT lead_score.drop_profile('Coded');
DROP TABLE crm.coded_contacts, crm.coded_accounts;

DROP SCHEMA crm CASCADE;
RESET lead_score.now;
