-- Replicated writes (issue 29): a logical-replication subscription's apply worker
-- writes with session_replication_role = replica and fires row triggers only (and
-- truncate's statement trigger), never the statement triggers the CRM's own writes are
-- scored by. attach() gives each table the profile's row triggers for them (ENABLE
-- REPLICA) and makes its truncate trigger ENABLE ALWAYS; under that role the statement
-- triggers leave the rows to the row triggers, so nothing counts twice (a
-- subscription's initial copy fires both). Here the role is set by hand, as the apply
-- worker sets it; tests/replication/run.sh replicates between two databases.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-10 00:00:00+00';
CREATE SCHEMA rw;
CREATE TABLE rw.contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE rw.events (id bigint PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON rw.events (contact_id, occurred_at);
INSERT INTO rw.contacts VALUES (1, 'US'), (2, 'DE'), (3, 'US');
INSERT INTO rw.events VALUES (1, 1, 'visit', '2024-06-01');

-- US fit 100; a visit 1, a demo 10, for good.
SELECT lead_score.create_profile('Replicated') > 0 AS created;
SELECT count(lead_score.add_rule('Replicated', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 100}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 1, "half_life": null}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Replicated');
SELECT lead_score.attach('Replicated', 'rw.contacts', 'rw.events');
CREATE FUNCTION pg_temp.scores(OUT scores text, OUT stale bigint) LANGUAGE sql AS $$
    SELECT (SELECT string_agg(id || ':' || score, ' ' ORDER BY id) FROM lead_score."Replicated_scores"),
           (SELECT count(*) FROM lead_score.verify('Replicated'))
$$;
-- The triggers on each table and the writes they fire for: O (the CRM's own), R
-- (replicated only), A (both).
SELECT c.relname, regexp_replace(t.tgname, '^lead_score_[0-9]+_', 'lead_score_<id>_') AS trigger, t.tgenabled
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'rw'::regnamespace AND t.tgname LIKE 'lead_score%'
 ORDER BY 1, 2;
SELECT * FROM pg_temp.scores();

-- Replicated writes, as the apply worker makes them: one row per statement; and a
-- multi-row insert, an update, a delete and a COPY under the same role (as a
-- subscription's initial copy, or a tool that replays changes): each row scored once.
SET session_replication_role = replica;
INSERT INTO rw.events VALUES (2, 1, 'demo', '2024-06-02');
INSERT INTO rw.events VALUES (3, 2, 'visit', '2024-06-02'), (4, 2, 'visit', '2024-06-03'), (5, 3, 'demo', '2024-06-03');
UPDATE rw.events SET contact_id = 3 WHERE id = 4;
DELETE FROM rw.events WHERE id = 1;
COPY rw.events FROM STDIN;
6	2	demo	2024-06-04 00:00:00+00
7	2	visit	2024-06-04 00:00:00+00
\.
UPDATE rw.contacts SET country = 'US' WHERE id = 2;
INSERT INTO rw.contacts VALUES (4, 'US');
RESET session_replication_role;
-- 1: 100 + 10 (its visit deleted); 2: 100 + 1 + 10 + 1; 3: 100 + 10 + 1; 4: 100.
SELECT * FROM pg_temp.scores();
-- The CRM's own writes, as before: scored once by the statement triggers.
INSERT INTO rw.events VALUES (8, 4, 'visit', '2024-06-05'), (9, 4, 'visit', '2024-06-05');
SELECT * FROM pg_temp.scores();
-- A replicated TRUNCATE (the apply worker fires truncate triggers): everyone rescored.
SET session_replication_role = replica;
TRUNCATE rw.events;
RESET session_replication_role;
SELECT * FROM pg_temp.scores();

-- DISABLE TRIGGER USER and ENABLE TRIGGER USER (around a bulk load, say) set every
-- trigger to fire for the CRM's writes alone; the schema guard gives ours their modes
-- back at once. Disabled, they are named by verify(): the row ones as 'triggers skip
-- replication' (replicated writes would go unscored), the statement ones as 'triggers
-- disabled'.
ALTER TABLE rw.events DISABLE TRIGGER USER;
SELECT contact, difference FROM lead_score.verify('Replicated');
ALTER TABLE rw.events ENABLE TRIGGER USER;
SELECT regexp_replace(t.tgname, '^lead_score_[0-9]+_', 'lead_score_<id>_') AS trigger, t.tgenabled FROM pg_trigger t
 WHERE t.tgrelid = 'rw.events'::regclass AND t.tgname LIKE 'lead_score%' ORDER BY 1;
SELECT contact, difference FROM lead_score.verify('Replicated');
SELECT tgname AS row_trigger FROM pg_trigger
 WHERE tgrelid = 'rw.events'::regclass AND tgname LIKE 'lead_score%insert_replicated' \gset
ALTER TABLE rw.events DISABLE TRIGGER :"row_trigger";
SELECT contact, difference FROM lead_score.verify('Replicated');
ALTER TABLE rw.events ENABLE REPLICA TRIGGER :"row_trigger";
SELECT contact, difference FROM lead_score.verify('Replicated');

-- A statement trigger set to fire under that role too (ENABLE ALWAYS, by hand) still
-- leaves the rows to the row triggers: contact 3's demo counts once (100 + 10).
SELECT tgname AS statement_trigger FROM pg_trigger
 WHERE tgrelid = 'rw.events'::regclass AND tgname LIKE 'lead_score%events_insert' \gset
ALTER TABLE rw.events ENABLE ALWAYS TRIGGER :"statement_trigger";
SET session_replication_role = replica;
INSERT INTO rw.events VALUES (10, 3, 'demo', '2024-06-06');
RESET session_replication_role;
SELECT * FROM pg_temp.scores();
ALTER TABLE rw.events ENABLE TRIGGER :"statement_trigger";

-- A partitioned events table: the partitions carry the row triggers (a partitioned
-- table has none: Postgres would clone them as the role creating the partition), and
-- a replicated row routed through the parent is scored by its partition's.
CREATE TABLE rw.parted (id bigint, contact_id bigint, event_type text, occurred_at timestamptz)
    PARTITION BY RANGE (occurred_at);
CREATE TABLE rw.parted_06 PARTITION OF rw.parted FOR VALUES FROM ('2024-06-01') TO ('2024-07-01');
SELECT lead_score.detach('Replicated');
SELECT lead_score.attach('Replicated', 'rw.contacts', 'rw.parted');
SELECT c.relname, count(*) FILTER (WHERE t.tgenabled = 'O') AS own, count(*) FILTER (WHERE t.tgenabled = 'R') AS replicated,
       count(*) FILTER (WHERE t.tgenabled = 'A') AS both
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relname LIKE 'parted%' AND t.tgname LIKE 'lead_score%' GROUP BY 1 ORDER BY 1;
-- A partition created later gets them too (from the schema guard). 1: 100 + a demo;
-- 2: 100 + a visit.
CREATE TABLE rw.parted_07 PARTITION OF rw.parted FOR VALUES FROM ('2024-07-01') TO ('2024-08-01');
SET lead_score.now = '2024-07-10 00:00:00+00';
SET session_replication_role = replica;
INSERT INTO rw.parted VALUES (1, 1, 'demo', '2024-06-06'), (2, 2, 'visit', '2024-07-02');
RESET session_replication_role;
SELECT * FROM pg_temp.scores();

-- A replicated UPDATE moving an event to another partition fires the DELETE row
-- trigger on the old one (which recomputes the contact: the row is in its new place
-- already) and the INSERT row trigger on the new one, which must not add it again:
-- contact 1's demo counts once (110).
UPDATE rw.parted SET occurred_at = '2024-07-06' WHERE id = 1;
SELECT * FROM pg_temp.scores();
SET session_replication_role = replica;
UPDATE rw.parted SET occurred_at = '2024-06-06' WHERE id = 1;
RESET session_replication_role;
SELECT * FROM pg_temp.scores();

SELECT lead_score.drop_profile('Replicated');
SELECT count(*) AS triggers_left FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'rw'::regnamespace AND t.tgname LIKE 'lead_score%';
DROP SCHEMA rw CASCADE;
