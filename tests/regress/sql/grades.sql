-- Fit grades and the priority matrix: the settings "grades" (fit minimums) and
-- "engagement_bands" give each contact of the scores view a grade, a priority (grade and
-- band, A1 best) and a priority_rank; at the grade and band boundaries, below every
-- grade, without grades; a published change of grades; explain and score_record; every
-- bad setting (22023, naming its JSON path) and the SQL functions given bad arrays.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA g;
CREATE TABLE g.contacts (id bigint PRIMARY KEY, tier text);
CREATE TABLE g.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
-- Fit by tier: a 30, a- 29.5, b 20, c 10, d 0, x -5. Engagement: visits 10 each, a page
-- view 9.5, none decaying, so every value below is exact.
INSERT INTO g.contacts VALUES (1, 'a'), (2, 'a-'), (3, 'b'), (4, 'c'), (5, 'd'), (6, 'x'), (7, 'c'), (8, 'a');
INSERT INTO g.events (contact_id, event_type, occurred_at)
SELECT c, t, '2024-05-01' FROM (VALUES (1, 'visit', 6), (2, 'visit', 5), (3, 'visit', 3), (4, 'visit', 1),
                                       (6, 'visit', 6), (7, 'page', 1), (8, 'visit', 2), (8, 'page', 1)) AS v(c, t, n),
       generate_series(1, n);

-- The grades in any JSON order: they are kept best first.
SELECT lead_score.create_profile('Graded', settings =>
    '{"grades": {"D": 0, "B": 20, "A": 30, "C": 10}, "engagement_bands": [60, 30, 10]}') > 0 AS created;
SELECT count(lead_score.add_rule('Graded', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Tier a', '{"kind": "fit", "when": {"field": "tier", "op": "eq", "value": "a"}, "points": 30}'),
  ('Tier a-', '{"kind": "fit", "when": {"field": "tier", "op": "eq", "value": "a-"}, "points": 29.5}'),
  ('Tier b', '{"kind": "fit", "when": {"field": "tier", "op": "eq", "value": "b"}, "points": 20}'),
  ('Tier c', '{"kind": "fit", "when": {"field": "tier", "op": "eq", "value": "c"}, "points": 10}'),
  ('Tier x', '{"kind": "fit", "when": {"field": "tier", "op": "eq", "value": "x"}, "points": -5}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 10, "half_life": null}'),
  ('Page', '{"kind": "event", "event": "page", "points": 9.5, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Graded');
SELECT lead_score.attach('Graded', 'g.contacts', 'g.events');
-- By hand (grade: fit >= 30 A, >= 20 B, >= 10 C, >= 0 D; band: engagement >= 60 1,
-- >= 30 2, >= 10 3, else 4; rank = grade index * 4 + band):
--   1: 30, 60 (both exactly at a minimum)  A1  1
--   2: 29.5, 50 (just below A)             B2  6
--   3: 20, 30                              B2  6
--   4: 10, 10                              C3  11
--   5: 0, 0                                D4  16
--   6: -5, 60 (below every grade)          NULL
--   7: 10, 9.5 (just below band 3)         C4  12
--   8: 30, 29.5                            A3  3
SELECT id, fit_score, engagement_score, grade, priority, priority_rank
  FROM lead_score."Graded_scores" ORDER BY id;
-- The sales queue: best first, the ungraded last.
SELECT id, priority FROM lead_score."Graded_scores" ORDER BY priority_rank NULLS LAST, id;
-- The new columns come last, after likelihood and the stage columns.
SELECT attname FROM pg_attribute
 WHERE attrelid = 'lead_score."Graded_scores"'::regclass AND attnum > 0 ORDER BY attnum DESC LIMIT 4;

-- A new event moves a contact's band at once: contact 8 to 39.5, band 2.
INSERT INTO g.events (contact_id, event_type, occurred_at) VALUES (8, 'visit', '2024-05-01');
SELECT id, engagement_score, grade, priority, priority_rank FROM lead_score."Graded_scores" WHERE id = 8;

-- explain and score_record name the grade and priority (explain: rows without points,
-- last, so the points still add up to the score).
SELECT rule_name, kind, points FROM lead_score.explain('Graded', 8);
SELECT r ->> 'grade' AS grade, r ->> 'priority' AS priority, r ->> 'priority_rank' AS priority_rank
  FROM lead_score.score_record('Graded', '{"tier": "b"}', '[{"event_type": "visit", "at": "2024-05-01"}]') AS r;
SELECT r ? 'grade' AS has_grade, r ->> 'grade' AS grade, r ->> 'priority' AS priority
  FROM lead_score.score_record('Graded', '{"tier": "x"}') AS r;

-- A profile without grades on the same tables: the columns are NULL, score_record has
-- no such keys, explain no such rows.
SELECT lead_score.create_profile('Plain') > 0 AS created;
SELECT lead_score.add_rule('Plain', 'Visit', '{"kind": "event", "event": "visit", "points": 10}') > 0 AS added;
SELECT lead_score.publish('Plain');
SELECT lead_score.attach('Plain', 'g.contacts', 'g.events');
SELECT count(*) AS contacts, count(grade) AS graded, count(priority) AS prioritised, count(priority_rank) AS ranked
  FROM lead_score."Plain_scores";
SELECT lead_score.score_record('Plain', '{}') ? 'grade' AS has_grade;
SELECT count(*) FILTER (WHERE kind IN ('grade', 'priority')) AS grading_rows FROM lead_score.explain('Plain', 1);

-- Grades without bands: a grade, no priority (Plain has no fit rules: every fit is 0).
SELECT lead_score.update_profile('Plain', settings => '{"grades": {"Any": 0}}');
SELECT lead_score.publish('Plain');
SELECT count(*) AS contacts, count(*) FILTER (WHERE grade = 'Any') AS graded_any,
       count(priority) AS prioritised, count(priority_rank) AS ranked
  FROM lead_score."Plain_scores";

-- A changed draft changes nothing until it is published; then the view follows the
-- new version. Names that do not sort as the grades do: ORDER BY priority_rank is right
-- where ORDER BY priority (text) is not.
SELECT lead_score.update_profile('Graded', settings => '{"grades": {"Hot": 25, "Cold": 0}, "engagement_bands": [40]}');
SELECT id, priority FROM lead_score."Graded_scores" WHERE id = 1;
SELECT lead_score.publish('Graded');
-- By hand: Hot at fit >= 25, Cold at >= 0; band 1 at engagement >= 40, else 2;
-- rank = grade index * 2 + band.
SELECT id, fit_score, engagement_score, version, grade, priority, priority_rank
  FROM lead_score."Graded_scores" ORDER BY priority_rank NULLS LAST, id;
SELECT string_agg(priority, ' < ' ORDER BY priority COLLATE "C") AS by_text
  FROM (SELECT DISTINCT priority FROM lead_score."Graded_scores" WHERE priority IS NOT NULL) p;

-- Bad settings: 22023, naming the JSON path, at create_profile, update_profile and publish.
SELECT lead_score.create_profile('Bad', settings => '{"grades": {"A": 30, "B": 30}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Bad', settings => '{"grades": {"A": 30, "B": "20"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Bad', settings => '{"grades": {}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Bad', settings => '{"grades": ["A", "B"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Bad', settings => '{"grades": {"": 1}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Bad', settings => '{"engagement_bands": [60, 30]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Graded', settings => '{"grades": {"A": 0}, "engagement_bands": [60, 70, 10]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Graded', settings => '{"grades": {"A": 0}, "engagement_bands": [60, 60]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Graded', settings => '{"grades": {"A": 0}, "engagement_bands": [60, null]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Graded', settings => '{"grades": {"A": 0}, "engagement_bands": []}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Graded', settings => '{"grades": {"A": 0}, "engagement_bands": [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Graded', settings => '{"grades": {"A": 0}, "engagement_bands": {"1": 60}}');
\echo :LAST_ERROR_SQLSTATE
-- Settings written around the editing functions (as a restore from an older dump
-- might): validate() reports them and publish refuses them; the view keeps version 2's.
UPDATE lead_score.profile_store SET settings = '{"grades": {"A": 10, "B": 20, "C": 10}}' WHERE name = 'Graded';
SELECT * FROM lead_score.validate('Graded');
SELECT lead_score.publish('Graded');
\echo :LAST_ERROR_SQLSTATE
SELECT DISTINCT version FROM lead_score."Graded_scores";

-- The SQL functions the views call, by hand: NULL in gives NULL out (STRICT); arrays no
-- settings could make are refused (22023).
SELECT lead_score.grade(20, '{A,B}', '{30,20}') AS b, lead_score.grade(19.99, '{A,B}', '{30,20}') AS none,
       lead_score.grade(20, NULL, '{30,20}') AS strict,
       lead_score.priority(31, 5, '{A,B}', '{30,20}', '{10}') AS a2,
       lead_score.priority_rank(25, 10, '{A,B}', '{30,20}', '{10}') AS rank_b1;
SELECT lead_score.grade(20, '{A,B}', '{30}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.grade(20, '{A,B}', '{20,30}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.grade(20, '{A,NULL}', '{30,20}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.grade(20, '{}', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.grade(20, '{A}', '{NaN}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.priority(20, 5, '{A,B}', '{30,20}', '{10,20}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.priority_rank(20, 5, '{A,B}', '{30,20}', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.priority_rank(20, 5, '{A,B}', '{30,20}', '{10,NULL}');
\echo :LAST_ERROR_SQLSTATE

SELECT lead_score.detach('Graded');
SELECT lead_score.detach('Plain');
SELECT lead_score.drop_profile('Graded');
SELECT lead_score.drop_profile('Plain');
DROP SCHEMA g CASCADE;
