-- The sample scoring profile: the classic lead-scoring table of HubSpot, Freshsales and
-- Mautic. Fit points come from who the contact is and never decay; engagement points
-- come from what the contact did and halve every half-life, via lead_score.decay().

-- 1. The profile as marketers write it: the classic signals from the templates, plus the
--    demo CRM's own event types, published as version 1. Attaching it to crm.contacts
--    and crm.events for live, trigger-maintained scores comes with issue #5.
SELECT lead_score.create_profile('Demo', 'The sample CRM''s lead score',
                                 '{"half_life": "30 days", "pql_threshold": 60}') AS profile_id \gset
SELECT count(lead_score.add_rule('Demo', rule_name, rule)) AS template_rules
  FROM lead_score.suggested_rules() \gset
SELECT count(lead_score.add_rule('Demo', rule_name, rule::jsonb)) AS demo_rules
  FROM (VALUES
    ('Email open', '{"kind": "event", "event": "email_open", "points": 1}'),
    ('Page view', '{"kind": "event", "event": "page_view", "points": 1, "half_life": "14 days"}'),
    ('Content download', '{"kind": "event", "event": "content_download", "points": 3}'),
    ('Form submitted', '{"kind": "event", "event": "form_submit", "points": 5}'),
    ('Quote requested', '{"kind": "event", "event": "form_submit", "when": {"field": "props.form", "op": "eq", "value": "pricing_quote"}, "points": 10, "count": "once"}')
  ) AS demo_rules(rule_name, rule) \gset
SELECT lead_score.publish('Demo') AS demo_version \gset

-- 2. Until then, the same table evaluated in plain SQL with lead_score.decay().
DROP SCHEMA IF EXISTS demo_profile CASCADE;
CREATE SCHEMA demo_profile;

CREATE TABLE demo_profile.event_points (
    event_type  text PRIMARY KEY,
    points      float8 NOT NULL,
    half_life   interval NOT NULL
);
INSERT INTO demo_profile.event_points VALUES
    ('email_open',        1, '30 days'),
    ('email_click',       1, '30 days'),
    ('email_reply',       5, '30 days'),
    ('page_view',         1, '14 days'),
    ('content_download',  3, '30 days'),
    ('form_submit',       5, '30 days'),
    ('webinar_attended',  8, '60 days'),
    ('trial_signup',     15, '90 days'),
    ('project_created',   5, '30 days'),
    ('call_booked',      20, '60 days'),
    ('demo_cancelled',  -10, '30 days'),
    ('unsubscribed',    -10, '180 days');

-- Extra points for a page view depending on the page: pricing is buying intent,
-- careers is a job-seeker.
CREATE TABLE demo_profile.page_points (
    url_prefix  text PRIMARY KEY,
    points      float8 NOT NULL
);
INSERT INTO demo_profile.page_points VALUES ('/pricing', 3), ('/careers', -5);

CREATE VIEW demo_profile.lead_scores AS
SELECT c.id AS contact_id,
       fit.points AS fit_score,
       coalesce(engagement.points, 0) AS engagement_score,
       fit.points + coalesce(engagement.points, 0) AS score,
       engagement.last_activity
  FROM crm.contacts c
  JOIN crm.accounts a ON a.id = c.account_id
 CROSS JOIN LATERAL (SELECT
         CASE WHEN c.country IN ('US', 'UK') THEN 1 ELSE 0 END
       + CASE WHEN c.role = 'c_level' THEN 5 ELSE 0 END
       + CASE WHEN a.employees >= 25 THEN 10 ELSE 0 END
       + CASE WHEN c.is_decision_maker THEN 10 ELSE 0 END
       + CASE WHEN c.role = 'student' THEN -10 ELSE 0 END AS points) fit
  LEFT JOIN LATERAL (
       SELECT sum(lead_score.decay(p.points + coalesce(page.points, 0),
                                   now() - e.occurred_at, p.half_life)) AS points,
              max(e.occurred_at) AS last_activity
         FROM crm.events e
         JOIN demo_profile.event_points p USING (event_type)
         LEFT JOIN demo_profile.page_points page
                ON e.event_type = 'page_view'
               AND starts_with(e.properties ->> 'url', page.url_prefix)
        WHERE e.contact_id = c.id) engagement ON true;
