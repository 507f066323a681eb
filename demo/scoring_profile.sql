-- The sample scoring profile, as marketers write it: the classic signals from the
-- templates plus the sample CRM's own event types, published as version 1. Fit grades
-- (A at 20 fit points, B at 10, C at 0) and engagement bands (1 at 30 points, 2 at 15,
-- 3 at 5, else 4) make each contact's priority, A1 best. Email opens count for at most
-- 10 points and page views for at most 15 (point caps), whatever the volume. Accounts add up their
-- contacts' scores; an account at 500 becomes a "Target account", and the roles of its
-- engaged contacts show its buying group.
SELECT lead_score.create_profile('Demo', 'The sample CRM''s lead score',
                                 '{"half_life": "30 days", "pql_threshold": 100, "thresholds": {"MQL": 60},
                                   "routing": {"tag": "PQL", "column": "owner", "owners": ["Ana", "Ben", "Chloe"]},
                                   "stages": [{"name": "Subscriber"}, {"name": "Lead", "score": 30},
                                              {"name": "MQL", "score": 60},
                                              {"name": "SQL", "score": 100,
                                               "when": {"event_count": ["call_booked", "trial_signup"], "op": "gte", "value": 1}}],
                                   "grades": {"A": 20, "B": 10, "C": 0}, "engagement_bands": [30, 15, 5],
                                   "buying_roles": "role", "account_thresholds": {"Target account": 500}}') AS profile_id \gset
SELECT count(lead_score.add_rule('Demo', rule_name, rule)) AS template_rules
  FROM lead_score.suggested_rules() \gset
SELECT count(lead_score.add_rule('Demo', rule_name, rule::jsonb)) AS demo_rules
  FROM (VALUES
    ('Email open', '{"kind": "event", "event": "email_open", "points": 1, "max_points": 10}'),
    ('Page view', '{"kind": "event", "event": "page_view", "points": 1, "half_life": "14 days", "max_points": 15}'),
    ('Content download', '{"kind": "event", "event": "content_download", "points": 3}'),
    ('Form submitted', '{"kind": "event", "event": "form_submit", "points": 5}'),
    ('Quote requested', '{"kind": "event", "event": "form_submit", "when": {"field": "props.form", "op": "eq", "value": "pricing_quote"}, "points": 10, "count": "once"}')
  ) AS demo_rules(rule_name, rule) \gset
SELECT lead_score.publish('Demo') AS demo_version \gset
