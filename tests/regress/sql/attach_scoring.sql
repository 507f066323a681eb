-- Attaching a profile to a CRM's own tables: validation, scores kept current by
-- triggers in the same transaction, exact decay, tick(), stats(), verify(), detach.
-- (One owner for the attached tables, and keys that must be unique: attach_integrity.sql.)
\set SHOW_CONTEXT never
SET timezone = 'UTC';
-- The extension's clock: every score below is as of this instant.
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA crm;
CREATE TABLE crm.accounts (id bigint PRIMARY KEY, name text, employees integer);
CREATE TABLE crm.contacts (id bigint PRIMARY KEY, account_id bigint, country text, role text,
                           created_at timestamptz);
CREATE TABLE crm.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text,
                         occurred_at timestamptz, properties jsonb, channel text);
INSERT INTO crm.accounts VALUES (1, 'Big Co', 400), (2, 'Tiny Co', 3);
INSERT INTO crm.contacts VALUES (1, 1, 'US', 'buyer', '2024-01-01'), (2, 2, 'DE', 'student', '2024-01-01'),
                                (3, NULL, 'UK', 'buyer', '2024-01-01');
-- History from before the attach counts.
INSERT INTO crm.events (contact_id, event_type, occurred_at, properties) VALUES
    (1, 'email_click', '2024-05-02', '{}'),                          -- 30 days old: 8 -> 4
    (1, 'page_view', '2024-05-18', '{"url": "/pricing"}'),           -- 14 days old: 4 -> 2
    (2, 'email_click', '2024-06-01', NULL);

SELECT lead_score.create_profile('Sales', settings => '{"half_life": "30 days"}') > 0 AS created;
SELECT count(lead_score.add_rule('Sales', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}'),
  ('Big account', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}'),
  ('Click', '{"kind": "event", "event": "email_click", "points": 8}'),
  ('Pricing', '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"}, "points": 4, "half_life": "14 days", "dimension": "intent"}'),
  ('Trial', '{"kind": "event", "event": "trial_signup", "points": 15, "count": "once", "half_life": null}'),
  ('Recent visit', '{"kind": "event", "event": "visit", "points": 1, "within": "7 days", "half_life": null}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}')
) AS r(rule_name, rule);

-- Attaching needs a published profile.
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"accounts": "accounts", "event_props": "properties"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.publish('Sales') AS version;

-- Every option is checked against the catalog, and nothing is left behind on error.
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"event_time": "happened_at"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"event_type": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"event_props": "channel"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"event_contact": "channel"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"accounts": "no_such_table"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"evnt_props": "properties"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', jsonb_build_object('view', repeat('v', 64)));
\echo :LAST_ERROR_SQLSTATE
-- Contacts (or accounts) without a single-column primary key need their key named.
CREATE TABLE crm.keyless (id bigint, role text);
SELECT lead_score.attach('Sales', 'crm.keyless', 'crm.events');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"accounts": "keyless"}');
\echo :LAST_ERROR_SQLSTATE
-- A named key must be unique on its own: two contacts sharing a key would share a score.
SELECT lead_score.attach('Sales', 'crm.keyless', 'crm.events', '{"contact_key": "id"}');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE crm.keyless;
-- So must its check be immediate: a deferred one lets a statement hold two rows with one key.
CREATE TABLE crm.deferred_key (id bigint, CONSTRAINT deferred_id UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);
SELECT lead_score.attach('Sales', 'crm.deferred_key', 'crm.events', '{"contact_key": "id"}');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE crm.deferred_key;
-- A rule field that names no column, and props without a properties column.
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"event_props": "properties"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"accounts": "accounts"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS attachments, (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'lead_score%') AS triggers
  FROM lead_score.attachments;

-- Attach: a NOTICE about the missing index, then every contact has a score row.
SELECT lead_score.attach('Sales', 'crm.contacts', 'crm.events', '{"accounts": "accounts", "event_props": "properties"}');
CREATE INDEX ON crm.events (contact_id, occurred_at);
SELECT profile, contacts, contact_key, key_type, events, event_props, accounts, scores, scored_version
  FROM lead_score.attachments;
-- contact 1: fit 1 + 10, clicks 4, pricing 2 -> 17; contact 2: a click now, disqualified.
SELECT id, round(score::numeric, 9) AS score, fit_score, round(engagement_score::numeric, 9) AS engagement,
       dimension_scores, disqualified_by, version
  FROM lead_score."Sales_scores" ORDER BY id;

-- Decay at several ages against closed form: contact 1's 4 + 2 points later on.
SELECT days, round(lead_score.score('Sales', 1::bigint, timestamptz '2024-06-01 00:00+00' + days * interval '1 day')::numeric, 12) AS score,
       round((11 + 4 * 2 ^ (-days / 30.0) + 2 * 2 ^ (-days / 14.0))::numeric, 12) AS closed_form
  FROM unnest(ARRAY[0, 1, 14, 30, 365]) AS days;
-- The key as text, or in its own type; NULL for an unknown contact.
SELECT lead_score.score('Sales', '1') = lead_score.score('Sales', 1::bigint) AS same,
       lead_score.score('Sales', 42::bigint) IS NULL AS unknown_is_null;

-- Single-row writes are scored in the same transaction.
BEGIN;
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (3, 'email_click', '2024-06-01');
SELECT id, score FROM lead_score."Sales_scores" WHERE id = 3;
ROLLBACK;
SELECT id, score FROM lead_score."Sales_scores" WHERE id = 3;

-- A bulk INSERT ... SELECT and a COPY go through the same set-based path.
INSERT INTO crm.events (contact_id, event_type, occurred_at)
SELECT 1 + n % 3, 'email_click', timestamptz '2024-06-01' - n * interval '1 hour'
  FROM generate_series(1, 3000) AS n;
COPY crm.events (contact_id, event_type, occurred_at) FROM stdin;
3	trial_signup	2024-05-20 00:00:00+00
3	trial_signup	2024-05-25 00:00:00+00
3	visit	2024-05-30 00:00:00+00
\.
SELECT id, round(score::numeric, 6) AS score FROM lead_score."Sales_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Sales');

-- A statement of more than 10,000 rows (streamed from the executor as it inserts them,
-- their properties read in memory freed as it goes): every second one views pricing,
-- 4 points each, undecayed at this instant.
BEGIN;
SELECT engagement_score AS before FROM lead_score."Sales_scores" WHERE id = 2 \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at, properties)
SELECT 2, 'page_view', timestamptz '2024-06-01 00:00:00+00',
       jsonb_build_object('url', CASE WHEN n % 2 = 0 THEN '/pricing' ELSE '/blog' END)
  FROM generate_series(1, 12000) AS n;
SELECT round((engagement_score - :before)::numeric, 6) AS added FROM lead_score."Sales_scores" WHERE id = 2;
SELECT * FROM lead_score.verify('Sales');
ROLLBACK;

-- Events of a contact that does not exist yet are kept in mind and count when it arrives.
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (7, 'email_click', '2024-06-01');
SELECT count(*) AS scores_for_7 FROM lead_score."Sales_scores" WHERE id = 7;
INSERT INTO crm.contacts VALUES (7, 1, 'US', 'buyer', '2024-06-01');
SELECT id, score, fit_score FROM lead_score."Sales_scores" WHERE id = 7;

-- Contact and account changes move fit points and disqualifications.
UPDATE crm.contacts SET role = 'buyer' WHERE id = 2;
UPDATE crm.accounts SET employees = 50 WHERE id = 2;
SELECT id, fit_score, disqualified_by FROM lead_score."Sales_scores" WHERE id = 2;
-- A contact whose key changes is scored under its new key; a deleted one disappears.
UPDATE crm.contacts SET id = 70 WHERE id = 7;
DELETE FROM crm.contacts WHERE id = 2;
SELECT id, score, fit_score FROM lead_score."Sales_scores" WHERE id IN (2, 7, 70) ORDER BY id;

-- The CRM's writes never fail because of scoring: unknown types, NULL and malformed
-- values, unknown contacts are all accepted and counted.
INSERT INTO crm.events (contact_id, event_type, occurred_at, properties) VALUES
    (1, 'no_rule_for_this', '2024-05-31', '{}'),
    (1, NULL, '2024-05-31', '{}'),
    (1, 'page_view', NULL, '{"url": "/pricing"}'),
    (NULL, 'email_click', '2024-05-31', '{}'),
    (99, 'email_click', '2024-05-31', '{}'),
    (1, 'page_view', '2024-05-31', '"just a string"'),
    (1, 'page_view', '2024-05-31', '{"url": 42}'),
    (1, 'page_view', '2099-01-01', '{"url": "/pricing"}');
SELECT * FROM lead_score.stats('Sales');

-- Time alone: the visit (30 May, 7-day window) leaves after 6 June; a future event
-- comes due. tick() touches only the contacts that are due.
SELECT format('lead_score.%I', state_table) AS state FROM lead_score.attachment_store a
  JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Sales' \gset
SELECT contact_key, next_due FROM :state WHERE next_due IS NOT NULL ORDER BY 1;
SET lead_score.now = '2024-06-03 00:00:00+00';
SELECT * FROM lead_score.tick();
SET lead_score.now = '2024-06-07 00:00:00+00';
-- Until the sweep runs, contact 3 still has the point of its 30 May visit.
SELECT id, round(score::numeric, 6) AS score FROM lead_score."Sales_scores" WHERE id = 3;
SELECT * FROM lead_score.tick();
SELECT id, round(score::numeric, 6) AS score FROM lead_score."Sales_scores" WHERE id = 3;
SELECT * FROM lead_score.tick();
SELECT * FROM lead_score.verify('Sales');

-- New events inside a window or in the future are added in place, one at a time and
-- several at once: their points count now, and the contact's due time moves to the
-- earliest lapse or arrival (never later), as a recompute from history has it.
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-06-06');
SELECT contact_key, next_due FROM :state WHERE contact_key = 1;
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-06-05');
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-06-20');
INSERT INTO crm.events (contact_id, event_type, occurred_at)
VALUES (3, 'visit', '2024-06-06'), (3, 'visit', '2024-06-10'), (1, 'visit', '2024-06-04');
SELECT contact_key, next_due FROM :state WHERE contact_key IN (1, 3) ORDER BY 1;
SELECT id, round(score::numeric, 6) AS score FROM lead_score."Sales_scores" WHERE id IN (1, 3) ORDER BY id;
SELECT * FROM lead_score.verify('Sales');
-- At those times tick() takes the lapsed visits out and counts the arrived one.
SET lead_score.now = '2024-06-11 00:00:01+00';
SELECT * FROM lead_score.tick();
SELECT id, round(score::numeric, 6) AS score FROM lead_score."Sales_scores" WHERE id IN (1, 3) ORDER BY id;
SELECT * FROM lead_score.verify('Sales');
SET lead_score.now = '2024-06-07 00:00:00+00';
DELETE FROM crm.events WHERE event_type = 'visit' AND occurred_at > '2024-06-01';
SELECT * FROM lead_score.verify('Sales');

-- Attachments made by this version are at its layout: upgrade_attachments() has nothing to do.
SELECT lead_score.upgrade_attachments() AS changed, bool_and(objects_version = lead_score.objects_version()) AS current
  FROM lead_score.attachment_store;
-- verify() finds a score that was tampered with; rescore() repairs it.
UPDATE :state SET fit = fit + 5 WHERE contact_key = 1;
SELECT contact, round(stored::numeric, 6) AS stored, round(recomputed::numeric, 6) AS recomputed
  FROM lead_score.verify('Sales');
SELECT lead_score.rescore('Sales', 1::bigint) AS rescored;
SELECT * FROM lead_score.verify('Sales');
SELECT lead_score.rescore('Sales') AS contacts_rescored;

-- A second profile on the same tables; publishing a new version rescores it.
SELECT lead_score.create_profile('Intent') > 0 AS created;
SELECT lead_score.add_rule('Intent', 'Pricing', '{"kind": "event", "event": "page_view", "points": 1, "half_life": null}') > 0 AS added;
SELECT lead_score.publish('Intent') AS version;
SELECT lead_score.attach('Intent', 'crm.contacts', 'crm.events', '{"view": "intent"}');
SELECT id, score FROM lead_score.intent ORDER BY id;
SELECT lead_score.update_rule('Intent', 'Pricing', '{"kind": "event", "event": "page_view", "points": 10, "half_life": null}');
SELECT lead_score.publish('Intent') AS version;
SELECT id, score, version FROM lead_score.intent ORDER BY id;
-- Once attached, a draft field that names no column cannot be published.
SELECT lead_score.add_rule('Intent', 'Industry', '{"kind": "fit", "when": {"field": "industry", "op": "eq", "value": "SaaS"}, "points": 1}') > 0 AS added;
SELECT * FROM lead_score.validate('Intent');
SELECT lead_score.publish('Intent');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.remove_rule('Intent', 'Industry');

-- TRUNCATE: events gone, only fit points remain; accounts gone, their fit points go;
-- contacts gone, no scores remain.
TRUNCATE crm.events;
SELECT id, score FROM lead_score."Sales_scores" ORDER BY id;
TRUNCATE crm.accounts;
SELECT id, score FROM lead_score."Sales_scores" ORDER BY id;
TRUNCATE crm.contacts;
SELECT count(*) AS scores_left FROM lead_score."Sales_scores";

-- Detaching removes the triggers, the state table and the view; dropping an attached
-- profile detaches it first.
SELECT lead_score.detach('Sales');
SELECT lead_score.drop_profile('Intent');
SELECT count(*) AS attachments, (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'lead_score%') AS triggers,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'lead_score'::regnamespace
                                        AND relname ~ '^state_|^Sales_scores$|^intent$') AS relations
  FROM lead_score.attachments;
SELECT lead_score.detach('Sales');
\echo :LAST_ERROR_SQLSTATE

DROP SCHEMA crm CASCADE;
SELECT lead_score.drop_profile('Sales');
RESET lead_score.now;
