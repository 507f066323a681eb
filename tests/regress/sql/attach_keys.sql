-- Contact keys of type integer, uuid and text (bigint: see attach_scoring.sql); scores are
-- stored under the same key type, so joins with the CRM's table are index joins.
-- Readers see only the contacts that the contacts table's privileges and row-level
-- security let them see.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

SELECT lead_score.create_profile('Keys', settings => '{"half_life": "10 days"}') > 0 AS created;
SELECT lead_score.add_rule('Keys', 'Click', '{"kind": "event", "event": "click", "points": 4}') > 0 AS added;
SELECT lead_score.add_rule('Keys', 'VIP', '{"kind": "fit", "when": {"field": "tier", "op": "eq", "value": "vip"}, "points": 1}') > 0 AS added;
SELECT lead_score.publish('Keys') AS version;

CREATE TABLE int_contacts (contact_no integer PRIMARY KEY, tier text);
CREATE TABLE int_events (who integer, kind varchar(20), at date);
CREATE TABLE uuid_contacts (id uuid PRIMARY KEY, tier text);
CREATE TABLE uuid_events (contact_id uuid, event_type text, occurred_at timestamptz);
CREATE TABLE text_contacts (email text PRIMARY KEY, tier text);
CREATE TABLE text_events (contact_id text, event_type text, occurred_at timestamptz);
CREATE INDEX ON int_events (who);
CREATE INDEX ON uuid_events (contact_id);
CREATE INDEX ON text_events (contact_id);

INSERT INTO int_contacts VALUES (1, 'vip'), (2, 'basic');
INSERT INTO uuid_contacts VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'vip'), ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'basic');
INSERT INTO text_contacts VALUES ('ada@example.com', 'vip'), ('Alan O''Brien <alan@example.com>', 'basic');

-- Column names are options; a date column works as the event time (midnight).
SELECT lead_score.attach('Keys', 'int_contacts', 'int_events',
    '{"event_contact": "who", "event_type": "kind", "event_time": "at", "view": "int_scores"}');
-- One profile can be attached once; a copy attaches elsewhere.
SELECT lead_score.attach('Keys', 'uuid_contacts', 'uuid_events');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Keys (uuid)', settings => '{"half_life": "10 days"}') > 0 AS created;
SELECT count(lead_score.add_rule('Keys (uuid)', rule_name, rule)) FROM lead_score.rules WHERE profile = 'Keys' AND is_active;
SELECT lead_score.publish('Keys (uuid)') AS version;
SELECT lead_score.attach('Keys (uuid)', 'uuid_contacts', 'uuid_events', '{"view": "uuid_scores"}');
SELECT lead_score.create_profile('Keys (text)', settings => '{"half_life": "10 days"}') > 0 AS created;
SELECT count(lead_score.add_rule('Keys (text)', rule_name, rule)) FROM lead_score.rules WHERE profile = 'Keys' AND is_active;
SELECT lead_score.publish('Keys (text)') AS version;
SELECT lead_score.attach('Keys (text)', 'text_contacts', 'text_events', '{"view": "text_scores"}');

INSERT INTO int_events VALUES (1, 'click', '2024-05-22'), (2, 'click', '2024-06-01');
INSERT INTO uuid_events VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'click', '2024-05-22'),
                               ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'click', '2024-06-01');
INSERT INTO text_events VALUES ('ada@example.com', 'click', '2024-05-22'),
                               ('Alan O''Brien <alan@example.com>', 'click', '2024-06-01');

-- The same scores under every key type: vip 1 + 4 points 10 days old = 3; basic 4.
SELECT contact_no::text AS contact, score FROM lead_score.int_scores
UNION ALL SELECT id::text, score FROM lead_score.uuid_scores
UNION ALL SELECT email, score FROM lead_score.text_scores
ORDER BY 1;
-- The state tables use the contacts' key types.
SELECT a.profile, a.key_type, format_type(att.atttypid, att.atttypmod) AS stored_as
  FROM lead_score.attachments a
  JOIN lead_score.attachment_store s ON s.contacts = a.contacts
  JOIN pg_attribute att ON att.attrelid = ('lead_score.' || quote_ident(s.state_table))::regclass
                       AND att.attname = 'contact_key'
 ORDER BY 1;
-- Joining scores to the CRM's table is an index join on the key.
-- (state tables are named after profile ids, which depend on the tests run before: shown
-- as state_N, and the id as N)
CREATE FUNCTION pg_temp.plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        RETURN NEXT regexp_replace(regexp_replace(line, 'state_\d+', 'state_N', 'g'), 'profile_id = \d+', 'profile_id = N', 'g');
    END LOOP;
END $$;
SET enable_seqscan = off;
SELECT * FROM pg_temp.plan($$SELECT c.email, s.score FROM text_contacts c JOIN lead_score.text_scores s USING (email)
                              WHERE c.email = 'ada@example.com'$$);
RESET enable_seqscan;
SELECT lead_score.score('Keys (uuid)', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid) AS uuid_score,
       lead_score.score('Keys (text)', 'Alan O''Brien <alan@example.com>') AS text_score,
       lead_score.score('Keys', 2) AS int_score;
SELECT * FROM lead_score.verify('Keys (text)');

-- Integer keys far apart: serial ids and outliers (the extremes, zero, a negative),
-- through one statement big enough to be streamed, then through a full rescore.
INSERT INTO int_contacts SELECT g, 'basic' FROM generate_series(3, 1200) AS g;
INSERT INTO int_contacts VALUES (2147483647, 'vip'), (-2147483648, 'basic'), (0, 'basic'), (-7, 'vip');
INSERT INTO int_events SELECT c.contact_no, 'click', '2024-06-01'
  FROM int_contacts c, generate_series(1, 2) ORDER BY md5(c.contact_no::text);
-- Two new clicks (8) each, on top of 3 and 4 for contacts 1 and 2; vips have 1 more.
-- 1198 * 8 + 9 + 8 + 8 + 9 + 11 + 12 = 9641.
SELECT count(*) AS contacts, sum(score) AS total FROM lead_score.int_scores;
SELECT contact_no, score FROM lead_score.int_scores WHERE contact_no NOT BETWEEN 1 AND 1200 ORDER BY 1;
SELECT lead_score.rescore('Keys') AS rescored;
SELECT count(*) AS contacts, sum(score) AS total FROM lead_score.int_scores;
SELECT * FROM lead_score.verify('Keys');

-- Readers: a role may read scores of the contacts it may see, and no others.
CREATE ROLE lead_score_test_sales;
GRANT SELECT ON text_contacts TO lead_score_test_sales;
ALTER TABLE text_contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY vip_only ON text_contacts FOR SELECT TO lead_score_test_sales USING (tier = 'vip');
SET ROLE lead_score_test_sales;
SELECT email, score FROM lead_score.text_scores ORDER BY 1;
SELECT lead_score.score('Keys (text)', 'Alan O''Brien <alan@example.com>') AS hidden_contact_score;
-- (The positive control: the same role does get the score of a contact it may see.)
SELECT lead_score.score('Keys (text)', 'ada@example.com') AS visible_contact_score;
-- Without any privilege on the contacts table, nothing at all.
SELECT contact_no, score FROM lead_score.int_scores;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT lead_score.drop_profile(name) FROM lead_score.profiles WHERE name LIKE 'Keys%' ORDER BY name;
DROP TABLE int_contacts, int_events, uuid_contacts, uuid_events, text_contacts, text_events;
DROP ROLE lead_score_test_sales;
RESET lead_score.now;
