-- The schema guard: DDL that would make an attached profile's triggers fail on the
-- CRM's next write is refused (2BP01), naming the profile and what reads the column,
-- and the CRM's writes keep working. 0.2.0 let such DDL through: after a rename of a
-- column a rule reads, every contact INSERT and UPDATE failed with 42703 until the
-- profile was detached; after a type change of the events' key column, every event
-- INSERT failed with 55000.
--
-- Each column the profile reads is renamed, dropped and retyped: the contacts' key, the
-- events' contact reference, type, time and properties, the contacts' account
-- reference, the accounts' key, and a column of each table a rule reads. (A JSON key a
-- rule reads under props, props.url here, is data, not a column: no DDL renames it.)
-- The DDL runs as the role owning the CRM's tables, which has no rights in schema
-- lead_score: the guard reads what it needs with its own.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE ROLE sg_owner;
CREATE SCHEMA sg AUTHORIZATION sg_owner;
SET ROLE sg_owner;
CREATE DOMAIN sg.channel_name AS text;
CREATE TABLE sg.accounts (id bigint PRIMARY KEY, employees integer, name text);
CREATE TABLE sg.contacts (id bigint PRIMARY KEY, account_id bigint, country text, note text);
CREATE TABLE sg.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz,
                        props jsonb, channel sg.channel_name, note text);
CREATE INDEX ON sg.events (contact_id, occurred_at);
INSERT INTO sg.accounts VALUES (1, 600, 'Big Co'), (2, 3, 'Tiny Co');
INSERT INTO sg.contacts VALUES (1, 1, 'US', ''), (2, 2, 'DE', '');
INSERT INTO sg.events (contact_id, event_type, occurred_at, props, channel) VALUES
    (1, 'visit', '2024-06-01', '{}', 'web'),
    (2, 'page_view', '2024-06-01', '{"url": "/pricing"}', NULL);

-- Every write the CRM makes, each on its own: 'ok' or its SQLSTATE. (Each is rolled
-- back: the scores stay as they were.)
CREATE FUNCTION sg.crm_writes() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    done text[] := '{}';
    statement text;
BEGIN
    FOREACH statement IN ARRAY ARRAY[
        'INSERT INTO sg.contacts (id, account_id) VALUES (3, 1)',
        'UPDATE sg.contacts SET account_id = 1 WHERE id = 2',
        'INSERT INTO sg.events (contact_id, event_type, occurred_at) VALUES (1, ''visit'', ''2024-06-01'')',
        'UPDATE sg.events SET channel = ''web'' WHERE contact_id = 2',
        'UPDATE sg.accounts SET employees = 700 WHERE id = 2',
        'DELETE FROM sg.events WHERE contact_id = 1']
    LOOP
        BEGIN
            EXECUTE statement;
            RAISE SQLSTATE 'P0001' USING MESSAGE = 'undo';
        EXCEPTION WHEN OTHERS THEN
            done := done || CASE WHEN SQLERRM = 'undo' THEN 'ok' ELSE SQLSTATE END;
        END;
    END LOOP;
    RETURN array_to_string(done, ', ');
END $$;

-- Run a DDL command and undo it: 'went through', or its SQLSTATE and message.
CREATE FUNCTION sg.try(ddl text, OUT error text, OUT message text) LANGUAGE plpgsql
SET client_min_messages = warning AS $$
BEGIN
    EXECUTE ddl;
    RAISE SQLSTATE 'P0001' USING MESSAGE = 'went through';
EXCEPTION WHEN OTHERS THEN
    error := CASE WHEN SQLERRM <> 'went through' THEN SQLSTATE END;
    message := SQLERRM;
END $$;
RESET ROLE;

SELECT lead_score.create_profile('Guarded') > 0 AS created;
SELECT count(lead_score.add_rule('Guarded', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}'),
  ('Big account', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 500}, "points": 10}'),
  ('Web visit', '{"kind": "event", "event": "visit", "when": {"field": "channel", "op": "eq", "value": "web"}, "points": 2}'),
  ('Pricing', '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "eq", "value": "/pricing"}, "points": 4}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Guarded') AS version;
-- A draft rule is not guarded: publish checks a draft's fields against the tables.
SELECT lead_score.add_rule('Guarded', 'Draft', '{"kind": "fit", "when": {"field": "note", "op": "eq", "value": "x"}, "points": 1}') > 0 AS added;
SELECT lead_score.attach('Guarded', 'sg.contacts', 'sg.events', '{"accounts": "accounts", "event_props": "props"}');
SELECT id, score FROM lead_score."Guarded_scores" ORDER BY id;
SET ROLE sg_owner;
SELECT sg.crm_writes() AS writes;

-- The issue's migration: refused, naming the profile, the rule and the column.
ALTER TABLE sg.contacts RENAME COLUMN country TO country_code;
\echo :LAST_ERROR_SQLSTATE
-- Every column the profile reads, renamed, dropped and retyped: each refused.
SELECT d.ddl, t.error, t.message FROM (VALUES
    -- the contacts' key (PostgreSQL itself refuses to retype it: the scores' policy reads it)
    ('ALTER TABLE sg.contacts RENAME COLUMN id TO contact_id'),
    ('ALTER TABLE sg.contacts DROP COLUMN id CASCADE'),
    ('ALTER TABLE sg.contacts ALTER COLUMN id TYPE integer'),
    -- the events' contact reference
    ('ALTER TABLE sg.events RENAME COLUMN contact_id TO person_id'),
    ('ALTER TABLE sg.events DROP COLUMN contact_id'),
    ('ALTER TABLE sg.events ALTER COLUMN contact_id TYPE integer'),
    -- the event type
    ('ALTER TABLE sg.events RENAME COLUMN event_type TO kind'),
    ('ALTER TABLE sg.events DROP COLUMN event_type'),
    ('ALTER TABLE sg.events ALTER COLUMN event_type TYPE varchar(40)'),
    -- the event time
    ('ALTER TABLE sg.events RENAME COLUMN occurred_at TO happened_at'),
    ('ALTER TABLE sg.events DROP COLUMN occurred_at'),
    ('ALTER TABLE sg.events ALTER COLUMN occurred_at TYPE timestamp'),
    -- the event properties
    ('ALTER TABLE sg.events RENAME COLUMN props TO properties'),
    ('ALTER TABLE sg.events DROP COLUMN props'),
    ('ALTER TABLE sg.events ALTER COLUMN props TYPE json'),
    -- a contacts column a rule reads
    ('ALTER TABLE sg.contacts RENAME COLUMN country TO country_code'),
    ('ALTER TABLE sg.contacts DROP COLUMN country'),
    ('ALTER TABLE sg.contacts ALTER COLUMN country TYPE varchar(2)'),
    -- an events column a rule reads, also dropped with its type
    ('ALTER TABLE sg.events RENAME COLUMN channel TO source'),
    ('ALTER TABLE sg.events DROP COLUMN channel'),
    ('ALTER TABLE sg.events ALTER COLUMN channel TYPE text'),
    ('DROP DOMAIN sg.channel_name CASCADE'),
    -- the contacts' account reference
    ('ALTER TABLE sg.contacts RENAME COLUMN account_id TO company_id'),
    ('ALTER TABLE sg.contacts DROP COLUMN account_id'),
    ('ALTER TABLE sg.contacts ALTER COLUMN account_id TYPE integer'),
    -- the accounts' key
    ('ALTER TABLE sg.accounts RENAME COLUMN id TO account_id'),
    ('ALTER TABLE sg.accounts DROP COLUMN id'),
    ('ALTER TABLE sg.accounts ALTER COLUMN id TYPE integer'),
    -- an accounts column a rule reads
    ('ALTER TABLE sg.accounts RENAME COLUMN employees TO headcount'),
    ('ALTER TABLE sg.accounts DROP COLUMN employees'),
    ('ALTER TABLE sg.accounts ALTER COLUMN employees TYPE bigint'),
    -- one of the tables, while the others keep the profile's triggers
    ('DROP TABLE sg.accounts'),
    ('DROP TABLE sg.events'),
    ('DROP TABLE sg.contacts CASCADE'),
    ('DROP TABLE sg.contacts, sg.events CASCADE')
) AS d(ddl), LATERAL sg.try(d.ddl) AS t;
-- Nothing changed: the CRM's writes go through.
SELECT sg.crm_writes() AS writes;

-- DDL that leaves what the profile reads alone goes through: a new column, columns no
-- published rule reads renamed, retyped and dropped (the draft rule's "note" too), an
-- index, a table renamed (the attachment follows its oid). The writes still work.
ALTER TABLE sg.contacts ADD COLUMN title text;
ALTER TABLE sg.contacts RENAME COLUMN note TO remark;
ALTER TABLE sg.contacts ALTER COLUMN remark TYPE varchar(200);
ALTER TABLE sg.events DROP COLUMN note;
CREATE INDEX ON sg.contacts (country);
ALTER TABLE sg.accounts RENAME TO companies;
ALTER TABLE sg.companies RENAME TO accounts;
SELECT sg.crm_writes() AS writes;
-- The draft rule now names no column: publish says so (22023), and publishes nothing.
RESET ROLE;
SELECT lead_score.publish('Guarded');
\echo :LAST_ERROR_SQLSTATE
SET ROLE sg_owner;
-- Every table the profile reads, dropped in one command: no write is left to fail, so
-- that goes through, as DROP SCHEMA ... CASCADE does (the attachment stays until
-- detached).
SELECT d.ddl, t.error, t.message FROM (VALUES
    ('DROP TABLE sg.contacts, sg.events, sg.accounts CASCADE'),
    ('DROP SCHEMA sg CASCADE')
) AS d(ddl), LATERAL sg.try(d.ddl) AS t;

-- The last unique index on the contacts' or the accounts' key: gone, two rows could
-- share a key, and every write touching them would fail (21000, a row affected twice).
-- 0.2.0 let its drop through. Refused (2BP01), whether the command drops the
-- constraint, the index, or a column the index INCLUDEs; while another unique index on
-- the key alone stays, or a new one comes in the same command, the drop goes through
-- (a deferrable one is no key: writes would see both rows before the check).
CREATE UNIQUE INDEX accounts_id_with_name ON sg.accounts (id) INCLUDE (name);
ALTER TABLE sg.contacts DROP CONSTRAINT contacts_pkey;
\echo :LAST_ERROR_SQLSTATE
-- (So a second contact 1 stays the CRM's own error, 23505, and the writes that touch
-- contact 1 work.)
INSERT INTO sg.contacts (id, account_id, country) VALUES (1, 2, 'DE');
\echo :LAST_ERROR_SQLSTATE
SELECT sg.crm_writes() AS writes;
SELECT d.ddl, t.error, t.message FROM (VALUES
    ('ALTER TABLE sg.contacts DROP CONSTRAINT contacts_pkey'),
    ('DROP INDEX sg.contacts_pkey'),
    ('ALTER TABLE sg.contacts DROP CONSTRAINT contacts_pkey, ADD CONSTRAINT contacts_id_key UNIQUE (id) DEFERRABLE'),
    ('ALTER TABLE sg.accounts DROP CONSTRAINT accounts_pkey, DROP COLUMN name'),
    ('ALTER TABLE sg.contacts DROP CONSTRAINT contacts_pkey, ADD CONSTRAINT contacts_id_key UNIQUE (id)'),
    ('ALTER TABLE sg.accounts DROP CONSTRAINT accounts_pkey'),
    ('DROP INDEX sg.accounts_id_with_name'),
    ('ALTER TABLE sg.accounts DROP COLUMN name')
) AS d(ddl), LATERAL sg.try(d.ddl) AS t;
-- DROP INDEX CONCURRENTLY commits before it ends: it is judged before it starts, by
-- the index its statement names, however the name is written. With the key's other
-- unique index left, it goes through.
CREATE UNIQUE INDEX contacts_id_unique ON sg.contacts (id);
ALTER TABLE sg.contacts DROP CONSTRAINT contacts_pkey;
DROP INDEX CONCURRENTLY sg.contacts_id_unique;
\echo :LAST_ERROR_SQLSTATE
/* the migration's step 3 */ DROP INDEX  CONCURRENTLY  IF EXISTS "sg" . "contacts_id_unique" RESTRICT;
\echo :LAST_ERROR_SQLSTATE
SET search_path = sg;
DROP INDEX CONCURRENTLY contacts_id_unique;
\echo :LAST_ERROR_SQLSTATE
RESET search_path;
DROP INDEX CONCURRENTLY sg.accounts_id_with_name;
SELECT to_regclass('sg.accounts_id_with_name') AS dropped, to_regclass('sg.contacts_id_unique') AS kept;
SELECT sg.crm_writes() AS writes;
-- (A name it cannot read, written with Unicode escapes, is dropped: only a WARNING
-- says what is left. The key is made unique again at once.)
DROP INDEX CONCURRENTLY sg.U&"contacts_id_unique";
ALTER TABLE sg.contacts ADD PRIMARY KEY (id);

-- A table made a partition, or an inheritance child: UPDATE and DELETE through the
-- parent (and, for a partition, INSERT) would reach its rows without firing its
-- statement triggers, and 0.2.0 let the change through, after which a DELETE through
-- the parent left the deleted events' points in the scores, silently. Refused (0A000,
-- as attach refuses such tables). A table inheriting from an attached table is not read
-- (the scoring reads ONLY the attached table): that goes through.
CREATE TABLE sg.all_events (LIKE sg.events) PARTITION BY RANGE (occurred_at);
CREATE TABLE sg.event_log (LIKE sg.events);
CREATE TABLE sg.people (country text);
ALTER TABLE sg.all_events ATTACH PARTITION sg.events DEFAULT;
\echo :LAST_ERROR_SQLSTATE
SELECT d.ddl, t.error, t.message FROM (VALUES
    ('ALTER TABLE sg.all_events ATTACH PARTITION sg.events FOR VALUES FROM (MINVALUE) TO (MAXVALUE)'),
    ('ALTER TABLE sg.events INHERIT sg.event_log'),
    ('ALTER TABLE sg.contacts INHERIT sg.people'),
    ('CREATE TABLE sg.more_events () INHERITS (sg.events)'),
    ('ALTER TABLE sg.event_log INHERIT sg.events')
) AS d(ddl), LATERAL sg.try(d.ddl) AS t;
-- A table made an inheritance child anyway (the guard disabled, as a superuser can, or
-- before 0.3.0): DDL on its parent that reaches it is refused, as on the table itself.
RESET ROLE;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
ALTER TABLE sg.contacts INHERIT sg.people;
ALTER EVENT TRIGGER lead_score_schema_guard_after ENABLE;
SET ROLE sg_owner;
SELECT * FROM sg.try('ALTER TABLE sg.people RENAME COLUMN country TO country_code');
SELECT * FROM sg.try('ALTER TABLE sg.people ALTER COLUMN country TYPE varchar(2)');
ALTER TABLE sg.contacts NO INHERIT sg.people;
DROP TABLE sg.people, sg.event_log, sg.all_events;
RESET ROLE;

-- A new owner for one of the tables while the others keep theirs: the scoring reads
-- them as their one owner, and after 0.2.0 let the change through every CRM write
-- failed (55000). Refused (55000, as attach refuses tables with different owners). A
-- change that keeps one owner goes through: REASSIGN OWNED, which gives every table of
-- the role to the new owner at once (and fires no event trigger), and the writes work
-- under the new owner; so does a new owner for the schema, which the scoring does not
-- read as.
CREATE ROLE sg_heir;
ALTER TABLE sg.events OWNER TO sg_heir;
\echo :LAST_ERROR_SQLSTATE
SELECT d.ddl, t.error, t.message FROM (VALUES
    ('ALTER TABLE sg.contacts OWNER TO sg_heir'),
    ('ALTER TABLE sg.accounts OWNER TO sg_heir'),
    ('ALTER TABLE sg.events OWNER TO sg_owner'),
    ('ALTER SCHEMA sg OWNER TO sg_heir')
) AS d(ddl), LATERAL sg.try(d.ddl) AS t;
BEGIN;
REASSIGN OWNED BY sg_owner TO sg_heir;
SELECT c.relname, c.relowner::regrole AS owner FROM pg_class c
 WHERE c.oid IN ('sg.contacts'::regclass, 'sg.events'::regclass, 'sg.accounts'::regclass) ORDER BY 1;
SELECT sg.crm_writes() AS writes;
ROLLBACK;
BEGIN;
ALTER SCHEMA sg OWNER TO sg_heir;
SELECT sg.crm_writes() AS writes;
ROLLBACK;

-- A superuser can bypass the guard (an event trigger can be disabled): then the writes
-- fail, as in 0.2.0: 42703 after the rename, on the contacts' and accounts' writes;
-- 55000 after the events' key changed type, on every write. With the guard back, DDL
-- on the broken tables goes through (only what a command breaks is refused), and so
-- does the repair, after which the writes work again.
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
ALTER TABLE sg.contacts RENAME COLUMN country TO country_code;
ALTER EVENT TRIGGER lead_score_schema_guard_after ENABLE;
SET LOCAL ROLE sg_owner;
SELECT sg.crm_writes() AS writes;
ALTER TABLE sg.contacts ADD COLUMN region text;
ALTER TABLE sg.contacts RENAME COLUMN country_code TO country;
SELECT sg.crm_writes() AS writes;
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
ALTER TABLE sg.events ALTER COLUMN contact_id TYPE integer;
ALTER EVENT TRIGGER lead_score_schema_guard_after ENABLE;
SET LOCAL ROLE sg_owner;
SELECT sg.crm_writes() AS writes;
ALTER TABLE sg.events ADD COLUMN campaign text;
ALTER TABLE sg.events ALTER COLUMN contact_id TYPE bigint;
SELECT sg.crm_writes() AS writes;
ROLLBACK;

-- The scores and verify() after all that: the refused DDL changed nothing.
SELECT id, score FROM lead_score."Guarded_scores" ORDER BY id;
SELECT count(*) AS verify_rows FROM lead_score.verify('Guarded');

-- Detached, the same DDL goes through.
SELECT lead_score.detach('Guarded');
SET ROLE sg_owner;
ALTER TABLE sg.contacts RENAME COLUMN country TO country_code;
ALTER TABLE sg.events ALTER COLUMN contact_id TYPE integer;
ALTER TABLE sg.events DROP COLUMN occurred_at;
DROP TABLE sg.accounts;
RESET ROLE;

SELECT lead_score.drop_profile('Guarded');
DROP SCHEMA sg CASCADE;
DROP ROLE sg_owner, sg_heir;
RESET lead_score.now;
