-- A partitioned events table (issue 29): attach() accepts one and puts the profile's
-- statement triggers on the parent and on every partition (a statement naming a
-- partition fires only the partition's statement triggers); the schema guard gives a
-- partition created or attached later its triggers, takes them from one detached, and
-- rescores the profile when a partition holding events comes or goes. After every kind
-- of write verify() finds nothing stale. Partitioned contacts tables, partitions as
-- the events table, and partitions of another owner (or not tables) are refused.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-12-31 00:00:00+00';

CREATE ROLE pe_owner;
CREATE ROLE pe_other;
-- (A member of the owner's role may create partitions; they would be its own.)
GRANT pe_owner TO pe_other;
CREATE SCHEMA pe AUTHORIZATION pe_owner;
GRANT CREATE, USAGE ON SCHEMA pe TO pe_other;
SET ROLE pe_owner;
CREATE TABLE pe.contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE pe.events (contact_id bigint, event_type text, occurred_at timestamptz, note text)
    PARTITION BY RANGE (occurred_at);
CREATE TABLE pe.events_2024_05 PARTITION OF pe.events FOR VALUES FROM ('2024-05-01') TO ('2024-06-01');
-- One with its own column layout (another order, and a dropped column): its transition
-- tables are read by column name, in its layout.
CREATE TABLE pe.events_2024_06 (junk integer, note text, occurred_at timestamptz, event_type text, contact_id bigint);
ALTER TABLE pe.events_2024_06 DROP COLUMN junk;
ALTER TABLE pe.events ATTACH PARTITION pe.events_2024_06 FOR VALUES FROM ('2024-06-01') TO ('2024-07-01');
CREATE INDEX ON pe.events (contact_id, occurred_at);
INSERT INTO pe.contacts VALUES (1, 'US'), (2, 'DE'), (3, 'US');
INSERT INTO pe.events VALUES (1, 'visit', '2024-05-20', NULL), (2, 'demo', '2024-06-02', NULL);
RESET ROLE;

-- Plain points (no decay): a contact's score is 100 if in the US, plus 1 a visit and
-- 10 a demo.
SELECT lead_score.create_profile('Parted') > 0 AS created;
SELECT count(lead_score.add_rule('Parted', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 100}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 1, "half_life": null}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Parted') AS version;
SELECT lead_score.attach('Parted', 'pe.contacts', 'pe.events');

-- The scores, and what verify() finds stale (nothing, after every write below).
CREATE FUNCTION pg_temp.scores(OUT scores text, OUT stale bigint) LANGUAGE sql AS $$
    SELECT (SELECT string_agg(id || ':' || round(score::numeric, 6), ' ' ORDER BY id)
              FROM lead_score."Parted_scores"),
           (SELECT count(*) FROM lead_score.verify('Parted'))
$$;
-- Which tables of the tree under pe.events (and the tables named) have how many of the
-- profile's triggers.
CREATE FUNCTION pg_temp.triggers(VARIADIC also regclass[] DEFAULT '{}')
RETURNS TABLE(relation regclass, triggers bigint) LANGUAGE sql AS $$
    SELECT r.relid, (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = r.relid AND t.tgname LIKE 'lead_score%')
      FROM (SELECT t.relid FROM pg_partition_tree('pe.events') t UNION SELECT unnest(also)) r
     ORDER BY r.relid::text
$$;
SELECT * FROM pg_temp.triggers();
SELECT * FROM pg_temp.scores();

-- Inserts through the parent, into both partitions (the parent's trigger), then
-- straight into each partition (their own triggers).
INSERT INTO pe.events VALUES (1, 'demo', '2024-05-21', NULL), (3, 'visit', '2024-06-03', NULL);
SELECT * FROM pg_temp.scores();
INSERT INTO pe.events_2024_06 (contact_id, event_type, occurred_at) VALUES (3, 'demo', '2024-06-04');
INSERT INTO pe.events_2024_05 (contact_id, event_type, occurred_at) VALUES (2, 'visit', '2024-05-04');
SELECT * FROM pg_temp.scores();

-- COPY, into the parent and into a partition.
COPY pe.events (contact_id, event_type, occurred_at) FROM stdin;
1	visit	2024-06-05
2	visit	2024-05-06
\.
COPY pe.events_2024_06 (contact_id, event_type, occurred_at) FROM stdin;
2	demo	2024-06-07
\.
SELECT * FROM pg_temp.scores();

-- UPDATE: one that moves a row to the other partition (through the parent), one that
-- gives an event to another contact, straight in a partition.
UPDATE pe.events SET occurred_at = '2024-06-08', contact_id = 3 WHERE contact_id = 1 AND occurred_at = '2024-05-21';
SELECT tableoid::regclass AS partition, contact_id, event_type FROM pe.events WHERE occurred_at = '2024-06-08';
SELECT * FROM pg_temp.scores();
UPDATE pe.events_2024_05 SET contact_id = 1 WHERE contact_id = 2 AND occurred_at = '2024-05-04';
SELECT * FROM pg_temp.scores();

-- DELETE, through the parent and straight from a partition.
DELETE FROM pe.events WHERE contact_id = 2 AND occurred_at = '2024-05-06';
DELETE FROM pe.events_2024_06 WHERE contact_id = 1 AND occurred_at = '2024-06-05';
SELECT * FROM pg_temp.scores();

-- TRUNCATE of one partition.
TRUNCATE pe.events_2024_05;
SELECT * FROM pg_temp.scores();

-- A partition created later gets the triggers (as the owner: see below for another
-- role), at every level of a sub-partitioned one; writes straight into it are scored.
SET ROLE pe_owner;
CREATE TABLE pe.events_2024_07 PARTITION OF pe.events FOR VALUES FROM ('2024-07-01') TO ('2024-08-01');
CREATE TABLE pe.events_2024_08 PARTITION OF pe.events FOR VALUES FROM ('2024-08-01') TO ('2024-09-01')
    PARTITION BY LIST (event_type);
CREATE TABLE pe.events_2024_08_demos PARTITION OF pe.events_2024_08 FOR VALUES IN ('demo');
RESET ROLE;
SELECT * FROM pg_temp.triggers();
INSERT INTO pe.events_2024_07 (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-07-01');
INSERT INTO pe.events_2024_08_demos (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-08-01');
INSERT INTO pe.events_2024_08 (contact_id, event_type, occurred_at) VALUES (2, 'demo', '2024-08-02');
SELECT * FROM pg_temp.scores();

-- ATTACH PARTITION of a table already holding events (Postgres fires no trigger): the
-- profile is rescored in the same transaction, and the table gets the triggers.
SET ROLE pe_owner;
CREATE TABLE pe.events_2024_04 (LIKE pe.events);
INSERT INTO pe.events_2024_04 VALUES (2, 'demo', '2024-04-10', NULL), (2, 'demo', '2024-04-11', NULL);
RESET ROLE;
SELECT * FROM pg_temp.scores();
-- (What this transaction holds of the profile's score table: the rescore takes it in
-- EXCLUSIVE mode.)
CREATE FUNCTION pg_temp.score_table_locks() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(l.mode, ', ' ORDER BY l.mode), 'none')
      FROM pg_locks l JOIN lead_score.attachment_store a
        ON l.relation = format('lead_score.%I', a.state_table)::regclass
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
$$;
BEGIN;
SET LOCAL ROLE pe_owner;
ALTER TABLE pe.events ATTACH PARTITION pe.events_2024_04 FOR VALUES FROM ('2024-04-01') TO ('2024-05-01');
RESET ROLE;
SELECT pg_temp.score_table_locks();
SELECT * FROM pg_temp.scores();
COMMIT;
SELECT * FROM pg_temp.triggers();
INSERT INTO pe.events_2024_04 VALUES (3, 'visit', '2024-04-12', NULL);
SELECT * FROM pg_temp.scores();

-- DETACH PARTITION: its events leave the scores, and it loses the triggers (a write
-- to it then changes nothing).
SET ROLE pe_owner;
ALTER TABLE pe.events DETACH PARTITION pe.events_2024_04;
RESET ROLE;
SELECT * FROM pg_temp.triggers('pe.events_2024_04');
SELECT * FROM pg_temp.scores();
INSERT INTO pe.events_2024_04 VALUES (1, 'demo', '2024-04-13', NULL);
SELECT * FROM pg_temp.scores();

-- An empty table attached or detached (as pg_partman attaches each new month) gets or
-- loses the triggers, and nothing is rescored: the score table is not even locked.
SET ROLE pe_owner;
CREATE TABLE pe.events_2023_12 (LIKE pe.events);
RESET ROLE;
BEGIN;
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023_12 FOR VALUES FROM ('2023-12-01') TO ('2024-01-01');
SELECT pg_temp.score_table_locks();
SELECT * FROM pg_temp.triggers() WHERE relation = 'pe.events_2023_12'::regclass;
COMMIT;
BEGIN;
ALTER TABLE pe.events DETACH PARTITION pe.events_2023_12;
SELECT pg_temp.score_table_locks();
SELECT * FROM pg_temp.triggers('pe.events_2023_12') WHERE relation = 'pe.events_2023_12'::regclass;
COMMIT;
-- DETACH ... CONCURRENTLY (its own two transactions) of a partition holding events.
INSERT INTO pe.events_2024_05 VALUES (3, 'demo', '2024-05-30', NULL);
SELECT * FROM pg_temp.scores();
ALTER TABLE pe.events DETACH PARTITION pe.events_2024_05 CONCURRENTLY;
SELECT * FROM pg_temp.triggers('pe.events_2024_05');
SELECT * FROM pg_temp.scores();
ALTER TABLE pe.events ATTACH PARTITION pe.events_2024_05 FOR VALUES FROM ('2024-05-01') TO ('2024-06-01');
SELECT * FROM pg_temp.scores();

-- DROP TABLE of a partition holding events: rescored too.
SET ROLE pe_owner;
DROP TABLE pe.events_2024_07;
RESET ROLE;
SELECT * FROM pg_temp.scores();

-- Refused: a partition another role would own (created by a member of the owner's
-- role, attached by a superuser, or given another owner), and a partition that is not
-- a table. Nothing changes.
SET ROLE pe_other;
CREATE TABLE pe.events_2024_09 PARTITION OF pe.events FOR VALUES FROM ('2024-09-01') TO ('2024-10-01');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE pe.events_2024_10 (LIKE pe.events);
RESET ROLE;
ALTER TABLE pe.events ATTACH PARTITION pe.events_2024_10 FOR VALUES FROM ('2024-10-01') TO ('2024-11-01');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pe.events_2024_06 OWNER TO pe_other;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pe.events_2024_08_demos OWNER TO pe_other;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN DATA WRAPPER pe_fdw;
CREATE SERVER pe_server FOREIGN DATA WRAPPER pe_fdw;
CREATE FOREIGN TABLE pe.events_2024_11 PARTITION OF pe.events FOR VALUES FROM ('2024-11-01') TO ('2024-12-01')
    SERVER pe_server;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.triggers();
SELECT * FROM pg_temp.scores();

-- Within a security-restricted operation (an index expression the owner planted, which
-- a superuser's ANALYZE evaluates as the owner) the guard does not act for anybody: a
-- partition created, detached or dropped there is refused (42501).
SET ROLE pe_owner;
CREATE FUNCTION pe.run(ddl text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE ddl;
END $$;
CREATE FUNCTION pe.planted(x integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('pe.ddl', true) <> '' THEN
        PERFORM pe.run(current_setting('pe.ddl'));
    END IF;
    RETURN x;
END $$;
CREATE TABLE pe.t (x integer);
INSERT INTO pe.t VALUES (1);
CREATE INDEX ON pe.t (pe.planted(x));
RESET ROLE;
CREATE FUNCTION pg_temp.planted(ddl text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('pe.ddl', ddl, true);
    ANALYZE pe.t;
    RETURN 'ran';
EXCEPTION WHEN insufficient_privilege THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT what, pg_temp.planted(ddl) AS outcome FROM (VALUES
  ('create', 'CREATE TABLE pe.events_2024_12 PARTITION OF pe.events FOR VALUES FROM (''2024-12-01'') TO (''2025-01-01'')'),
  ('detach', 'ALTER TABLE pe.events DETACH PARTITION pe.events_2024_06'),
  ('drop', 'DROP TABLE pe.events_2024_08_demos')) AS d(what, ddl);
SELECT * FROM pg_temp.triggers();
SELECT * FROM pg_temp.scores();

-- No query on a partition is planned or run with the extension's rights: planning one
-- evaluates the table's statistics and index expressions (constant folding), its
-- owner's code. The owner plants a function in both, recording who runs it (and
-- making itself superuser if that is one); attaching and detaching partitions holding
-- events (the rescore sees whether each holds a row, and reads their contacts) must
-- run it only as the owner, never as a superuser.
SET ROLE pe_owner;
CREATE TABLE pe.seen (who name, super boolean);
CREATE FUNCTION pe.record() RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO pe.seen SELECT current_user, r.rolsuper FROM pg_roles r WHERE r.rolname = current_user;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        ALTER ROLE pe_owner SUPERUSER;
    END IF;
END $$;
CREATE FUNCTION pe.folded(x integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pe.record();
    RETURN x;
END $$;
CREATE TABLE pe.events_2023_10 (LIKE pe.events);
CREATE STATISTICS pe.events_2023_10_planted ON ((contact_id + pe.folded(1))) FROM pe.events_2023_10;
CREATE TABLE pe.events_2023_11 (LIKE pe.events);
CREATE INDEX ON pe.events_2023_11 ((contact_id + pe.folded(1)));
INSERT INTO pe.events_2023_10 VALUES (3, 'visit', '2023-10-10', NULL);
INSERT INTO pe.events_2023_11 VALUES (3, 'visit', '2023-11-10', NULL);
TRUNCATE pe.seen;
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023_10 FOR VALUES FROM ('2023-10-01') TO ('2023-11-01');
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023_11 FOR VALUES FROM ('2023-11-01') TO ('2023-12-01');
RESET ROLE;
SELECT * FROM pg_temp.scores();
SET ROLE pe_owner;
ALTER TABLE pe.events DETACH PARTITION pe.events_2023_10;
ALTER TABLE pe.events DETACH PARTITION pe.events_2023_11;
RESET ROLE;
SELECT * FROM pg_temp.scores();
SELECT coalesce(bool_or(s.super), false) AS ran_as_superuser,
       string_agg(DISTINCT s.who, ', ') FILTER (WHERE NOT s.super) AS ran_as,
       (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = 'pe_owner') AS owner_is_superuser
  FROM pe.seen s;
ALTER ROLE pe_owner NOSUPERUSER;
SET ROLE pe_owner;
DROP TABLE pe.events_2023_10, pe.events_2023_11, pe.seen;
DROP FUNCTION pe.folded(integer), pe.record();
RESET ROLE;

-- A sub-partitioned table whose leaf lives in another role's schema, which then
-- revokes the owner's USAGE on it: the owner's ATTACH and DETACH of the parent go
-- through as in Postgres (which never names the leaf), and the leaf's events are
-- scored, then taken out (contact 2's demo: 10): the guard reads each table by its
-- oid, never by its name.
CREATE ROLE pe_archivist;
CREATE SCHEMA pe_archive AUTHORIZATION pe_archivist;
GRANT USAGE, CREATE ON SCHEMA pe_archive TO pe_owner;
SET ROLE pe_owner;
CREATE TABLE pe.events_2023q3 (LIKE pe.events) PARTITION BY RANGE (occurred_at);
CREATE TABLE pe_archive.events_2023_08 PARTITION OF pe.events_2023q3 FOR VALUES FROM ('2023-07-01') TO ('2023-10-01');
INSERT INTO pe.events_2023q3 VALUES (2, 'demo', '2023-08-01', NULL);
RESET ROLE;
SET ROLE pe_archivist;
REVOKE USAGE, CREATE ON SCHEMA pe_archive FROM pe_owner;
RESET ROLE;
SELECT * FROM pg_temp.scores();
SET ROLE pe_owner;
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023q3 FOR VALUES FROM ('2023-07-01') TO ('2023-10-01');
\echo :SQLSTATE
RESET ROLE;
SELECT * FROM pg_temp.scores();
SET ROLE pe_owner;
ALTER TABLE pe.events DETACH PARTITION pe.events_2023q3;
\echo :SQLSTATE
RESET ROLE;
SELECT * FROM pg_temp.scores();
SELECT * FROM pg_temp.triggers('pe.events_2023q3', 'pe_archive.events_2023_08');
SET ROLE pe_owner;
DROP TABLE pe.events_2023q3;
RESET ROLE;
DROP SCHEMA pe_archive;
DROP ROLE pe_archivist;

-- A partition that lost one of the profile's triggers (its owner dropped it) makes
-- nobody's DDL fail: other roles' commands, which touch no partition, are left alone,
-- and verify() reports it, and the contacts its unscored writes left stale. The next command
-- altering it gives it back only the trigger it lacks, and rescores its contacts.
CREATE ROLE pe_plain;
SET ROLE pe_owner;
-- (Not echoed: the name holds the profile's id.)
\set ECHO none
SELECT format('DROP TRIGGER %I ON pe.events_2024_06', t.tgname) FROM pg_trigger t
 WHERE t.tgrelid = 'pe.events_2024_06'::regclass AND t.tgname LIKE 'lead_score%insert' \gexec
\set ECHO all
RESET ROLE;
-- (verify() names the partition at once, and then the contact its write left stale.)
SELECT contact, difference FROM lead_score.verify('Parted');
SET ROLE pe_owner;
INSERT INTO pe.events_2024_06 (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-06-20');
RESET ROLE;
SELECT contact, difference FROM lead_score.verify('Parted');
SET ROLE pe_plain;
CREATE TEMP TABLE pe_plain_t (x integer);
\echo :SQLSTATE
DROP TABLE pe_plain_t;
RESET ROLE;
CREATE TABLE public.pe_super_t (x integer);
\echo :SQLSTATE
DROP TABLE public.pe_super_t;
SELECT * FROM pg_temp.triggers() WHERE relation = 'pe.events_2024_06'::regclass;
SELECT * FROM pg_temp.scores();
SET ROLE pe_owner;
ALTER TABLE pe.events_2024_06 SET (fillfactor = 100);
RESET ROLE;
SELECT * FROM pg_temp.triggers() WHERE relation = 'pe.events_2024_06'::regclass;
SELECT * FROM pg_temp.scores();

-- Ours are known by what they are (our function, the profile's id, the kind of
-- trigger), not by name. One its owner renamed (ALTER TRIGGER ... RENAME) is still the
-- profile's: verify() finds none missing, the next command touching the partition adds
-- no second one, and a write into it is scored once.
SELECT id AS parted_id FROM lead_score.profile_store WHERE name = 'Parted' \gset
SET ROLE pe_owner;
\set ECHO none
SELECT format('ALTER TRIGGER %I ON pe.events_2024_06 RENAME TO %I', t.tgname,
              regexp_replace(t.tgname, '^lead_score_[0-9]+_', 'renamed_'))
  FROM pg_trigger t WHERE t.tgrelid = 'pe.events_2024_06'::regclass AND t.tgname LIKE 'lead_score%insert' \gexec
\set ECHO all
RESET ROLE;
SELECT contact, difference FROM lead_score.verify('Parted');
SET ROLE pe_owner;
ALTER TABLE pe.events_2024_06 SET (fillfactor = 90);
RESET ROLE;
SELECT count(*) AS triggers, count(*) FILTER (WHERE tgname = 'renamed_events_insert') AS renamed
  FROM pg_trigger WHERE tgrelid = 'pe.events_2024_06'::regclass;
INSERT INTO pe.events_2024_06 (contact_id, event_type, occurred_at) VALUES (3, 'visit', '2024-06-21');
SELECT * FROM pg_temp.scores();
-- And a profile whose triggers on its contacts and events tables were all renamed is
-- still in force: the schema guard refuses to drop a column it reads (2BP01).
SET ROLE pe_owner;
\set ECHO none
SELECT format('ALTER TRIGGER %I ON %s RENAME TO %I', t.tgname, t.tgrelid::regclass,
              regexp_replace(t.tgname, '^lead_score_[0-9]+_', 'renamed_'))
  FROM pg_trigger t WHERE t.tgrelid IN ('pe.contacts'::regclass, 'pe.events'::regclass)
   AND t.tgname LIKE 'lead_score%' \gexec
\set ECHO all
ALTER TABLE pe.contacts DROP COLUMN country;
\echo :SQLSTATE
-- (Their names back, for the counts below.)
\set ECHO none
SELECT format('ALTER TRIGGER %I ON %s RENAME TO %I', t.tgname, t.tgrelid::regclass,
              regexp_replace(t.tgname, '^renamed_', 'lead_score_' || :parted_id || '_'))
  FROM pg_trigger t WHERE t.tgrelid IN ('pe.contacts'::regclass, 'pe.events'::regclass, 'pe.events_2024_06'::regclass)
   AND t.tgname LIKE 'renamed\_%' \gexec
\set ECHO all
RESET ROLE;
SELECT * FROM pg_temp.triggers('pe.contacts');

-- A command locks none of the partitions of an attached tree (the schema guard reads
-- the tree from pg_inherits): anybody's DDL, a temp table's here, would otherwise lock
-- every partition of every attached tree until its transaction ends, and wait for any
-- role holding a lock on one.
SET ROLE pe_plain;
BEGIN;
CREATE TEMP TABLE pe_plain_locks (x integer);
SELECT count(*) AS partitions_locked
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relnamespace = 'pe'::regnamespace;
ROLLBACK;
RESET ROLE;

-- verify() names each table of the profile's with one of its triggers disabled
-- (DISABLE TRIGGER, or ENABLE REPLICA TRIGGER, which fires only for replication):
-- writes there are not scored, and the contacts they leave stale show too.
SET ROLE pe_owner;
\set ECHO none
SELECT format('ALTER TABLE %s %s TRIGGER %I', t.tgrelid::regclass,
              CASE WHEN t.tgrelid = 'pe.events'::regclass THEN 'ENABLE REPLICA' ELSE 'DISABLE' END, t.tgname)
  FROM pg_trigger t WHERE t.tgrelid IN ('pe.events'::regclass, 'pe.events_2024_06'::regclass)
   AND t.tgname LIKE 'lead_score%insert' \gexec
\set ECHO all
ALTER TABLE pe.contacts DISABLE TRIGGER USER;
INSERT INTO pe.events_2024_06 (contact_id, event_type, occurred_at) VALUES (2, 'visit', '2024-06-22');
RESET ROLE;
SELECT contact, difference FROM lead_score.verify('Parted');
SET ROLE pe_owner;
ALTER TABLE pe.contacts ENABLE TRIGGER USER;
ALTER TABLE pe.events ENABLE TRIGGER USER;
ALTER TABLE pe.events_2024_06 ENABLE TRIGGER USER;
RESET ROLE;
SELECT lead_score.rescore('Parted') > 0 AS rescored;
SELECT * FROM pg_temp.scores();

-- A partition created by a CREATE SCHEMA's element (tag CREATE SCHEMA) is followed as
-- any: it gets the triggers, and one another role would own is refused (55000).
CREATE SCHEMA pe_elements AUTHORIZATION pe_owner
    CREATE TABLE events_2023_09 PARTITION OF pe.events FOR VALUES FROM ('2023-09-01') TO ('2023-10-01');
SELECT * FROM pg_temp.triggers() WHERE relation::text LIKE 'pe_elements.%';
INSERT INTO pe_elements.events_2023_09 VALUES (2, 'visit', '2023-09-10', NULL);
SELECT * FROM pg_temp.scores();
CREATE SCHEMA pe_elements_2
    CREATE TABLE events_2023_08 PARTITION OF pe.events FOR VALUES FROM ('2023-08-01') TO ('2023-09-01');
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA pe_elements CASCADE;
SELECT * FROM pg_temp.scores();

-- A trigger merely named like the profile's on a table attached as a partition is
-- refused (42710): it would stand in for the profile's own. Nothing changes.
SET ROLE pe_owner;
CREATE FUNCTION pe.nothing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TABLE pe.events_2023_07 (LIKE pe.events);
\set ECHO none
SELECT format('CREATE TRIGGER %I AFTER INSERT ON pe.events_2023_07 FOR EACH STATEMENT EXECUTE FUNCTION pe.nothing()',
              'lead_score_' || :parted_id || '_events_insert') \gexec
\set ECHO all
INSERT INTO pe.events_2023_07 VALUES (2, 'demo', '2023-07-10', NULL);
-- (The error without the profile's id.)
\set VERBOSITY sqlstate
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023_07 FOR VALUES FROM ('2023-07-01') TO ('2023-08-01');
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', '(lead_score_|profile )[0-9]+', '\1<id>', 'g') AS message;
RESET ROLE;
SELECT * FROM pg_temp.triggers('pe.events_2023_07') WHERE relation = 'pe.events_2023_07'::regclass;
SELECT * FROM pg_temp.scores();
-- So is one with the profile's name and our function but another profile's id, or
-- another kind (BEFORE TRUNCATE): neither is the profile's own.
SET ROLE pe_owner;
CREATE TABLE pe.events_2023_06 (LIKE pe.events);
RESET ROLE;
\set ECHO none
SELECT format('CREATE TRIGGER %I AFTER INSERT ON pe.events_2023_06 REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION lead_score.on_events_change(%L)',
              'lead_score_' || :parted_id || '_events_insert', :parted_id + 1000) \gexec
\set ECHO all
\set VERBOSITY sqlstate
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023_06 FOR VALUES FROM ('2023-06-01') TO ('2023-07-01');
\echo :SQLSTATE
\set VERBOSITY default
\set ECHO none
SELECT format('DROP TRIGGER %I ON pe.events_2023_06', 'lead_score_' || :parted_id || '_events_insert') \gexec
SELECT format('CREATE TRIGGER %I BEFORE TRUNCATE ON pe.events_2023_06 FOR EACH STATEMENT EXECUTE FUNCTION lead_score.on_events_change(%L)',
              'lead_score_' || :parted_id || '_events_truncate', :parted_id) \gexec
\set ECHO all
\set VERBOSITY sqlstate
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023_06 FOR VALUES FROM ('2023-06-01') TO ('2023-07-01');
\echo :SQLSTATE
\set VERBOSITY default
DROP TABLE pe.events_2023_06;

-- A partition with row security forced is refused (55000), attached or forced later:
-- its policies would hide from the owner-side rescore rows the parent's reads see.
SET ROLE pe_owner;
DROP TABLE pe.events_2023_07;
CREATE TABLE pe.events_2023_07 (LIKE pe.events);
INSERT INTO pe.events_2023_07 VALUES (2, 'demo', '2023-07-10', NULL);
ALTER TABLE pe.events_2023_07 ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE pe.events ATTACH PARTITION pe.events_2023_07 FOR VALUES FROM ('2023-07-01') TO ('2023-08-01');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pe.events_2024_06 FORCE ROW LEVEL SECURITY;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE pe.events_2023_07;
DROP FUNCTION pe.nothing();
RESET ROLE;
SELECT * FROM pg_temp.triggers();
SELECT * FROM pg_temp.scores();

-- detach() leaves no trigger of the profile on the parent or on any partition.
SELECT lead_score.detach('Parted');
SELECT * FROM pg_temp.triggers('pe.events_2024_04');

-- attach() refuses a partitioned contacts table, a partition as the events table, and
-- a partitioned events table with a partition of another owner or a foreign one.
SET ROLE pe_owner;
CREATE TABLE pe.parted_contacts (id bigint, country text) PARTITION BY HASH (id);
CREATE TABLE pe.parted_contacts_0 PARTITION OF pe.parted_contacts FOR VALUES WITH (MODULUS 1, REMAINDER 0);
RESET ROLE;
SELECT lead_score.attach('Parted', 'pe.parted_contacts', 'pe.events', '{"contact_key": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Parted', 'pe.contacts', 'pe.events_2024_06');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pe.events ATTACH PARTITION pe.events_2024_10 FOR VALUES FROM ('2024-10-01') TO ('2024-11-01');
SELECT lead_score.attach('Parted', 'pe.contacts', 'pe.events');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pe.events DETACH PARTITION pe.events_2024_10;
CREATE FOREIGN TABLE pe.events_2024_11 PARTITION OF pe.events FOR VALUES FROM ('2024-11-01') TO ('2024-12-01')
    SERVER pe_server;
SELECT lead_score.attach('Parted', 'pe.contacts', 'pe.events');
\echo :LAST_ERROR_SQLSTATE
DROP FOREIGN TABLE pe.events_2024_11;
-- Without them it attaches again, and the scores are those of the events it holds.
SELECT lead_score.attach('Parted', 'pe.contacts', 'pe.events');
SELECT * FROM pg_temp.scores();
SELECT lead_score.detach('Parted');

-- A table's owner renaming one of its profile's triggers to another profile's name
-- (ALTER TRIGGER ... RENAME) does not make that trigger the other profile's: the
-- schema guard knows ours by the profile id they pass, so the next DDL on the table
-- neither drops it as the other profile's nor rescores the table for it, whose reads
-- would run the table owner's code (a statistics expression here) as the other
-- profile's CRM owner (here a superuser).
CREATE ROLE pe_team;
CREATE SCHEMA pe_team AUTHORIZATION pe_team;
SET ROLE pe_team;
CREATE TABLE pe_team.contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE pe_team.events (contact_id bigint, event_type text, occurred_at timestamptz)
    PARTITION BY RANGE (occurred_at);
CREATE TABLE pe_team.events_2024 PARTITION OF pe_team.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO pe_team.contacts VALUES (1, 'US');
INSERT INTO pe_team.events VALUES (1, 'visit', '2024-05-20');
RESET ROLE;
CREATE SCHEMA pe_main;
CREATE TABLE pe_main.contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE pe_main.events (contact_id bigint, event_type text, occurred_at timestamptz)
    PARTITION BY RANGE (occurred_at);
CREATE TABLE pe_main.events_2024 PARTITION OF pe_main.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO pe_main.contacts VALUES (1, 'US');
SELECT lead_score.create_profile('PeTeam') AS team_id, lead_score.create_profile('PeMain') AS main_id \gset
SELECT count(lead_score.add_rule(p, 'Visit', '{"kind": "event", "event": "visit", "points": 1, "half_life": null}'))
       AS rules, count(lead_score.publish(p)) AS published
  FROM unnest(ARRAY['PeTeam', 'PeMain']) p;
SELECT lead_score.attach('PeTeam', 'pe_team.contacts', 'pe_team.events') IS NOT NULL AS attached;
SELECT lead_score.attach('PeMain', 'pe_main.contacts', 'pe_main.events') IS NOT NULL AS attached;
SELECT format('lead_score_%s_events_truncate', :team_id) AS team_trigger,
       format('lead_score_%s_events_truncate', :main_id) AS main_trigger \gset
SET ROLE pe_team;
CREATE FUNCTION pe_team.folded(x integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF current_user <> 'pe_team' THEN
        RAISE NOTICE 'pe_team''s code ran as %', current_user;
    END IF;
    RETURN x;
END $$;
CREATE STATISTICS pe_team.planted ON ((contact_id + pe_team.folded(1))) FROM pe_team.events_2024;
ALTER TRIGGER :"team_trigger" ON pe_team.events_2024 RENAME TO :"main_trigger";
ALTER TABLE pe_team.events_2024 SET (fillfactor = 90);
RESET ROLE;
-- (The renamed one stays, still PeTeam's: it gets no second one. Four.)
SELECT count(*) AS triggers, count(*) FILTER (WHERE tgname = :'main_trigger') AS renamed
  FROM pg_trigger WHERE tgrelid = 'pe_team.events_2024'::regclass;
-- PeMain's contact 1 has no event: no score for it from pe_team's visit.
SELECT count(*) AS main_scored FROM lead_score."PeMain_scores" WHERE score <> 0;
-- Dropping a table with a trigger of a profile's name (any role's temp table) is not
-- dropping one of its partitions: no rescore of the profile (which would hold its score
-- table EXCLUSIVE). A stored score made wrong shows whether it was rescored.
SELECT format('lead_score.%I', 'state_' || :main_id) AS main_state,
       format('lead_score_%s_events_insert', :main_id) AS main_insert \gset
UPDATE :main_state SET fit = fit + 5 WHERE contact_key = 1;
SET ROLE pe_plain;
CREATE FUNCTION pg_temp.nothing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TEMP TABLE decoy (x integer);
CREATE TRIGGER :"main_insert" AFTER INSERT ON decoy FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.nothing();
DROP TABLE decoy;
DROP FUNCTION pg_temp.nothing();
RESET ROLE;
SELECT id, score FROM lead_score."PeMain_scores" ORDER BY id;
-- Dropping one of its partitions does rescore it.
DROP TABLE pe_main.events_2024;
SELECT id, score FROM lead_score."PeMain_scores" ORDER BY id;
-- detach() drops a profile's triggers by what they are: PeMain's leaves the renamed one
-- of PeTeam's, and PeTeam's drops it with its others.
SELECT lead_score.detach('PeMain');
SELECT count(*) AS triggers, count(*) FILTER (WHERE tgname = :'main_trigger') AS renamed
  FROM pg_trigger WHERE tgrelid = 'pe_team.events_2024'::regclass;
SELECT lead_score.detach('PeTeam');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'pe_team.events_2024'::regclass;
SELECT lead_score.drop_profile('PeTeam'), lead_score.drop_profile('PeMain');
DROP SCHEMA pe_team CASCADE;
DROP SCHEMA pe_main CASCADE;
DROP ROLE pe_team;

DROP SCHEMA pe CASCADE;
DROP SERVER pe_server;
DROP FOREIGN DATA WRAPPER pe_fdw;
SELECT lead_score.drop_profile('Parted');
DROP ROLE pe_owner;
DROP ROLE pe_other;
DROP ROLE pe_plain;
