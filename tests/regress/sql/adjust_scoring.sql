-- adjust(): manual adjustments. They count from their own time, decay with their own
-- half-life, tag in the same transaction (source 'adjustment'), show in explain() and
-- lead_score.adjustments, survive new events, contact changes, rescore and publish
-- (verify() recomputes them), go with forget(); who may adjust, and the bad inputs.
-- (Adjustments and the contacts table and key column they were made on: adjust_keys.sql.)
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

DROP SCHEMA adj CASCADE;
DROP OWNED BY adj_ann;
DROP OWNED BY adj_bob;
DROP ROLE adj_ann;
DROP ROLE adj_bob;
