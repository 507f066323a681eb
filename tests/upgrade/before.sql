-- A CRM scored by an older release (psql variable old_version), as its users have it:
-- two profiles, several published versions and a draft, attached (one with accounts),
-- events that tag, disqualify and requalify contacts, a cleared tag; a third profile
-- whose contacts' key column is named contact_key, read by a sales representative whom
-- row-level security restricts; from 0.2.0 on, manual adjustments and a likelihood.
-- Run with that release installed; tests/upgrade/run.sh then updates the extension and
-- checks that nothing was lost.
\set ON_ERROR_STOP on
SET lead_score.now = '2024-06-01 00:00:00+00';
CREATE EXTENSION pg_lead_score VERSION :'old_version';
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (id bigint PRIMARY KEY, employees integer);
CREATE TABLE crm.contacts (id bigint PRIMARY KEY, account_id bigint REFERENCES crm.accounts, role text, country text);
CREATE TABLE crm.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz, props jsonb);
CREATE INDEX ON crm.events (contact_id, occurred_at);
CREATE TABLE crm.people (email text PRIMARY KEY, title text);
CREATE TABLE crm.activity (id serial PRIMARY KEY, email text, kind text, at timestamptz);
CREATE INDEX ON crm.activity (email);
INSERT INTO crm.accounts SELECT g, g * 25 FROM generate_series(1, 10) AS g;
INSERT INTO crm.contacts SELECT g, 1 + g % 10, CASE WHEN g % 7 = 0 THEN 'student' ELSE 'buyer' END,
                                (ARRAY['US', 'DE', 'UK'])[1 + g % 3]
  FROM generate_series(1, 60) AS g;
INSERT INTO crm.people VALUES ('ann@example.com', 'CTO'), ('bob@example.com', 'intern'), ('cy@example.com', 'VP');

SELECT lead_score.create_profile('Sales', 'the sales team''s score',
    '{"half_life": "30 days", "pql_threshold": 40, "thresholds": {"MQL": 15},
      "score_100": {"curve": "linear", "scale": 80}}');
SELECT lead_score.add_rule('Sales', 'US or UK', '{"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}');
SELECT lead_score.add_rule('Sales', 'Big account', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 150}, "points": 5}');
SELECT lead_score.add_rule('Sales', 'Pricing', '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"}, "points": 3, "dimension": "intent"}');
SELECT lead_score.add_rule('Sales', 'Demo', '{"kind": "event", "event": "demo", "points": 20, "count": "once"}');
SELECT lead_score.add_rule('Sales', 'Cancelled', '{"kind": "event", "event": "cancel", "points": -10, "half_life": "2 days"}');
SELECT lead_score.add_rule('Sales', 'Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}');
SELECT lead_score.publish('Sales');
SELECT lead_score.update_rule('Sales', 'Demo', '{"kind": "event", "event": "demo", "points": 25, "count": "once"}');
SELECT lead_score.add_rule('Sales', 'Recent visit', '{"kind": "event", "event": "visit", "points": 2, "within": "14 days", "half_life": null}');
SELECT lead_score.publish('Sales');
-- A draft change that stays unpublished.
SELECT lead_score.add_rule('Sales', 'Webinar', '{"kind": "event", "event": "webinar", "points": 8}');
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"accounts": "accounts", "event_props": "props"}');

-- A second profile keyed by text, with a contact key column named contact_key's way.
SELECT lead_score.create_profile('People', settings => '{"half_life": "7 days", "pql_threshold": 10}');
SELECT lead_score.add_rule('People', 'Senior', '{"kind": "fit", "when": {"field": "title", "op": "in", "value": ["CTO", "VP"]}, "points": 4}');
SELECT lead_score.add_rule('People', 'Active', '{"kind": "event", "event": "login", "points": 2}');
SELECT lead_score.publish('People');
SELECT lead_score.attach('People', 'crm.people', 'crm.activity', '{"event_contact": "email", "event_type": "kind", "event_time": "at"}');

-- Activity: tags, disqualifications, a requalification, a cleared tag.
INSERT INTO crm.events (contact_id, event_type, occurred_at, props)
SELECT 1 + g % 60, (ARRAY['page_view', 'visit', 'demo', 'page_view'])[1 + g % 4], '2024-05-01'::timestamptz + g * interval '40 minutes',
       jsonb_build_object('url', CASE WHEN g % 3 = 0 THEN '/pricing' ELSE '/' END)
  FROM generate_series(1, 1500) AS g;
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (2, 'cancel', '2024-05-31'), (3, 'cancel', '2024-05-31');
UPDATE crm.contacts SET role = 'student' WHERE id = 1;
UPDATE crm.contacts SET role = 'buyer' WHERE id = 14;
INSERT INTO crm.activity (email, kind, at) SELECT e, 'login', '2024-05-30' FROM unnest(ARRAY['ann@example.com', 'cy@example.com', 'cy@example.com']) AS e;
SELECT lead_score.clear_tag('Sales', min(contact_key)::bigint, 'PQL')
  FROM lead_score.tag_store WHERE tag = 'PQL' AND profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Sales');
-- A demo booked for noon comes due on the next day's tick(), which tags the contact.
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (4, 'demo', '2024-06-01 12:00');
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT * FROM lead_score.tick();

-- Contacts keyed by a column named contact_key, with row-level security: the
-- representative may see only the contacts assigned to them (2 of 10). 0.1.0's policy on
-- the state table compared contact_key with itself, so they saw every score row.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lead_score_upgrade_rep') THEN
        CREATE ROLE lead_score_upgrade_rep;
    END IF;
END $$;
CREATE TABLE crm.leads (contact_key bigint PRIMARY KEY, assigned_to name);
CREATE TABLE crm.lead_events (id serial PRIMARY KEY, contact_key bigint, kind text, at timestamptz);
INSERT INTO crm.leads SELECT g, CASE WHEN g <= 2 THEN 'lead_score_upgrade_rep' ELSE 'someone_else' END
  FROM generate_series(1, 10) AS g;
GRANT USAGE ON SCHEMA crm TO lead_score_upgrade_rep;
GRANT SELECT ON crm.leads TO lead_score_upgrade_rep;
ALTER TABLE crm.leads ENABLE ROW LEVEL SECURITY;
CREATE POLICY assigned ON crm.leads FOR SELECT USING (assigned_to = current_user);
SELECT lead_score.create_profile('Leads', settings => '{"half_life": "7 days"}');
SELECT lead_score.add_rule('Leads', 'Call', '{"kind": "event", "event": "call", "points": 5}');
SELECT lead_score.publish('Leads');
SELECT lead_score.attach('Leads', 'crm.leads', 'crm.lead_events', '{"event_contact": "contact_key", "event_type": "kind", "event_time": "at"}');
INSERT INTO crm.lead_events (contact_key, kind, at) SELECT g, 'call', '2024-05-30' FROM generate_series(1, 10) AS g;

-- What 0.2.0 added: manual adjustments (one that never fades and tags, one that
-- halves weekly, on a text key) and a likelihood.
SELECT :'old_version' <> '0.1.0' AS since_0_2_0 \gset
\if :since_0_2_0
SELECT lead_score.adjust('Sales', 8::bigint, 30, 'met at the trade show');
SELECT lead_score.adjust('People', 'bob@example.com'::text, -3, 'bounced email', '7 days');
SELECT lead_score.update_profile('People', settings => '{"half_life": "7 days", "pql_threshold": 10,
      "likelihood": {"intercept": -3, "points_per_doubling": 4}}');
SELECT lead_score.publish('People');
\endif

-- Two attachments that lost a table: the contacts table of 'Gone', the events table of
-- 'NoEvents' (DROP TABLE ... CASCADE also drops the triggers on the table and the
-- state table's policy, which names the contacts table). The update from 0.1.0 failed
-- on the first (its policy was written with the dropped table's oid, "syntax error at
-- or near" it) and left the extension at 0.1.0. Both stay broken after the update:
-- using one raises 55000 until it is detached (tests/upgrade/after.sql).
CREATE TABLE crm.gone_contacts (id bigint PRIMARY KEY, role text);
CREATE TABLE crm.gone_contact_events (id serial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON crm.gone_contact_events (contact_id, occurred_at);
CREATE TABLE crm.partners (id bigint PRIMARY KEY, role text);
CREATE TABLE crm.gone_events (id serial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON crm.gone_events (contact_id, occurred_at);
INSERT INTO crm.gone_contacts SELECT g, 'buyer' FROM generate_series(1, 3) AS g;
INSERT INTO crm.partners SELECT g, 'buyer' FROM generate_series(1, 3) AS g;
SELECT lead_score.create_profile('Gone', settings => '{"half_life": "7 days", "pql_threshold": 5}');
SELECT lead_score.add_rule('Gone', 'Call', '{"kind": "event", "event": "call", "points": 10}');
SELECT lead_score.publish('Gone');
SELECT lead_score.create_profile('NoEvents', settings => '{"half_life": "7 days", "pql_threshold": 5}');
SELECT lead_score.add_rule('NoEvents', 'Call', '{"kind": "event", "event": "call", "points": 10}');
SELECT lead_score.publish('NoEvents');
SELECT lead_score.attach('Gone', 'crm.gone_contacts', 'crm.gone_contact_events');
SELECT lead_score.attach('NoEvents', 'crm.partners', 'crm.gone_events');
-- A call tags contact 1 of each.
INSERT INTO crm.gone_contact_events (contact_id, event_type, occurred_at) VALUES (1, 'call', '2024-06-01');
INSERT INTO crm.gone_events (contact_id, event_type, occurred_at) VALUES (1, 'call', '2024-06-01');
\if :since_0_2_0
SELECT lead_score.adjust('Gone', 2::bigint, 1, 'before its table was dropped');
\endif
DROP TABLE crm.gone_contacts CASCADE;
DROP TABLE crm.gone_events CASCADE;

-- A profile detached with tags: 0.1.0's and 0.2.0's detach kept them, and they would
-- have gone to the contacts with the same keys of the next table it was attached to.
-- The update clears them (tests/upgrade/after.sql).
CREATE TABLE crm.old_leads (id bigint PRIMARY KEY);
CREATE TABLE crm.old_lead_events (id serial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON crm.old_lead_events (contact_id, occurred_at);
INSERT INTO crm.old_leads SELECT g FROM generate_series(1, 3) AS g;
SELECT lead_score.create_profile('Left', settings => '{"half_life": "7 days", "pql_threshold": 5}');
SELECT lead_score.add_rule('Left', 'Call', '{"kind": "event", "event": "call", "points": 10}');
SELECT lead_score.publish('Left');
SELECT lead_score.attach('Left', 'crm.old_leads', 'crm.old_lead_events');
INSERT INTO crm.old_lead_events (contact_id, event_type, occurred_at) VALUES (1, 'call', '2024-06-01');
SELECT lead_score.detach('Left');
