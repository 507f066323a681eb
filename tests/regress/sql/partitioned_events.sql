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

DROP SCHEMA pe CASCADE;
DROP SERVER pe_server;
DROP FOREIGN DATA WRAPPER pe_fdw;
SELECT lead_score.drop_profile('Parted');
DROP ROLE pe_owner;
DROP ROLE pe_other;
