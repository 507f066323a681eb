-- Point caps: a rule's max_points (and min_points for negative points), dimension_caps
-- and max_engagement. Exact at every instant (a capped rule decays below its cap and
-- then counts in full again), read in O(1) from the stored sums, kept through the fast
-- path, tick() and publish; explain shows capped rules and what each cap takes away;
-- verify stays exact; every bad setting names its JSON path.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA cap;
CREATE TABLE cap.contacts (id bigint PRIMARY KEY);
CREATE TABLE cap.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON cap.events (contact_id, occurred_at);
INSERT INTO cap.contacts SELECT generate_series(1, 4);

-- Visits: 10 each, halving every 10 days, at most 25. Opens 4 and clicks 6 (at most
-- 8, never fading) share the email dimension, at most 15. A bounce: -12, at least -5.
-- A webinar: 30 for good. The whole engagement at most 40.
SELECT lead_score.create_profile('Capped', settings =>
    '{"half_life": "10 days", "pql_threshold": 38, "dimension_caps": {"email": 15}, "max_engagement": 40}') > 0 AS created;
SELECT count(lead_score.add_rule('Capped', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Visit', '{"kind": "event", "event": "visit", "points": 10, "max_points": 25}'),
  ('Open', '{"kind": "event", "event": "open", "points": 4, "dimension": "email"}'),
  ('Click', '{"kind": "event", "event": "click", "points": 6, "dimension": "email", "max_points": 8, "half_life": null}'),
  ('Bounce', '{"kind": "event", "event": "bounce", "points": -12, "min_points": -5, "half_life": null}'),
  ('Webinar', '{"kind": "event", "event": "webinar", "points": 30, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Capped');
SELECT lead_score.attach('Capped', 'cap.contacts', 'cap.events');

-- Contact 1: four visits (40, capped at 25). Contact 2: five opens and three clicks
-- (20 + 18: clicks capped at 8, the email dimension at 15). Contact 3: a bounce
-- (-12, limited to -5). Contact 4: three visits, two clicks, an open, a bounce and a
-- webinar (25 + 8 + 4 - 5 + 30 = 62, capped at 40), one row at a time.
INSERT INTO cap.events (contact_id, event_type, occurred_at)
SELECT 1, 'visit', '2024-06-01' FROM generate_series(1, 4);
INSERT INTO cap.events (contact_id, event_type, occurred_at)
SELECT 2, t, '2024-06-01' FROM unnest(ARRAY['open','open','open','open','open','click','click','click']) AS t;
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (3, 'bounce', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'visit', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'visit', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'visit', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'click', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'click', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'open', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'bounce', '2024-06-01');
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (4, 'webinar', '2024-06-01');
SELECT id, score, dimension_scores, is_pql FROM lead_score."Capped_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Capped');

-- Exact at every instant, read from the stored sums as the clock moves on: after one
-- half-life the visits are worth 20 (under the cap: in full), after two 10. By hand:
-- contact 1 is min(40 / 2^(d/10), 25); contact 4 is
-- min(min(30 / 2^(d/10), 25) + min(4 / 2^(d/10) + 8, 15) - 5 + 30, 40).
CREATE FUNCTION cap.read_at(day integer) RETURNS TABLE(days integer, id bigint, stored numeric, recomputed numeric, by_hand numeric)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lead_score.now',
                       to_char('2024-06-01'::timestamp + make_interval(days => day), 'YYYY-MM-DD HH24:MI:SS'), true);
    RETURN QUERY
    SELECT day, s.id, round(s.score::numeric, 6),
           round(lead_score.score('Capped', s.id, lead_score.now())::numeric, 6),
           round(CASE s.id WHEN 1 THEN least(40 / 2 ^ (day / 10.0), 25)
                           ELSE least(least(30 / 2 ^ (day / 10.0), 25) + least(4 / 2 ^ (day / 10.0) + 8, 15) - 5 + 30, 40)
                 END::numeric, 6)
      FROM lead_score."Capped_scores" s WHERE s.id IN (1, 4);
END
$$;
SELECT r.* FROM generate_series(0, 40, 5) AS d, LATERAL cap.read_at(d) r ORDER BY r.id, r.days;

-- explain at day 0: the visits and clicks over their caps show as capped, the bounce
-- limited; the email dimension's cap and max_engagement show what they take away; the
-- rows add up to the score. At day 30 the visits count in full again.
SELECT rule_name, kind, dimension, events, round(points::numeric, 4) AS points
  FROM lead_score.explain('Capped', 4, '2024-06-01');
SELECT round(sum(points)::numeric, 9) = round(lead_score.score('Capped', 4, '2024-06-01')::numeric, 9) AS adds_up
  FROM lead_score.explain('Capped', 4, '2024-06-01');
SELECT rule_name, kind, round(points::numeric, 4) AS points
  FROM lead_score.explain('Capped', 4, '2024-07-01') WHERE rule_name IN ('Visit', 'Click');
SELECT round(sum(points)::numeric, 9) = round(lead_score.score('Capped', 4, '2024-07-01')::numeric, 9) AS adds_up
  FROM lead_score.explain('Capped', 4, '2024-07-01');

-- A month on, tick() and a new event keep it exact; verify agrees.
SET lead_score.now = '2024-07-01 00:00:00+00';
SELECT lead_score.tick() IS NOT NULL AS ticked;
INSERT INTO cap.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-07-01');
SELECT id, round(score::numeric, 6) AS score FROM lead_score."Capped_scores" WHERE id = 1;
SELECT round((least(40 / 2 ^ 3.0, 25) + 10)::numeric, 6) AS by_hand;
SELECT * FROM lead_score.verify('Capped');

-- preview and publish: raising the click cap to 12 gives contact 2 its clicks' 12
-- (with the opens' 2.5: 14.5, under the email cap) and contact 4 its 12 (41.25, back
-- at max_engagement's 40); publish gives exactly that.
SELECT lead_score.update_rule('Capped', 'Click', '{"kind": "event", "event": "click", "points": 6, "dimension": "email", "max_points": 12, "half_life": null}');
SELECT contact, round(active_score::numeric, 4) AS active, round(new_score::numeric, 4) AS new FROM lead_score.preview('Capped') ORDER BY contact;
SELECT lead_score.publish('Capped');
SELECT id, round(score::numeric, 4) AS score FROM lead_score."Capped_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Capped');

-- score_record uses the same caps.
SELECT (lead_score.score_record('Capped', '{}',
    '[{"event_type": "visit", "at": "2024-07-01"}, {"event_type": "visit", "at": "2024-07-01"},
      {"event_type": "visit", "at": "2024-07-01"}, {"event_type": "visit", "at": "2024-07-01"}]', '2024-07-01')) ->> 'score' AS four_visits;

-- Bad caps: 22023 naming the JSON path, when the rule or the settings are written.
SELECT lead_score.add_rule('Capped', 'Bad', '{"kind": "event", "event": "x", "points": 5, "max_points": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Capped', 'Bad', '{"kind": "event", "event": "x", "points": -5, "max_points": 10}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Capped', 'Bad', '{"kind": "event", "event": "x", "points": 5, "min_points": -3}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Capped', 'Bad', '{"kind": "fit", "when": {"field": "id", "op": "gt", "value": 0}, "points": 5, "max_points": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Capped', settings => '{"dimension_caps": {"email": 0}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Capped', settings => '{"dimension_caps": [15]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Capped', settings => '{"max_engagement": "40"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rule_problem('{"kind": "event", "event": "x", "points": 5, "max_points": 3, "min_points": -3}');

-- Capped sums typed by hand are made the engine's layout (half-lives sorted, one term
-- each) or refused (22P02): a zero half-life, a cap whose minimum is above its maximum,
-- parts nested deeper than the engine makes them.
SELECT lead_score.value_at('{"terms": [{"half_life": 864000, "anchor": 0, "value": 1},
                                       {"half_life": null, "anchor": 0, "value": 2},
                                       {"half_life": 864000, "anchor": 0, "value": 3}]}', 'epoch') AS folded;
SELECT '{"terms": [{"half_life": 0, "anchor": 0, "value": 1}]}'::lead_score.decayed;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"terms": [], "cap": {"min": 5, "max": 1}}'::lead_score.decayed;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"terms": [], "parts": [{"key": 1, "sum": {"terms": [], "parts": [{"key": 1, "sum": {"terms": [], "parts": [{"key": 1, "sum": {"terms": [], "parts": [{"key": 1, "sum": {"terms": []}}]}}]}}]}}]}'::lead_score.decayed;
\echo :LAST_ERROR_SQLSTATE
-- Two sums of 50,000 half-lives each add up in one pass, well within a second.
SET statement_timeout = '1s';
SELECT count(*) FROM (SELECT (a.s OPERATOR(lead_score.+) b.s)::text AS t
  FROM (SELECT lead_score.decayed_sum(1, 'epoch', make_interval(secs => 2 * g + 1)) AS s FROM generate_series(1, 50000) g) a,
       (SELECT lead_score.decayed_sum(1, 'epoch', make_interval(secs => 2 * g + 2)) AS s FROM generate_series(1, 50000) g) b) x;
RESET statement_timeout;

SELECT lead_score.detach('Capped');
SELECT lead_score.drop_profile('Capped');
DROP SCHEMA cap CASCADE;
