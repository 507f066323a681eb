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
       round(s.fit_score::numeric, 1) AS fit,
       round(s.engagement_score::numeric, 1) AS engagement,
       round(s.score::numeric, 1) AS score,
       s.score_100 AS "1-100",
       repeat('*', s.stars) AS stars,
       s.tags,
       c.owner,
       s.disqualified_reason
  FROM lead_score."Demo_scores" s
  JOIN crm.contacts c ON c.id = s.id
  JOIN crm.accounts a ON a.id = c.account_id
 ORDER BY s.score DESC, c.id
 LIMIT 20;

\echo 'Top 10 accounts (lead_score."Demo_account_scores": the sum of their contacts'' scores now,'
\echo 'their engaged and PQL contacts, the best one, the buying roles engaged; read from account rows only):'
SELECT a.name AS company, round(s.score::numeric, 1) AS score, s.contacts, s.engaged_contacts AS engaged,
       s.pql_contacts AS pqls, c.first_name || ' ' || c.last_name AS best_contact, s.roles, s.tags
  FROM (SELECT * FROM lead_score."Demo_account_scores" ORDER BY score DESC LIMIT 10) s
  JOIN crm.accounts a ON a.id = s.id
  JOIN crm.contacts c ON c.id = s.best_contact::bigint
 ORDER BY s.score DESC, s.id;

\echo 'PQLs are routed to the three reps in turn as they qualify (the "routing" setting):'
SELECT c.owner, count(*) AS contacts FROM crm.contacts c WHERE c.owner IS NOT NULL GROUP BY c.owner ORDER BY c.owner;

\echo 'Why the top lead scores what it does: lead_score.explain(profile, contact), rule by rule'
\echo '(kind capped: a rule past its max_points, counted at the cap; stage: the points it earned'
\echo 'in its lifecycle stage, part of the rows above; grade and priority: its place in the matrix)'
SELECT s.id AS top_lead FROM lead_score."Demo_scores" s ORDER BY s.score DESC, s.id LIMIT 1 \gset
SELECT rule_name, kind, dimension, events, round(points::numeric, 2) AS points
  FROM lead_score.explain('Demo', :top_lead);
SELECT round(sum(points) FILTER (WHERE kind <> 'stage')::numeric, 6) AS explained,
       round(lead_score.score('Demo', :top_lead)::numeric, 6) AS score
  FROM lead_score.explain('Demo', :top_lead);
\echo 'And for every contact: the explanation adds up to the score, now, in 3 days and in 30 days:'
SELECT t.at::date AS day, count(*) AS contacts,
       bool_and(abs(coalesce(e.total, 0) - lead_score.score('Demo', c.id, t.at)) < 1e-9) AS adds_up
  FROM crm.contacts c
 CROSS JOIN (VALUES (lead_score.now()), (lead_score.now() + interval '3 days'),
                    (lead_score.now() + interval '30 days')) AS t(at)
 CROSS JOIN LATERAL (SELECT sum(points) FILTER (WHERE kind <> 'stage') AS total
                      FROM lead_score.explain('Demo', c.id, t.at)) e
 GROUP BY t.at ORDER BY t.at;
\echo 'How it got there: its score each week for the last four (lead_score.score_history):'
SELECT at::date AS day, round(score::numeric, 1) AS score, round(fit_score::numeric, 1) AS fit,
       round(engagement_score::numeric, 1) AS engagement
  FROM lead_score.score_history('Demo', :top_lead, lead_score.now() - interval '28 days', step => '7 days');
\echo 'What would count most if it did it now (lead_score.next_actions), and the tags it would reach:'
SELECT * FROM lead_score.next_actions('Demo', :top_lead);

\echo 'Qualification: sticky tags (PQL at 100, MQL at 60) given at attach, and disqualified contacts'
SELECT count(*) FILTER (WHERE is_pql) AS pql,
       count(*) FILTER (WHERE 'MQL' = ANY (tags)) AS mql,
       count(*) FILTER (WHERE disqualified) AS disqualified,
       count(*) FILTER (WHERE is_pql AND NOT disqualified) AS sales_work_queue
  FROM lead_score."Demo_scores";
SELECT reason, count(*) AS contacts
  FROM lead_score."Demo_scores", unnest(disqualified_by) AS reason
 GROUP BY reason ORDER BY 2 DESC;

\echo 'Lifecycle stages (the "stages" setting): the funnel, and the points each stage''s'
\echo 'contacts earned since they entered it (stage_score: none yet, all entered at attach); SQL'
\echo 'needs 100 and a booked call or a trial; disqualified contacts enter no stage.'
SELECT coalesce(s.stage, '(none: disqualified)') AS stage, count(*) AS contacts, round(avg(s.score)::numeric, 1) AS avg_score,
       round(avg(s.stage_score)::numeric, 1) AS avg_points_in_stage
  FROM lead_score."Demo_scores" s
 GROUP BY s.stage ORDER BY min(s.score) DESC;

\echo 'A disqualified example: busy, but an intern, so never tagged however high the score'
SELECT s.id, c.first_name || ' ' || c.last_name AS contact, c.job_title, c.role,
       round(s.score::numeric, 1) AS score, s.is_pql, s.disqualified, s.disqualified_reason
  FROM lead_score."Demo_scores" s JOIN crm.contacts c ON c.id = s.id
 WHERE s.disqualified_reason = 'Student or unemployed'
 ORDER BY s.score DESC, s.id LIMIT 1;

\echo 'The sales work queue: WHERE is_pql AND NOT disqualified ORDER BY score DESC'
SELECT s.id, c.first_name || ' ' || c.last_name AS contact, a.name AS company,
       round(s.score::numeric, 1) AS score, s.pql_at::timestamp(0) AS pql_at
  FROM lead_score."Demo_scores" s
  JOIN crm.contacts c ON c.id = s.id
  JOIN crm.accounts a ON a.id = c.account_id
 WHERE s.is_pql AND NOT s.disqualified
 ORDER BY s.score DESC, s.id LIMIT 5;

\echo 'The same queue from the ceiling index, without reading every score row: lead_score.top()'
\echo '(the same contacts and scores; join the view for the rest):'
SELECT t.contact::bigint AS id, round(t.score::numeric, 1) AS score,
       (SELECT round(s.score::numeric, 1) FROM lead_score."Demo_scores" s WHERE s.id = t.contact::bigint) AS view_score
  FROM lead_score.top('Demo', 5, pql => true, disqualified => false) t;

\echo 'The priority matrix: fit grade (A at 20 fit points, B at 10, C at 0) by engagement band'
\echo '(1 at 30 points, 2 at 15, 3 at 5, else 4), contacts not disqualified:'
SELECT grade, count(*) FILTER (WHERE priority LIKE '_1') AS band_1, count(*) FILTER (WHERE priority LIKE '_2') AS band_2,
       count(*) FILTER (WHERE priority LIKE '_3') AS band_3, count(*) FILTER (WHERE priority LIKE '_4') AS band_4
  FROM lead_score."Demo_scores" WHERE NOT disqualified GROUP BY grade ORDER BY grade;
\echo 'The sales queue by priority: WHERE NOT disqualified ORDER BY priority_rank, score DESC'
SELECT s.id, c.first_name || ' ' || c.last_name AS contact, a.name AS company, s.grade, s.priority,
       s.priority_rank, round(s.fit_score::numeric, 1) AS fit, round(s.engagement_score::numeric, 1) AS engagement
  FROM lead_score."Demo_scores" s
  JOIN crm.contacts c ON c.id = s.id
  JOIN crm.accounts a ON a.id = c.account_id
 WHERE NOT s.disqualified
 ORDER BY s.priority_rank, s.score DESC, s.id LIMIT 8;

\echo
\echo 'Live: this session LISTENs on channel lead_score, as a CRM routing leads would.'
LISTEN lead_score;
\echo 'The lead ranked 25th books a call and checks the pricing page. Triggers rescore the'
\echo 'contact in the same transaction as the INSERT; crossing 100 tags it PQL, and the'
\echo 'notification arrives when the INSERT commits:'
SELECT s.id AS lead, round(s.score::numeric, 1) AS score_before,
       (SELECT count(*) + 1 FROM lead_score."Demo_scores" o WHERE o.score > s.score) AS rank_before
  FROM lead_score."Demo_scores" s ORDER BY s.score DESC, s.id OFFSET 24 LIMIT 1 \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at, properties) VALUES
    (:lead, 'call_booked', now(), '{}'),
    (:lead, 'page_view', now(), '{"url": "/pricing"}');
SELECT :lead AS lead, :score_before AS score_before, :rank_before AS rank_before,
       round(s.score::numeric, 1) AS score_after,
       (SELECT count(*) + 1 FROM lead_score."Demo_scores" o WHERE o.score > s.score) AS rank_after,
       s.is_pql, s.tags
  FROM lead_score."Demo_scores" s WHERE s.id = :lead;

\echo 'The notifications carry only the transition id and profile; a consumer reads each'
\echo 'transition under its own grants (the tag, the stage it entered, the rep it was routed to):'
SELECT t.id, t.contact, t.kind, t.tag, t.old_state, t.new_state FROM lead_score.transitions t
 WHERE t.profile = 'Demo' AND t.contact = :'lead' AND t.source = 'event' ORDER BY t.id;

\echo 'A rep met the lead ranked 30th at a trade show and adds points by hand'
\echo '(lead_score.adjust: +25, halving every 30 days; a right granted apart from editing rules):'
SELECT s.id AS met, round(s.score::numeric, 1) AS met_before
  FROM lead_score."Demo_scores" s ORDER BY s.score DESC, s.id OFFSET 29 LIMIT 1 \gset
SELECT lead_score.adjust('Demo', :met, 25, 'met at the trade show', '30 days') AS adjustment;
SELECT :met AS lead, :met_before AS score_before, round(s.score::numeric, 1) AS score_after, s.tags
  FROM lead_score."Demo_scores" s WHERE s.id = :met;
SELECT id, contact, points, half_life, round(points_now::numeric, 1) AS points_now, reason, adjusted_by
  FROM lead_score.adjustments WHERE profile = 'Demo';
\echo 'explain() shows it beside the rules:'
SELECT rule_name, kind, events, round(points::numeric, 2) AS points
  FROM lead_score.explain('Demo', :met) LIMIT 4;

\echo 'A contact that had gone quiet opens an email: requalified.'
SELECT s.id AS quiet FROM lead_score."Demo_scores" s
 WHERE s.disqualified_reason = 'Gone quiet' ORDER BY s.score DESC, s.id LIMIT 1 \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at, properties) VALUES (:quiet, 'email_open', now(), '{}');
\echo 'The top work-queue contact turns out to be a student (a contact UPDATE): disqualified,'
\echo 'and the PQL tag it already had stays (both flags show).'
SELECT s.id AS student FROM lead_score."Demo_scores" s
 WHERE s.is_pql AND NOT s.disqualified ORDER BY s.score DESC, s.id LIMIT 1 \gset
UPDATE crm.contacts SET role = 'student' WHERE id = :student;
SELECT id, round(score::numeric, 1) AS score, is_pql, disqualified, disqualified_reason, tags
  FROM lead_score."Demo_scores" WHERE id IN (:quiet, :student) ORDER BY id;

\echo 'The transitions feed (lead_score.transitions, the durable outbox), newest first:'
SELECT id, at::timestamp(0) AS at, contact, kind, tag, old_state, new_state,
       round(score::numeric, 1) AS score, reason, source
  FROM lead_score.transitions WHERE profile = 'Demo' ORDER BY id DESC LIMIT 5;
SELECT kind, source, count(*) AS transitions
  FROM lead_score.transitions WHERE profile = 'Demo' GROUP BY kind, source ORDER BY 3 DESC;

\echo 'tick() applies what time alone changes (windows closing, quiet periods); it touches'
\echo 'only contacts that are due, so with nothing due it returns at once:'
SELECT profile, checked, changed FROM lead_score.tick();

\echo 'What the triggers saw, by outcome (lead_score.stats):'
SELECT * FROM lead_score.stats('Demo');

\echo 'Before publishing a change, preview it: a draft that makes form submissions worth 8'
\echo 'and lowers MQL to 50, scored for every contact beside its score now; nothing is written.'
\o /dev/null
SELECT lead_score.update_rule('Demo', 'Form submitted', '{"kind": "event", "event": "form_submit", "points": 8}');
SELECT lead_score.update_profile('Demo', settings => '{"half_life": "30 days", "pql_threshold": 100, "thresholds": {"MQL": 50},
                                             "routing": {"tag": "PQL", "column": "owner", "owners": ["Ana", "Ben", "Chloe"]},
                                             "grades": {"A": 20, "B": 10, "C": 0}, "engagement_bands": [30, 15, 5]}');
\o
SELECT metric, round(value::numeric, 3) AS value FROM lead_score.preview_summary('Demo');
SELECT contact, round(active_score::numeric, 1) AS now, round(new_score::numeric, 1) AS with_draft,
       active_rank, new_rank, change
  FROM lead_score.preview('Demo') ORDER BY new_rank LIMIT 5;
\echo '(The draft is reverted: the published version stays as it is.)'
\o /dev/null
SELECT lead_score.revert_draft('Demo');
\o

\echo 'Correctness check: every stored score equals a full recomputation (lead_score.verify):'
SELECT count(*) AS contacts_that_differ FROM lead_score.verify('Demo');
