-- Writes whose triggers fire in between (issue 29's review): AFTER triggers fire once
-- their statement is done, in the order they were queued, so a contact can be
-- recomputed from its history after an events INSERT and before the INSERT's own
-- trigger, which must then not add the new events to it again. A CRM row trigger
-- that updates the contact (a common "last seen" column), and a DELETE of events in
-- the same query as an INSERT: each event counts once, and no tag is given for
-- points that were never there.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-10 00:00:00+00';
CREATE SCHEMA nw;
CREATE TABLE nw.contacts (id bigint PRIMARY KEY, country text, last_seen timestamptz);
CREATE TABLE nw.events (id bigint PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON nw.events (contact_id, occurred_at);
INSERT INTO nw.contacts VALUES (1, 'US', NULL), (2, 'US', NULL), (3, 'DE', NULL);
-- US fit 100, a demo 10 for good; a PQL at 170.
SELECT lead_score.create_profile('Nested', settings => '{"pql_threshold": 170}') > 0 AS created;
SELECT count(lead_score.add_rule('Nested', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 100}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Nested');
SELECT lead_score.attach('Nested', 'nw.contacts', 'nw.events');

-- The CRM's row trigger keeps each contact's last_seen: its UPDATE's trigger
-- recomputes the contact (history read: the new demo is there) before the INSERT's.
-- One row, and several for several contacts in one statement.
CREATE FUNCTION nw.touch_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE nw.contacts SET last_seen = NEW.occurred_at WHERE id = NEW.contact_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER touch AFTER INSERT ON nw.events FOR EACH ROW EXECUTE FUNCTION nw.touch_contact();
INSERT INTO nw.events VALUES (1, 1, 'demo', '2024-06-01');
INSERT INTO nw.events VALUES (2, 1, 'demo', '2024-06-02'), (3, 3, 'demo', '2024-06-02'), (4, 3, 'demo', '2024-06-03');
-- 1: 100 + 2 demos; 3: 2 demos.
SELECT id, score, last_seen FROM lead_score."Nested_scores" JOIN nw.contacts USING (id) ORDER BY id;
DROP TRIGGER touch ON nw.events;

-- A DELETE and an INSERT of events in one query: the DELETE's trigger recomputes
-- contact 2 (history read: the four new demos are there) before the INSERT's. 2: 100 +
-- 4 demos = 140, under the PQL threshold: no tag.
INSERT INTO nw.events VALUES (10, 2, 'demo', '2024-06-01');
WITH d AS (DELETE FROM nw.events WHERE id = 10 RETURNING contact_id)
INSERT INTO nw.events SELECT 11 + i, d.contact_id, 'demo', '2024-06-05' FROM d, generate_series(0, 3) i;
SELECT id, score, is_pql FROM lead_score."Nested_scores" WHERE id = 2;
SELECT count(*) AS tagged FROM lead_score.transitions WHERE profile = 'Nested' AND kind = 'tagged';

-- And a function that inserts an event, then updates its contact, then inserts again,
-- in one statement: each counts once (3: 2 + 2 demos).
CREATE FUNCTION nw.two_visits() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nw.events VALUES (20, 3, 'demo', '2024-06-06');
    UPDATE nw.contacts SET last_seen = '2024-06-06' WHERE id = 3;
    INSERT INTO nw.events VALUES (21, 3, 'demo', '2024-06-07');
END
$$;
SELECT nw.two_visits();
SELECT id, score FROM lead_score."Nested_scores" WHERE id = 3;
SELECT * FROM lead_score.verify('Nested');

SELECT lead_score.drop_profile('Nested');
DROP SCHEMA nw CASCADE;
