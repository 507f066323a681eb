-- What the sales team looks at first: the best leads right now.
\pset footer off
\echo
\echo 'The sample CRM'
SELECT (SELECT count(*) FROM crm.accounts) AS accounts,
       (SELECT count(*) FROM crm.contacts) AS contacts,
       (SELECT count(*) FROM crm.events) AS events,
       (SELECT min(occurred_at)::date FROM crm.events) AS first_event,
       (SELECT max(occurred_at)::date FROM crm.events) AS last_event;

\echo 'The published scoring profile'
SELECT p.name AS profile, p.active_version AS version, v.rules, v.settings, p.published_by
  FROM lead_score.profiles p
  JOIN lead_score.profile_versions v ON v.profile = p.name AND v.is_active
 WHERE p.name = 'Demo';
SELECT rule_name, kind, rule -> 'points' AS points,
       coalesce(rule ->> 'event', rule #>> '{when,field}', '(condition)') AS "on",
       coalesce(rule ->> 'half_life', CASE WHEN rule ? 'half_life' THEN 'never' END) AS half_life
  FROM lead_score.rules
 WHERE profile = 'Demo' AND is_active
 ORDER BY kind DESC, (rule ->> 'points')::float8 DESC NULLS LAST, rule_name;

\echo 'Top 20 leads by current score (fit + decayed engagement)'
SELECT row_number() OVER (ORDER BY s.score DESC, c.id) AS rank,
       c.first_name || ' ' || c.last_name AS contact,
       c.job_title,
       a.name AS company,
       a.employees,
       c.country,
       round(s.fit_score::numeric, 1) AS fit,
       round(s.engagement_score::numeric, 1) AS engagement,
       round(s.score::numeric, 1) AS score,
       s.last_activity::date AS last_active
  FROM demo_profile.lead_scores s
  JOIN crm.contacts c ON c.id = s.contact_id
  JOIN crm.accounts a ON a.id = c.account_id
 ORDER BY s.score DESC, c.id
 LIMIT 20;

\echo
\echo 'The same five leads scored by the published "Demo" profile itself (lead_score.score_record,'
\echo 'the engine that attached tables will use; its rules are richer than the view above: count limits,'
\echo 'the careers-page penalty, disqualifiers) with the next time alone will change each score'
WITH top_five AS (
    SELECT contact_id FROM demo_profile.lead_scores ORDER BY score DESC, contact_id LIMIT 5
), scored AS (
    SELECT c.id, c.first_name || ' ' || c.last_name AS contact,
           lead_score.score_record('Demo',
               to_jsonb(c) || jsonb_build_object('account', to_jsonb(a)),
               (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'event_type', e.event_type, 'at', e.occurred_at, 'props', e.properties)), '[]')
                  FROM crm.events e WHERE e.contact_id = c.id)) AS result
      FROM top_five t
      JOIN crm.contacts c ON c.id = t.contact_id
      JOIN crm.accounts a ON a.id = c.account_id
)
SELECT contact,
       round((result ->> 'score')::numeric, 1) AS score,
       round((result ->> 'fit')::numeric, 1) AS fit,
       round((result ->> 'engagement')::numeric, 1) AS engagement,
       result -> 'disqualified_by' AS disqualified_by,
       (result ->> 'next_due')::timestamptz(0) AS next_due,
       result #>> '{events,scored}' AS events_scored,
       result #>> '{events,not_counted}' AS beyond_limits
  FROM scored
 ORDER BY (result ->> 'score')::float8 DESC;
