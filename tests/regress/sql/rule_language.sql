-- The rule language as SQL sees it: rule_problem() names what is wrong and where;
-- rule_matches() tries a rule on a sample record.
\set SHOW_CONTEXT never

SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p
 WHERE p.pronamespace = 'lead_score'::regnamespace
   AND p.proname IN ('rule_problem', 'settings_problem', 'rule_matches')
 ORDER BY 1;

-- The documented examples are valid.
SELECT example, lead_score.rule_problem(rule) AS problem
  FROM (VALUES
    ('country', '{"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}'::jsonb),
    ('pricing', '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"}, "points": 3, "count": "every", "half_life": "14 days", "within": "90 days", "dimension": "product:crm"}'),
    ('students', '{"kind": "disqualifier", "when": {"all": [{"field": "role", "op": "in", "value": ["student", "unemployed"]}, {"no_event": "email_open", "within": "60 days"}]}}'),
    ('inactive', '{"kind": "disqualifier", "when": {"event_count": "page_view", "within": "30 days", "op": "lt", "value": 1}}'),
    ('new', '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 2}'),
    ('never decays', '{"kind": "event", "event": ["trial_signup", "signup"], "points": 15, "count": "once", "half_life": null}'),
    ('capped', '{"kind": "event", "event": "project_created", "points": 5, "count": {"max": 3}}')
  ) AS examples(example, rule);

-- Every kind of mistake, with the JSON path at fault and what was expected.
SELECT lead_score.rule_problem(rule) AS problem
  FROM (VALUES
    -- malformed shape, unknown kind / key / operator
    ('[1, 2]'::jsonb),
    ('{"when": {"field": "a", "op": "eq", "value": 1}, "points": 1}'),
    ('{"kind": "score", "points": 1}'),
    ('{"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}, "points": 1, "colour": "red"}'),
    ('{"kind": "fit", "when": {"feild": "country"}, "points": 1}'),
    ('{"kind": "fit", "when": {"field": "country", "op": "like", "value": "U%"}, "points": 1}'),
    ('{"kind": "fit", "when": {"field": "country", "op": "eq"}, "points": 1}'),
    ('{"kind": "fit", "when": {"all": []}, "points": 1}'),
    -- wrong value type for the operator
    ('{"kind": "fit", "when": {"field": "employees", "op": "gte", "value": "abc"}, "points": 10}'),
    ('{"kind": "fit", "when": {"any": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "contains", "value": 7}]}, "points": 1}'),
    ('{"kind": "fit", "when": {"field": "a", "op": "between", "value": [10, 1]}, "points": 1}'),
    ('{"kind": "fit", "when": {"field": "a", "op": "eq", "value": {"x": 1}}, "points": 1}'),
    ('{"kind": "fit", "when": {"field": "a", "op": "is_null", "value": 1}, "points": 1}'),
    ('{"kind": "fit", "when": {"field": "a", "op": "gt", "value": "2024-02-30"}, "points": 1}'),
    ('{"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}, "points": "ten"}'),
    -- empty in list
    ('{"kind": "fit", "when": {"field": "country", "op": "in", "value": []}, "points": 1}'),
    -- invalid regex
    ('{"kind": "fit", "when": {"field": "job_title", "op": "matches", "value": "[a-"}, "points": 1}'),
    -- invalid interval, non-positive half-life
    ('{"kind": "event", "event": "x", "points": 1, "within": "ninety days"}'),
    ('{"kind": "event", "event": "x", "points": 1, "half_life": "0 days"}'),
    ('{"kind": "event", "event": "x", "points": 1, "half_life": "-14 days"}'),
    -- scope and history mistakes
    ('{"kind": "fit", "when": {"field": "props.url", "op": "eq", "value": "/"}, "points": 1}'),
    ('{"kind": "event", "event": "x", "when": {"no_event": "y"}, "points": 1}'),
    ('{"kind": "event", "event": [], "points": 1}'),
    ('{"kind": "event", "event": "x", "points": 1, "count": {"max": 0}}')
  ) AS mistakes(rule);

-- Operators on real types, tried on sample records (case-insensitive by default).
SELECT rule ->> 'when' AS "when", lead_score.rule_matches(rule, record, '2024-06-01 00:00+00') AS matches
  FROM (SELECT jsonb_build_object('kind', 'fit', 'when', c, 'points', 1) AS rule,
               '{"country": "US", "employees": 120, "employees_text": "120", "job_title": "Chief Technology Officer",
                 "is_decision_maker": true, "nickname": null, "created_at": "2024-05-28T12:00:00Z",
                 "tags": ["vip", "beta"], "account": {"employees": 30, "industry": "Software"}}'::jsonb AS record
          FROM unnest(ARRAY[
            '{"field": "country", "op": "eq", "value": "us"}',
            '{"field": "country", "op": "eq", "value": "us", "case_sensitive": true}',
            '{"field": "country", "op": "ne", "value": "UK"}',
            '{"field": "country", "op": "in", "value": ["UK", "US"]}',
            '{"field": "country", "op": "not_in", "value": ["UK", "US"]}',
            '{"field": "employees", "op": "gt", "value": 100}',
            '{"field": "employees_text", "op": "gte", "value": 120}',
            '{"field": "employees", "op": "lt", "value": 100}',
            '{"field": "employees", "op": "lte", "value": 120}',
            '{"field": "employees", "op": "between", "value": [100, 200]}',
            '{"field": "country", "op": "gt", "value": 1}',
            '{"field": "job_title", "op": "contains", "value": "technology"}',
            '{"field": "job_title", "op": "starts_with", "value": "chief"}',
            '{"field": "job_title", "op": "ends_with", "value": "officer"}',
            '{"field": "job_title", "op": "matches", "value": "^chief (technology|executive)"}',
            '{"field": "tags", "op": "contains", "value": "VIP"}',
            '{"field": "is_decision_maker", "op": "eq", "value": true}',
            '{"field": "nickname", "op": "is_null"}',
            '{"field": "nickname", "op": "ne", "value": "x"}',
            '{"field": "missing_column", "op": "not_null"}',
            '{"field": "created_at", "op": "within", "value": "7 days"}',
            '{"field": "created_at", "op": "gt", "value": "2024-05-01"}',
            '{"field": "account.employees", "op": "gte", "value": 25}',
            '{"not": {"field": "country", "op": "eq", "value": "US"}}',
            '{"all": [{"field": "country", "op": "eq", "value": "US"}, {"field": "account.industry", "op": "eq", "value": "software"}]}'
          ]::jsonb[]) AS c) cases;

-- Event rules match the event's type and properties; malformed properties just do not match.
SELECT record, lead_score.rule_matches(
         '{"kind": "event", "event": "page_view", "when": {"field": "props.page.url", "op": "contains", "value": "/pricing"}, "points": 3}',
         record) AS matches
  FROM unnest(ARRAY[
    '{"event_type": "page_view", "props": {"page": {"url": "https://x.io/pricing"}}}',
    '{"event_type": "email_open", "props": {"page": {"url": "https://x.io/pricing"}}}',
    '{"event_type": "page_view", "props": {"page": "not an object"}}',
    '{"event_type": "page_view", "props": null}',
    '{"event_type": "page_view"}'
  ]::jsonb[]) AS record;

-- History conditions read "events": [{"event_type": ..., "at": ...}] in sample records.
SELECT lead_score.rule_matches(
         '{"kind": "disqualifier", "when": {"no_event": "email_open", "within": "60 days"}}',
         jsonb_build_object('events', jsonb_build_array(jsonb_build_object('event_type', 'email_open', 'at', opened))),
         '2024-06-01 00:00+00') AS gone_quiet, opened
  FROM unnest(ARRAY['2024-05-20', '2024-02-01']) AS opened;

-- NULL in, NULL out; an invalid rule is an error (22023).
SELECT lead_score.rule_matches(NULL, '{}') IS NULL AS null_rule,
       lead_score.rule_matches('{"kind": "fit", "when": {"field": "a", "op": "is_null"}, "points": 1}', NULL) IS NULL AS null_record;
SELECT lead_score.rule_matches('{"kind": "fit", "points": 1}', '{}');
\echo :LAST_ERROR_SQLSTATE

-- Settings.
SELECT settings, lead_score.settings_problem(settings) AS problem
  FROM unnest(ARRAY[
    '{}', '{"half_life": "14 days", "pql_threshold": 50, "pql_tag": "Hot lead"}',
    '{"half_life": "0 days"}', '{"half_life": "a fortnight"}', '{"pql_threshold": "high"}',
    '{"pql_tag": ""}', '{"threshold": 50}', '[]'
  ]::jsonb[]) AS settings;
