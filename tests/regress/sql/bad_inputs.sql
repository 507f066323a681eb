-- Bad inputs to the functions of attached profiles and their helpers, as users call
-- them: unknown or unattached profiles, NULLs, malformed values.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE TABLE people (id bigint PRIMARY KEY, plan text);
CREATE TABLE activity (contact_id bigint, event_type text, occurred_at timestamptz, props jsonb);
INSERT INTO people VALUES (1, 'pro');
SELECT lead_score.create_profile('Unattached') > 0 AS created;
SELECT lead_score.add_rule('Unattached', 'Pro', '{"kind": "fit", "when": {"field": "plan", "op": "eq", "value": "pro"}, "points": 2}') > 0 AS added;
SELECT lead_score.add_rule('Unattached', 'Docs', '{"kind": "event", "event": "doc", "points": 4, "half_life": null, "dimension": "docs", "when": {"field": "props.page", "op": "starts_with", "value": "/docs"}}') > 0 AS added;
SELECT lead_score.add_rule('Unattached', 'Blog', '{"kind": "event", "event": "doc", "points": 8, "half_life": "30 days", "when": {"field": "props.page", "op": "eq", "value": "/blog"}}') > 0 AS added;
SELECT lead_score.publish('Unattached') AS version;

-- Unknown profiles (42704) and profiles that are not attached (55000).
SELECT lead_score.score('No such profile', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.score('Unattached', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.stats('No such profile');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.stats('Unattached');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.verify('Unattached');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore('Unattached');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore('No such profile', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.detach('Unattached');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach(NULL, 'people', 'activity');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Unattached', 'people', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Unattached', 'people', 'activity', '[]');
\echo :LAST_ERROR_SQLSTATE
-- With nothing attached, tick() has nothing to do.
SELECT * FROM lead_score.tick();

-- Attached: NULL and unknown keys read as NULL; a key of the wrong type is an error.
SELECT lead_score.attach('Unattached', 'people', 'activity', '{"event_props": "props", "view": "people_scores"}');
INSERT INTO activity VALUES (1, 'doc', '2024-05-01', '{"page": "/docs/start"}'), (1, 'doc', '2024-05-02', '{"page": "/blog"}');
SELECT lead_score.score('Unattached', 1::bigint) AS score, lead_score.score('Unattached', 2::bigint) AS unknown,
       lead_score.score('Unattached', NULL::bigint) AS null_key, lead_score.score('Unattached', '1') AS as_text;
SELECT lead_score.score(NULL, '1') IS NULL AS null_profile;
SELECT lead_score.score('Unattached', 'not a number');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore('Unattached', 2::bigint) AS unknown_contact_rescored;
-- Contact 1 on 1 June: Pro 2 + Docs 4 (never decays) + Blog 8 a month old, halved: 10.
-- A score at a later time: the engagement decayed, the never-decaying points did not:
-- on 1 July the blog visit is two half-lives old (6 + 8/4 = 8); by 2030 it is gone (6).
SELECT lead_score.score('Unattached', 1, '2024-07-01 00:00+00') AS a_month_later,
       lead_score.score('Unattached', 1, '2030-01-01 00:00+00') AS much_later;

-- dimension_scores(dimensions, at): each dimension's worth; what is not a decayed sum is skipped.
SELECT id, dimension_scores FROM lead_score.people_scores;
SELECT lead_score.dimension_scores('{"a": {"terms": [{"half_life": 86400, "anchor": 1717200000000000, "value": 8}]}, "b": "junk", "c": 3}',
                                   '2024-06-02 00:00+00') AS one_day_later,
       lead_score.dimension_scores('[1, 2]', now()) AS not_an_object,
       lead_score.dimension_scores(NULL, now()) IS NULL AS strict;

-- dimensions_add(a, b): two stored dimension sums added label by label (what the
-- triggers' fast path does); entries that are not decayed sums, and non-objects, are
-- skipped.
SELECT lead_score.dimension_scores(
           lead_score.dimensions_add('{"a": {"terms": [{"half_life": 86400, "anchor": 1717200000000000, "value": 8}]}, "b": "junk"}',
                                     '{"a": {"terms": [{"half_life": 86400, "anchor": 1717286400000000, "value": 4}]},
                                       "c": {"terms": [{"half_life": null, "anchor": 1717200000000000, "value": 1}]}}'),
           '2024-06-02 00:00+00') AS added_one_day_later,
       lead_score.dimensions_add('[1, 2]', '"junk"') AS not_objects,
       lead_score.dimensions_add(NULL, '{}') IS NULL AS strict;

-- rule_fields(rule): where each field of a rule comes from; an invalid rule reads nothing.
SELECT * FROM lead_score.rule_fields('{"kind": "fit", "when": {"all": [{"field": "plan", "op": "eq", "value": "pro"},
                                       {"field": "account.employees", "op": "gt", "value": 9}]}, "points": 1}');
SELECT * FROM lead_score.rule_fields('{"kind": "event", "event": "doc", "points": 1, "when": {"field": "props.page.url", "op": "is_null"}}');
SELECT count(*) AS fields_of_an_invalid_rule FROM lead_score.rule_fields('{"kind": "nope"}');

-- The decayed type's text form is checked.
SELECT 'not json'::lead_score.decayed;
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.value_at('{"terms": []}', now()) AS empty_sum,
       lead_score.value_at(NULL, now()) IS NULL AS strict;

-- score_record() with events that are not an array: no events; NULL in, NULL out.
SELECT lead_score.score_record('Unattached', '{"plan": "pro"}', '{"not": "an array"}') -> 'score' AS score;
SELECT lead_score.score_record(NULL, '{}') IS NULL AS null_profile,
       lead_score.score_record('Unattached', NULL) IS NULL AS null_contact;

SELECT lead_score.drop_profile('Unattached');
DROP TABLE people, activity;
RESET lead_score.now;
