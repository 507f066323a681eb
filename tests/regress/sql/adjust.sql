-- adjust(): manual adjustments. They count from their own time, decay with their own
-- half-life, tag in the same transaction (source 'adjustment'), show in explain() and
-- lead_score.adjustments, survive new events, contact changes, rescore and publish
-- (verify() recomputes them), go with forget(); who may adjust, and the bad inputs.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE ROLE adj_ann;
CREATE ROLE adj_bob;
CREATE SCHEMA adj;
CREATE TABLE adj.contacts (id bigint PRIMARY KEY, rep text, country text);
CREATE TABLE adj.events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
CREATE INDEX ON adj.events (contact_id, at);
INSERT INTO adj.contacts VALUES (1, 'adj_ann', 'US'), (2, 'adj_bob', 'DE'), (3, 'adj_ann', 'US');
SELECT lead_score.create_profile('Adj', settings => '{"half_life": "30 days", "pql_threshold": 30, "thresholds": {"MQL": 15}}') > 0 AS created;
SELECT count(lead_score.add_rule('Adj', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 5}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Adj') AS version;
SELECT lead_score.attach('Adj', 'adj.contacts', 'adj.events', '{"event_type": "kind", "event_time": "at"}');
INSERT INTO adj.events (contact_id, kind, at) VALUES (1, 'demo', '2024-05-25');
SELECT id, round(score::numeric, 4) AS score, tags FROM lead_score."Adj_scores" ORDER BY id;

-- +12 that never fades takes contact 1 over MQL (15), in this transaction, named as
-- the adjustment that did it.
SELECT lead_score.adjust('Adj', 1, 12, 'met at the trade show') AS id;
SELECT id, round(score::numeric, 4) AS score, tags FROM lead_score."Adj_scores" ORDER BY id;
SELECT contact, kind, tag, source, reason FROM lead_score.transitions WHERE profile = 'Adj' ORDER BY id;
SELECT t.contact_key, t.tag, t.rule, t.source FROM lead_score.tag_store t
  JOIN lead_score.profile_store p ON p.id = t.profile_id
 WHERE p.name = 'Adj' ORDER BY t.contact_key, t.tag;
-- -4 halving every week (the key as text, the reason trimmed).
SELECT lead_score.adjust('Adj', '2', -4, '  bounced email  ', '7 days') AS id;
SELECT id, profile, contact, points, half_life, points_now, reason, adjusted_at, adjusted_by
  FROM lead_score.adjustments ORDER BY id;

-- A week later the -4 is worth -2; the +12 still 12.
SET lead_score.now = '2024-06-08 00:00:00+00';
SELECT id, points_now FROM lead_score.adjustments ORDER BY id;
SELECT id, round(score::numeric, 4) AS score, round(engagement_score::numeric, 4) AS engagement
  FROM lead_score."Adj_scores" ORDER BY id;

-- explain() shows each adjustment as a row of its own; the rows add up to score() for
-- every contact at three instants.
SELECT rule_name, kind, dimension, events, round(points::numeric, 4) AS points FROM lead_score.explain('Adj', 1);
SELECT rule_name, kind, round(points::numeric, 4) AS points FROM lead_score.explain('Adj', 2);
SELECT t.at, bool_and(abs(coalesce((SELECT sum(e.points) FROM lead_score.explain('Adj', c.id, t.at) e), 0)
                          - lead_score.score('Adj', c.id, t.at)) < 1e-9) AS adds_up
  FROM adj.contacts c,
       (VALUES ('2024-06-08'::timestamptz), ('2024-06-20'), ('2025-01-01')) AS t(at)
 GROUP BY t.at ORDER BY t.at;
-- Before its time an adjustment does not count: score(at) leaves it out, as a
-- recomputation from the events alone says.
SELECT round(lead_score.score('Adj', 1, '2024-05-31')::numeric, 4) AS before_adjusting,
       round((5 + lead_score.decay(10, '2024-05-31'::timestamptz - '2024-05-25', '30 days'))::numeric, 4) AS from_events,
       round(lead_score.score('Adj', 1, '2024-06-01')::numeric, 4) AS after_adjusting;
SELECT at::date, round(score::numeric, 4) AS score
  FROM lead_score.score_history('Adj', 2, '2024-05-31', '2024-06-02');
SELECT contact, round(score::numeric, 4) AS score FROM lead_score.scores_at('Adj', '2024-05-31') ORDER BY contact;

-- New events (the fast path) and contact changes (a full recomputation) keep them.
INSERT INTO adj.events (contact_id, kind, at) VALUES (1, 'demo', '2024-06-08'), (2, 'demo', '2024-06-08');
UPDATE adj.contacts SET country = 'DE' WHERE id = 1;
SELECT id, round(score::numeric, 4) AS score FROM lead_score."Adj_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Adj');
-- So do rescore and publish; preview scores with them too.
SELECT lead_score.rescore('Adj') AS rescored;
SELECT lead_score.add_rule('Adj', 'Webinar', '{"kind": "event", "event": "webinar", "points": 2}') IS NOT NULL AS added;
SELECT contact, round(active_score::numeric, 4) AS active, round(new_score::numeric, 4) AS new
  FROM lead_score.preview('Adj') ORDER BY contact;
SELECT lead_score.publish('Adj') AS version;
SELECT id, round(score::numeric, 4) AS score FROM lead_score."Adj_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Adj');
-- verify() counts them: an adjustment removed behind adjust()'s back is a difference.
BEGIN;
DELETE FROM lead_score.adjustment_store WHERE reason = 'bounced email';
SELECT contact, round(stored::numeric, 4) AS stored, round(recomputed::numeric, 4) AS recomputed, difference
  FROM lead_score.verify('Adj');
ROLLBACK;

-- Bad inputs: a clear error, and nothing written.
SELECT count(*) AS adjustments FROM lead_score.adjustment_store;
SELECT lead_score.adjust(NULL, 1, 1, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', NULL::bigint, 1, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, NULL, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 'NaN', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, '-Infinity', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 1e10, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 1000000000.001, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, -1000000000.001, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 1, '   ');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 1, repeat('x', 501));
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 1, 'x', '0 days');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 1, 1, 'x', '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Nope', 1, 1, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 999, 1, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.adjust('Adj', 'one', 1, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Unattached') > 0 AS created;
SELECT lead_score.adjust('Unattached', 1, 1, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS adjustments FROM lead_score.adjustment_store;
-- The bound itself is allowed either way: adjust() and the table's CHECK agree on it.
-- (Rolled back: the rest of this file goes on without them.)
BEGIN;
SELECT lead_score.adjust('Adj', 1, 1e9, 'the most') > 0 AS most,
       lead_score.adjust('Adj', 1, -1e9, 'the least') > 0 AS least;
SELECT points FROM lead_score.adjustments WHERE reason IN ('the most', 'the least') ORDER BY points;
ROLLBACK;

-- Who may adjust: only roles granted it, apart from editing profiles. A role granted it
-- adjusts only contacts it may see (here: its own, by the contacts' policy), and reads
-- only their adjustments.
GRANT USAGE ON SCHEMA adj TO adj_ann, adj_bob;
GRANT SELECT ON adj.contacts TO adj_ann, adj_bob;
ALTER TABLE adj.contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_contacts ON adj.contacts FOR SELECT USING (rep = current_user);
SET ROLE adj_ann;
SELECT lead_score.adjust('Adj', 3, 20, 'asked for a quote');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT EXECUTE ON FUNCTION lead_score.adjust(text, text, float8, text, interval),
                          lead_score.adjust(text, anyelement, float8, text, interval) TO adj_ann;
SET ROLE adj_ann;
SELECT lead_score.adjust('Adj', 3, 20, 'asked for a quote') > 0 AS adjusted;
SELECT lead_score.adjust('Adj', 2, 20, 'not my contact');
\echo :LAST_ERROR_SQLSTATE
SELECT contact, points, reason, adjusted_by FROM lead_score.adjustments ORDER BY id;
SELECT id, round(score::numeric, 4) AS score, tags FROM lead_score."Adj_scores" ORDER BY id;
SELECT lead_score.add_rule('Adj', 'Sneaky', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "DE"}, "points": 50}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO lead_score.adjustment_store (profile_id, contact_key, points, reason, adjusted_at, adjusted_by)
SELECT id, '1', 100, 'forged', now(), 'adj_ann' FROM lead_score.profile_store WHERE name = 'Adj';
\echo :LAST_ERROR_SQLSTATE
SET ROLE adj_bob;
SELECT contact, points, reason FROM lead_score.adjustments ORDER BY id;
RESET ROLE;
-- The role that calls adjust() is the one checked and recorded (adjusted_by, and the
-- actor of the transitions it causes), also when it is a SECURITY DEFINER function of
-- another role's that a superuser runs: adj_bob's function cannot adjust adj_ann's
-- contact through the superuser, and what it does adjust is recorded as adj_bob's.
GRANT EXECUTE ON FUNCTION lead_score.adjust(text, text, float8, text, interval),
                          lead_score.adjust(text, anyelement, float8, text, interval) TO adj_bob;
CREATE SCHEMA adj_fn AUTHORIZATION adj_bob;
SET ROLE adj_bob;
CREATE FUNCTION adj_fn.boost(contact bigint) RETURNS bigint LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog
AS $$ SELECT lead_score.adjust('Adj', contact, 50, 'boosted by a deputy') $$;
RESET ROLE;
SELECT adj_fn.boost(3);
\echo :LAST_ERROR_SQLSTATE
-- (Rolled back: the rest of this file goes on without it.)
BEGIN;
SELECT adj_fn.boost(2) > 0 AS own_contact;
SELECT contact, points, adjusted_by FROM lead_score.adjustments WHERE reason = 'boosted by a deputy';
SELECT contact, kind, tag, source, actor, session_user AS session FROM lead_score.transitions
 WHERE profile = 'Adj' AND reason = 'adjustment: boosted by a deputy' ORDER BY id;
ROLLBACK;
DROP SCHEMA adj_fn CASCADE;
-- The adjustment made under SET ROLE adj_ann is adj_ann's, not the session's (postgres).
SELECT contact, kind, tag, source, reason, actor FROM lead_score.transitions
 WHERE profile = 'Adj' AND source = 'adjustment' ORDER BY id;

-- forget() erases a contact's adjustments with its tags and transitions, and rescores it.
SELECT lead_score.forget('Adj', 2) AS erased;
SELECT count(*) AS adjustments_of_2 FROM lead_score.adjustment_store WHERE contact_key = '2';
SELECT id, round(score::numeric, 4) AS score FROM lead_score."Adj_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Adj');

-- Detaching keeps them (they are the profile's, like its tags); attaching again
-- counts them. Dropping the profile drops them.
SELECT lead_score.detach('Adj');
SELECT count(*) AS kept FROM lead_score.adjustment_store;
SELECT lead_score.attach('Adj', 'adj.contacts', 'adj.events', '{"event_type": "kind", "event_time": "at"}');
SELECT id, round(score::numeric, 4) AS score FROM lead_score."Adj_scores" ORDER BY id;
SELECT lead_score.detach('Adj');
SELECT lead_score.drop_profile('Adj');
SELECT lead_score.drop_profile('Unattached');
SELECT count(*) AS left_over FROM lead_score.adjustment_store;

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
