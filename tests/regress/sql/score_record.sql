-- lead_score.score_record(): a whole profile applied to a sample contact and its events,
-- without any tables. The same engine will score attached tables.
\set SHOW_CONTEXT never
SET timezone = 'UTC';

SELECT lead_score.create_profile('Trial funnel', settings => '{"half_life": "30 days"}') > 0 AS created;
SELECT count(lead_score.add_rule('Trial funnel', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US or UK', '{"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}'),
  ('Big company', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}'),
  ('Email click', '{"kind": "event", "event": "email_click", "points": 8}'),
  ('Pricing page', '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"}, "points": 4, "half_life": "14 days", "dimension": "intent"}'),
  ('Trial signup', '{"kind": "event", "event": "trial_signup", "points": 15, "count": "once", "half_life": null}'),
  ('Recent visit', '{"kind": "event", "event": "page_view", "points": 1, "within": "7 days", "half_life": null}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}'),
  ('Gone quiet', '{"kind": "disqualifier", "when": {"no_event": ["email_click", "page_view"], "within": "60 days"}}')
) AS r(rule_name, rule);

-- Before the first publish, only the draft can be scored.
SELECT lead_score.score_record('Trial funnel', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.score_record('Trial funnel', '{"country": "US"}', use_draft => true) ->> 'score' AS draft_score;
SELECT lead_score.publish('Trial funnel') AS version;

-- A contact with a history, scored on 1 June 2024:
--   fit 1 + 10; clicks 30 and 60 days old: 8/2 + 8/4 = 6; pricing view 14 days old: 4/2 = 2;
--   two trial signups, one counts, never decays: 15; a visit 3 days ago (in the 7-day
--   window): 1, and it leaves the window on 5 June (next_due); total 35.
SELECT jsonb_pretty(lead_score.score_record('Trial funnel',
  '{"country": "us", "role": "buyer", "account": {"employees": 40}}',
  '[{"event_type": "email_click", "at": "2024-05-02"},
    {"event_type": "email_click", "at": "2024-04-02"},
    {"event_type": "page_view", "at": "2024-05-18", "props": {"url": "https://x.io/pricing"}},
    {"event_type": "trial_signup", "at": "2024-05-20"},
    {"event_type": "trial_signup", "at": "2024-05-25"},
    {"event_type": "page_view", "at": "2024-05-29", "props": {"url": "/blog"}},
    {"event_type": "webinar", "at": "2024-05-29"},
    {"event_type": "email_click", "at": "2024-07-01"},
    {"event_type": "email_click"},
    {"at": "2024-05-01"}]',
  '2024-06-01 00:00+00'));

-- Insertion order never changes a score, even where it could: count limits keep the
-- earliest events, and with decay which ones are kept shows in the score. A once-only
-- webinar (12 points) and at most two clicks (8 each), halving every 10 days, on 1 June:
-- the 12 May webinar 12/4 = 3 (not the 22 May one, 6); the clicks of 2 and 12 May,
-- 8/8 + 8/4 = 3 (not 22 and 12 May, 6); 6 in all, in any of the orders.
SELECT lead_score.create_profile('Order check', settings => '{"half_life": "10 days"}') > 0 AS created;
SELECT count(lead_score.add_rule('Order check', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Webinar once', '{"kind": "event", "event": "webinar", "points": 12, "count": "once"}'),
  ('Two clicks', '{"kind": "event", "event": "click", "points": 8, "count": {"max": 2}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Order check') AS version;
SELECT count(DISTINCT s.score) AS distinct_scores, min(s.score) AS score, count(*) AS orders
  FROM (SELECT (lead_score.score_record('Order check', '{}', events, '2024-06-01 00:00+00') ->> 'score')::float8 AS score
          FROM (SELECT jsonb_agg(e ORDER BY md5(e::text || salt)) AS events
                  FROM generate_series(1, 8) AS salt,
                       jsonb_array_elements('[{"event_type": "webinar", "at": "2024-05-22"},
                                              {"event_type": "webinar", "at": "2024-05-12"},
                                              {"event_type": "click", "at": "2024-05-22"},
                                              {"event_type": "click", "at": "2024-05-12"},
                                              {"event_type": "click", "at": "2024-05-02"}]') AS e
                 GROUP BY salt) shuffled) s;
SELECT lead_score.drop_profile('Order check');

-- A quiet student is disqualified by both rules; malformed data never raises.
SELECT lead_score.score_record('Trial funnel', '{"role": "Student"}', '[]', '2024-06-01 00:00+00') -> 'disqualified_by' AS disqualified_by;
SELECT lead_score.score_record('Trial funnel', '{"country": 7, "account": "not an object"}',
         '[{"event_type": "page_view", "at": "2024-05-31", "props": "not an object"}, "not an event", 42]',
         '2024-06-01 00:00+00') -> 'events' AS tally;

-- Unknown profiles are errors (42704).
SELECT lead_score.score_record('No such profile', '{}');
\echo :LAST_ERROR_SQLSTATE

SELECT lead_score.drop_profile('Trial funnel');
