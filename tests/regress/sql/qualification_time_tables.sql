-- Qualification, part 2 of 2 (part 1: qualification_tags): disqualifiers and fit rules
-- that time alone flips (a grace period from the contact's creation time, a `within` on a
-- timestamp in the event), and tags and transitions that belong to the contacts table they
-- were recorded for.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA q;

-- A grace period for young contacts, from the CRM's own creation-time column: "gone
-- quiet" holds only for contacts older than the window. The contact created a week ago
-- is not disqualified yet; its due time is when the grace ends, and tick() then
-- disqualifies it (a fit rule for new sign-ups lapses the same way).
SET lead_score.now = '2024-06-01 00:00:00+00';
CREATE TABLE q.people (id bigint PRIMARY KEY, created_at timestamptz);
CREATE TABLE q.people_events (contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON q.people_events (contact_id);
INSERT INTO q.people VALUES (1, '2024-05-25'), (2, '2024-01-01');
SELECT lead_score.create_profile('Grace') > 0 AS created;
SELECT count(lead_score.add_rule('Grace', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('New sign-up', '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "14 days"}, "points": 5}'),
  ('Gone quiet', '{"kind": "disqualifier", "when": {"all": [{"no_event": "visit", "within": "30 days"},
                   {"not": {"field": "created_at", "op": "within", "value": "30 days"}}]}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Grace');
SELECT lead_score.attach('Grace', 'q.people', 'q.people_events');
SELECT id, score, disqualified, disqualified_reason FROM lead_score."Grace_scores" ORDER BY id;
SET lead_score.now = '2024-06-10 00:00:00+00';
SELECT * FROM lead_score.tick() WHERE profile = 'Grace';
SELECT id, score, disqualified FROM lead_score."Grace_scores" ORDER BY id;
SET lead_score.now = '2024-06-25 00:00:00+00';
SELECT * FROM lead_score.tick() WHERE profile = 'Grace';
SELECT id, score, disqualified, disqualified_reason FROM lead_score."Grace_scores" ORDER BY id;
SELECT contact, kind, reason, source FROM lead_score.transitions WHERE profile = 'Grace' ORDER BY id;
SELECT count(*) AS differences FROM lead_score.verify('Grace');
SELECT lead_score.detach('Grace');

-- A `within` test on a timestamp in the event itself (the demo date in its props) is
-- revisited too: the booking counts from the day the demo comes into the 7-day window
-- until it leaves it, each change applied by tick() at its due time.
SET lead_score.now = '2024-06-01 00:00:00+00';
CREATE TABLE q.bookings (id bigserial PRIMARY KEY, contact_id bigint, event_type text,
                         occurred_at timestamptz, props jsonb);
CREATE INDEX ON q.bookings (contact_id);
SELECT lead_score.create_profile('Demos') > 0 AS created;
SELECT lead_score.add_rule('Demos', 'Demo soon', '{"kind": "event", "event": "demo_booked", "points": 10,
    "half_life": null, "when": {"field": "props.demo_at", "op": "within", "value": "7 days"}}') > 0 AS added;
SELECT lead_score.publish('Demos');
SELECT lead_score.attach('Demos', 'q.people', 'q.bookings', '{"event_props": "props"}');
INSERT INTO q.bookings (contact_id, event_type, occurred_at, props)
VALUES (1, 'demo_booked', '2024-05-30 00:00:00+00', '{"demo_at": "2024-06-05T00:00:00+00:00"}');
SELECT id, score FROM lead_score."Demos_scores" ORDER BY id;
SET lead_score.now = '2024-06-06 00:00:00+00';
SELECT * FROM lead_score.tick() WHERE profile = 'Demos';
SELECT id, score FROM lead_score."Demos_scores" ORDER BY id;
SET lead_score.now = '2024-06-13 00:00:00+00';
SELECT * FROM lead_score.tick() WHERE profile = 'Demos';
SELECT id, score FROM lead_score."Demos_scores" ORDER BY id;
SELECT count(*) AS differences FROM lead_score.verify('Demos');
SELECT lead_score.detach('Demos');

-- Tags and transitions belong to the contacts table they were recorded for. Lead 3 of
-- q.leads books a demo and is tagged PQL; the owner detaches the profile and attaches
-- it to q.partners, where partner 3 is another contact with no events at all.
SET lead_score.now = '2024-06-01 00:00:00+00';
CREATE TABLE q.leads (id bigint PRIMARY KEY);
CREATE TABLE q.lead_events (contact_id bigint, event_type text, occurred_at timestamptz);
CREATE TABLE q.partners (id bigint PRIMARY KEY);
CREATE TABLE q.partner_events (contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON q.lead_events (contact_id);
CREATE INDEX ON q.partner_events (contact_id);
INSERT INTO q.leads VALUES (1), (2), (3);
INSERT INTO q.partners VALUES (1), (2), (3);
SELECT lead_score.create_profile('Moved', settings => '{"half_life": "30 days", "pql_threshold": 20}') > 0 AS created;
SELECT lead_score.add_rule('Moved', 'Demo', '{"kind": "event", "event": "demo", "points": 30}') > 0 AS added;
SELECT lead_score.publish('Moved');
SELECT lead_score.attach('Moved', 'q.leads', 'q.lead_events');
INSERT INTO q.lead_events VALUES (3, 'demo', '2024-06-01');
SELECT id, score, is_pql, tags FROM lead_score."Moved_scores" WHERE id = 3;
-- Each transition names the table (and key column) its contact key belongs to.
SELECT contact, kind, tag, contacts, key_column FROM lead_score.transitions WHERE profile = 'Moved' ORDER BY id;
-- detach clears the profile's tags with its score rows; the transitions stay.
SELECT lead_score.detach('Moved');
SELECT count(*) AS tags_left FROM lead_score.tag_store
 WHERE profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Moved');
SELECT count(*) AS transitions_left FROM lead_score.transitions WHERE profile = 'Moved';
-- Partner 3 has no tag of lead 3's, and attaching recorded nothing for it.
SELECT lead_score.attach('Moved', 'q.partners', 'q.partner_events');
SELECT id, score, is_pql, pql_at, tags FROM lead_score."Moved_scores" ORDER BY id;
SELECT contact, kind, tag, contacts FROM lead_score.transitions WHERE profile = 'Moved' ORDER BY id;
SELECT count(*) AS differences FROM lead_score.verify('Moved');
-- Partners 2 and 3 cross by themselves; their transitions name q.partners, and so does
-- clear_tag's.
INSERT INTO q.partner_events VALUES (2, 'demo', '2024-06-01'), (3, 'demo', '2024-06-01');
SELECT lead_score.clear_tag('Moved', 3, 'PQL') AS cleared;
SELECT contact, kind, tag, source, contacts FROM lead_score.transitions WHERE profile = 'Moved' ORDER BY id;
-- forget(3) erases partner 3, of the table the profile is attached to: its transitions
-- go, lead 3's stay, and the erasure's own row names the table.
SELECT lead_score.forget('Moved', 3::bigint) AS erased;
SELECT contact, kind, tag, contacts, reason FROM lead_score.transitions WHERE profile = 'Moved' ORDER BY id;
-- Attached to q.leads again, the profile starts as at a first attach: lead 3 is tagged
-- anew, by attach. Lead 2 crosses too.
SELECT lead_score.detach('Moved');
SELECT lead_score.attach('Moved', 'q.leads', 'q.lead_events');
INSERT INTO q.lead_events VALUES (2, 'demo', '2024-06-01');
SELECT id, is_pql, tags FROM lead_score."Moved_scores" ORDER BY id;
SELECT contact, kind, tag, source, contacts FROM lead_score.transitions
 WHERE profile = 'Moved' AND kind = 'tagged' ORDER BY id;
-- A profile that is not attached has no table to read a key in: forget(2) erases the
-- key's transitions of both tables (lead 3's stay); its row names no table.
SELECT lead_score.detach('Moved');
SELECT lead_score.forget('Moved', 2::bigint) AS erased;
SELECT contact, kind, contacts FROM lead_score.transitions WHERE profile = 'Moved' ORDER BY id;
SELECT lead_score.drop_profile('Moved');
DELETE FROM lead_score.transitions WHERE profile = 'Moved';

DROP SCHEMA q CASCADE;
