-- The top of the list from an index (issue 29): lead_score.top(profile, n, min_score,
-- pql, disqualified) returns what ORDER BY score DESC LIMIT n over the scores view
-- returns, reading score rows in descending ceiling order (each row's ceiling: a score
-- it cannot exceed from its last write on) until no later row can beat the ones
-- found (with lead_score.now set, as here unless said, it reads every row). Checked against the view through decay, caps, negative points, fit, new
-- events one at a time and in bulk, tick(), and its filters; it reads a few rows, not
-- all; verify() names a ceiling below its score.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-30 00:00:00+00';
CREATE SCHEMA tops;
CREATE TABLE tops.contacts (id bigint PRIMARY KEY, country text, role text);
CREATE TABLE tops.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON tops.events (contact_id, occurred_at);
INSERT INTO tops.contacts
SELECT g, (ARRAY['US', 'DE', 'FR'])[1 + g % 3], (ARRAY['buyer', 'manager', 'student', 'user'])[1 + (g * 7) % 4]
  FROM generate_series(1, 2000) AS g;
-- Half a year of history, busier for some contacts than others.
INSERT INTO tops.events (contact_id, event_type, occurred_at)
SELECT 1 + (g * 7919) % (1 + (g % 2000)), (ARRAY['visit', 'visit', 'demo', 'bounce', 'webinar'])[1 + (g * 13) % 5],
       '2024-06-30'::timestamptz - ((g * 104729) % (180 * 24)) * interval '1 hour'
  FROM generate_series(1, 20000) AS g;

-- Fit 20 for the US; visits 3 (7 days' half-life); demos 25 (30 days), at most 40;
-- bounces -5 (3 days); webinars 10 for good; students disqualified; PQL at 60.
SELECT lead_score.create_profile('Top', settings => '{"pql_threshold": 60, "max_engagement": 400}') > 0 AS created;
SELECT count(lead_score.add_rule('Top', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 20}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 3, "half_life": "7 days"}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 25, "half_life": "30 days", "max_points": 40}'),
  ('Bounce', '{"kind": "event", "event": "bounce", "points": -5, "half_life": "3 days"}'),
  ('Webinar', '{"kind": "event", "event": "webinar", "points": 10, "half_life": null}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Top');
SELECT lead_score.attach('Top', 'tops.contacts', 'tops.events', '{"view": "top_scores"}');
-- (Statistics, as autovacuum keeps them: the plans below are the ones users get.)
ANALYZE;

-- top(n) against the view: the same scores in the same order, and each contact's
-- score as the view has it (ties may list tied contacts in another order).
CREATE FUNCTION pg_temp.agrees(n integer, minimum float8 DEFAULT NULL, pql boolean DEFAULT NULL,
                               disqualified boolean DEFAULT NULL)
RETURNS TABLE (rows_found bigint, same_scores boolean, own_scores boolean) LANGUAGE sql AS $$
    WITH t AS (SELECT row_number() OVER () AS n, *
                 FROM lead_score.top('Top', agrees.n, agrees.minimum, agrees.pql, agrees.disqualified)),
         v AS (SELECT row_number() OVER (ORDER BY s.score DESC) AS n, s.score FROM (
                 SELECT s.score FROM lead_score.top_scores s
                  WHERE (agrees.minimum IS NULL OR s.score >= agrees.minimum)
                    AND (agrees.pql IS NULL OR s.is_pql = agrees.pql)
                    AND (agrees.disqualified IS NULL OR s.disqualified = agrees.disqualified)
                  ORDER BY s.score DESC LIMIT agrees.n) s)
    SELECT (SELECT count(*) FROM t),
           (SELECT count(*) FROM t) = (SELECT count(*) FROM v)
           AND NOT EXISTS (SELECT FROM t JOIN v USING (n) WHERE t.score <> v.score),
           NOT EXISTS (SELECT FROM t JOIN lead_score.top_scores s ON s.id = t.contact::bigint WHERE s.score <> t.score)
$$;
SELECT * FROM pg_temp.agrees(20);
SELECT * FROM lead_score.top('Top', 5);
-- The sales work queue (PQLs not disqualified), a segment (score at least 50), all.
SELECT * FROM pg_temp.agrees(10, pql => true, disqualified => false);
SELECT * FROM pg_temp.agrees(NULL, minimum => 50);
SELECT * FROM pg_temp.agrees(5, minimum => 60, disqualified => false);
SELECT * FROM pg_temp.agrees(0);

-- The profile's score table.
CREATE FUNCTION pg_temp.state() RETURNS regclass LANGUAGE sql AS $$
    SELECT format('lead_score.%I', a.state_table)::regclass FROM lead_score.attachment_store a
      JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Top'
$$;
-- With the live clock (lead_score.now unset: set, it may read before the rows' last
-- writes, which no ceiling bounds, so top() then reads every row), once tick() has
-- brought the highest ceilings down to what their rows can reach now (the history is
-- from 2024: most points have faded since), it reads a few score rows by the ceiling
-- index, not all 2,000: the rows the index scans fetched in this transaction, for the
-- top 20. (Statistics pending from earlier statements are flushed first: the
-- transaction's view shows those too.)
RESET lead_score.now;
SELECT count(*) > 0 AS ticked FROM lead_score.tick();
SELECT * FROM pg_temp.agrees(20);
SELECT * FROM pg_temp.agrees(10, pql => true, disqualified => false);
SELECT pg_stat_force_next_flush();
BEGIN;
SELECT count(*) FROM lead_score.top('Top', 20);
SELECT idx_tup_fetch < 200 AS few_rows_read, seq_scan = 0 AS no_full_scan
  FROM pg_stat_xact_user_tables WHERE relid = pg_temp.state();
COMMIT;
-- The work queue (PQLs not disqualified) reads the index of the tagged contacts only.
SELECT pg_stat_force_next_flush();
BEGIN;
SELECT count(*) FROM lead_score.top('Top', 10, pql => true, disqualified => false);
SELECT idx_tup_fetch < 200 AS few_rows_read, seq_scan = 0 AS no_full_scan
  FROM pg_stat_xact_user_tables WHERE relid = pg_temp.state();
COMMIT;
-- The plan of its read.
CREATE FUNCTION pg_temp.plan_of_read() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT contact_key FROM %s ORDER BY ceiling DESC, contact_key DESC LIMIT 20',
                               pg_temp.state())
    LOOP
        RETURN NEXT regexp_replace(line, 'state_\d+', 'state_<id>', 'g');
    END LOOP;
END
$$;
SELECT * FROM pg_temp.plan_of_read();
SET lead_score.now = '2024-06-30 00:00:00+00';

-- Time passes: decayed points fall, bounces fade (their contacts rise), caps stop
-- binding. With no write, the ceilings stay bounds.
SET lead_score.now = '2024-07-10 00:00:00+00';
SELECT * FROM pg_temp.agrees(20);
SELECT * FROM pg_temp.agrees(10, pql => true, disqualified => false);
SET lead_score.now = '2024-09-01 00:00:00+00';
SELECT * FROM pg_temp.agrees(20);

-- New events one at a time (the fast path) and in bulk, contacts' fit changed.
INSERT INTO tops.events (contact_id, event_type, occurred_at) VALUES (1999, 'demo', '2024-09-01');
INSERT INTO tops.events (contact_id, event_type, occurred_at) VALUES (1999, 'demo', '2024-09-01');
INSERT INTO tops.events (contact_id, event_type, occurred_at) VALUES (7, 'bounce', '2024-09-01');
INSERT INTO tops.events (contact_id, event_type, occurred_at)
SELECT 1 + (g * 31) % 2000, 'visit', '2024-08-31' FROM generate_series(1, 300) AS g;
UPDATE tops.contacts SET country = 'US' WHERE id IN (1998, 1997);
SELECT * FROM pg_temp.agrees(20);
SELECT * FROM pg_temp.agrees(NULL, minimum => 40);

-- tick() brings the highest ceilings down to what their rows can still reach (writes
-- only raise one): of the 1,000 highest, those more than twice their score (plus 10)
-- go. The list stays the same.
CREATE FUNCTION pg_temp.loose_ceilings() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    loose bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (SELECT s.ceiling, s.fit + lead_score.value_at(s.engagement, lead_score.now()) AS score
                                            FROM %s s ORDER BY s.ceiling DESC LIMIT 1000) t
                     WHERE t.ceiling > 2 * t.score + 10', pg_temp.state()) INTO loose;
    RETURN loose;
END
$$;
SELECT pg_temp.loose_ceilings() AS loose_before;
SELECT count(*) > 0 AS ticked FROM lead_score.tick();
SELECT pg_temp.loose_ceilings() AS loose_after;
SELECT * FROM pg_temp.agrees(20);
SELECT * FROM lead_score.verify('Top');

-- A ceiling below its row's score (set behind the extension's back) would hide the
-- contact from top(): verify() names it ('ceiling', the ceiling and the score), and
-- rescore() sets it again. (With the live clock: set, top() reads every row and
-- verify() does not look.)
RESET lead_score.now;
DO $$ BEGIN
  EXECUTE format('UPDATE %s SET ceiling = 0 WHERE contact_key = (SELECT id FROM lead_score.top_scores ORDER BY score DESC, id LIMIT 1)',
                 pg_temp.state());
END $$;
SELECT * FROM pg_temp.agrees(1);
SELECT contact = (SELECT id::text FROM lead_score.top_scores ORDER BY score DESC, id LIMIT 1) AS the_best, stored, difference
  FROM lead_score.verify('Top');
SELECT lead_score.rescore('Top') > 0 AS rescored;
SELECT * FROM pg_temp.agrees(1);
SELECT * FROM lead_score.verify('Top');
SET lead_score.now = '2024-09-01 00:00:00+00';

-- Bad inputs: a NULL profile (22004), an unknown one (42704), one not attached
-- (55000), a negative n or a NaN minimum (22023).
SELECT * FROM lead_score.top(NULL, 5);
\echo :SQLSTATE
SELECT * FROM lead_score.top('Nobody', 5);
\echo :SQLSTATE
SELECT lead_score.create_profile('Detached') > 0 AS created;
SELECT * FROM lead_score.top('Detached', 5);
\echo :SQLSTATE
SELECT * FROM lead_score.top('Top', -1);
\echo :SQLSTATE
SELECT * FROM lead_score.top('Top', 5, 'NaN');
\echo :SQLSTATE

-- Read as the caller, as the scores view is: without SELECT on the contacts table,
-- 42501; with it, the contacts it may see.
CREATE ROLE tops_reader;
SET ROLE tops_reader;
SELECT * FROM lead_score.top('Top', 5);
\echo :SQLSTATE
RESET ROLE;
GRANT USAGE ON SCHEMA tops TO tops_reader;
GRANT SELECT ON tops.contacts TO tops_reader;
ALTER TABLE tops.contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_germany ON tops.contacts FOR SELECT USING (country = 'DE');
SET ROLE tops_reader;
SELECT count(*) AS found, bool_and(c.country = 'DE') AS all_visible
  FROM lead_score.top('Top', 50) t JOIN tops.contacts c ON c.id = t.contact::bigint;
RESET ROLE;

SELECT lead_score.drop_profile('Detached');
SELECT lead_score.drop_profile('Top');
DROP SCHEMA tops CASCADE;
DROP ROLE tops_reader;
