-- What the sales team looks at first: the best leads right now, read from the live
-- scores relation with plain SQL.
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

\echo 'Top 20 leads by current score: SELECT ... FROM lead_score."Demo_scores" ORDER BY score DESC'
SELECT row_number() OVER (ORDER BY s.score DESC, c.id) AS rank,
       c.first_name || ' ' || c.last_name AS contact,
       c.job_title,
       a.name AS company,
       c.country,
       round(s.fit_score::numeric, 1) AS fit,
       round(s.engagement_score::numeric, 1) AS engagement,
       round(s.score::numeric, 1) AS score,
       s.disqualified_by
  FROM lead_score."Demo_scores" s
  JOIN crm.contacts c ON c.id = s.id
  JOIN crm.accounts a ON a.id = c.account_id
 ORDER BY s.score DESC, c.id
 LIMIT 20;

\echo 'Disqualified contacts, by reason'
SELECT reason, count(*) AS contacts
  FROM lead_score."Demo_scores", unnest(disqualified_by) AS reason
 GROUP BY reason ORDER BY 2 DESC;

\echo
\echo 'Live: the lead ranked 25th books a call and checks the pricing page.'
\echo 'Triggers rescore the contact in the same transaction as the INSERT:'
SELECT s.id AS lead, round(s.score::numeric, 1) AS score_before,
       (SELECT count(*) + 1 FROM lead_score."Demo_scores" o WHERE o.score > s.score) AS rank_before
  FROM lead_score."Demo_scores" s ORDER BY s.score DESC, s.id OFFSET 24 LIMIT 1 \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at, properties) VALUES
    (:lead, 'call_booked', now(), '{}'),
    (:lead, 'page_view', now(), '{"url": "/pricing"}');
SELECT :lead AS lead, :score_before AS score_before, :rank_before AS rank_before,
       round(s.score::numeric, 1) AS score_after,
       (SELECT count(*) + 1 FROM lead_score."Demo_scores" o WHERE o.score > s.score) AS rank_after
  FROM lead_score."Demo_scores" s WHERE s.id = :lead;

\echo 'What the triggers saw, by outcome (lead_score.stats):'
SELECT * FROM lead_score.stats('Demo');

\echo 'Correctness check: every stored score equals a full recomputation (lead_score.verify):'
SELECT count(*) AS contacts_that_differ FROM lead_score.verify('Demo');
