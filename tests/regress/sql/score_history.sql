-- score_history(): a contact's score at each step, from one read of its events; each
-- step equals score(profile, contact, at) and a recomputation in plain SQL. Bad inputs.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA sh;
CREATE TABLE sh.contacts (id integer PRIMARY KEY, country text);
CREATE TABLE sh.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz);
INSERT INTO sh.contacts VALUES (1, 'US'), (2, 'DE');
INSERT INTO sh.events (contact_id, kind, at) VALUES
  (1, 'visit', '2024-05-02'), (1, 'visit', '2024-05-10'), (1, 'demo', '2024-05-12'),
  (1, 'visit', '2024-05-20'), (1, 'demo', '2024-05-25'), (2, 'visit', '2024-05-30');
SELECT lead_score.create_profile('Over time', settings => '{"half_life": "10 days"}') > 0 AS created;
SELECT count(lead_score.add_rule('Over time', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 2}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10, "count": "once", "half_life": null}'),
  ('Recent visit', '{"kind": "event", "event": "visit", "points": 5, "within": "3 days", "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Over time') AS version;
SELECT lead_score.attach('Over time', 'sh.contacts', 'sh.events', '{"event_type": "kind", "event_time": "at"}');

-- Contact 1 through May, every 4 days: the first demo counts once, recent visits count
-- for 3 days, visits fade.
SELECT at, round(score::numeric, 6) AS score, fit_score, round(engagement_score::numeric, 6) AS engagement_score
  FROM lead_score.score_history('Over time', 1, '2024-05-01', '2024-06-01', '4 days');
-- Each step is score(profile, contact, at), and the plain-SQL recomputation.
SELECT count(*) AS steps,
       count(*) FILTER (WHERE abs(h.score - lead_score.score('Over time', 1, h.at)) > 1e-9) AS off_score,
       count(*) FILTER (WHERE abs(h.score - (1
           + coalesce((SELECT sum(2 * power(2, -extract(epoch FROM h.at - e.at) / 864000)) FROM sh.events e
                        WHERE e.contact_id = 1 AND e.kind = 'visit' AND e.at <= h.at), 0)
           + CASE WHEN EXISTS (SELECT FROM sh.events e WHERE e.contact_id = 1 AND e.kind = 'demo' AND e.at <= h.at)
                  THEN 10 ELSE 0 END
           + 5 * (SELECT count(*) FROM sh.events e WHERE e.contact_id = 1 AND e.kind = 'visit'
                     AND e.at <= h.at AND h.at <= e.at + interval '3 days'))) > 1e-9) AS off_plain_sql
  FROM lead_score.score_history('Over time', 1, '2024-05-01', '2024-06-01', '6 hours') h;
-- Until defaults to the clock; the step to a day; months step by the calendar.
SELECT count(*) AS daily_steps, max(at) AS last FROM lead_score.score_history('Over time', 2, '2024-05-25');
SELECT at FROM lead_score.score_history('Over time', '2', '2024-01-31', '2024-06-01', '1 month');

-- Bad inputs.
SELECT * FROM lead_score.score_history('Over time', 1, '2024-05-01', '2024-04-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.score_history('Over time', 1, '2024-05-01', '2024-06-01', '0 days');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.score_history('Over time', 1, '2024-05-01', '2024-06-01', '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.score_history('Over time', 1, '2000-01-01', '2024-06-01', '1 minute');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM lead_score.score_history('Over time', 999, '2024-05-01');
SELECT count(*) AS rows FROM lead_score.score_history('Over time', 1, NULL);
SELECT count(*) AS rows FROM lead_score.score_history(NULL, 1, '2024-05-01');
SELECT * FROM lead_score.score_history('Nope', 1, '2024-05-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.score_history('Over time', 'one', '2024-05-01');
\echo :LAST_ERROR_SQLSTATE

SELECT lead_score.detach('Over time');
SELECT lead_score.drop_profile('Over time');
DROP SCHEMA sh CASCADE;
