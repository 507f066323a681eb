-- Rule templates: the common signals of HubSpot, Freshsales, Mautic and friends,
-- ready to add with one statement:
--   SELECT lead_score.add_rule('My profile', rule_name, rule)
--     FROM lead_score.suggested_rules() WHERE rule_name IN ('Target country', ...);
-- Field and event names are the usual ones (country, job_title, account.employees,
-- email_click, ...); rename them to your columns and event types before publishing.

CREATE FUNCTION lead_score.suggested_rules()
RETURNS TABLE(rule_name text, rule jsonb, why text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
VALUES
    ('Target country',
     '{"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}'::jsonb,
     'Fit: contacts in the markets you sell to.'),
    ('C-level role',
     '{"kind": "fit", "when": {"field": "job_title", "op": "matches", "value": "^(chief\\b|c[eotfmi]o\\b)"}, "points": 5}',
     'Fit: executives sign contracts.'),
    ('Company has 25+ employees',
     '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}',
     'Fit: the account is big enough to need the product.'),
    ('Decision maker',
     '{"kind": "fit", "when": {"field": "is_decision_maker", "op": "eq", "value": true}, "points": 10}',
     'Fit: the contact can say yes.'),
    ('Email click',
     '{"kind": "event", "event": "email_click", "points": 1}',
     'Engagement: clicked a marketing email; small, and fades.'),
    ('Replied to a sales email',
     '{"kind": "event", "event": "email_reply", "points": 5}',
     'Engagement: a two-way conversation has started.'),
    ('Trial signup',
     '{"kind": "event", "event": "trial_signup", "points": 15, "count": "once", "half_life": "90 days"}',
     'Product: signed up for a trial; counts once.'),
    ('Created a project',
     '{"kind": "event", "event": "project_created", "points": 5, "count": {"max": 3}, "dimension": "stage:trial"}',
     'Product: real use of the trial (first three projects).'),
    ('Booked a call',
     '{"kind": "event", "event": "call_booked", "points": 20, "half_life": "60 days"}',
     'Intent: asked to talk to sales.'),
    ('Visited the pricing page',
     '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"}, "points": 3, "half_life": "14 days"}',
     'Intent: comparing plans; fades fast.'),
    ('Attended a webinar',
     '{"kind": "event", "event": "webinar_attended", "points": 8}',
     'Engagement: gave the company an hour.'),
    ('Cancelled the demo',
     '{"kind": "event", "event": "demo_cancelled", "points": -10}',
     'Negative: backed out of a sales meeting.'),
    ('Unsubscribed',
     '{"kind": "event", "event": "unsubscribed", "points": -10, "half_life": null}',
     'Negative: asked for no more email; never fades.'),
    ('Careers page visit',
     '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/careers"}, "points": -5}',
     'Negative: more likely a job-seeker than a buyer.'),
    ('Student or unemployed',
     '{"kind": "disqualifier", "when": {"field": "role", "op": "in", "value": ["student", "unemployed"]}}',
     'Disqualifier: not a buyer.'),
    ('Gone quiet',
     '{"kind": "disqualifier", "when": {"no_event": ["email_open", "email_click", "page_view"], "within": "90 days"}}',
     'Disqualifier: no opens, clicks or visits in 90 days.')
$$;
