-- Qualification, part 1 of 2 (part 2: qualification_time_tables): sticky tags (one and
-- several thresholds), crossings by a single event, a bulk insert, a contact change and a
-- publish; stickiness through decay and negative events; no tagging while disqualified;
-- disqualify / requalify through events and through tick() with the simulated clock;
-- score_100 and stars; the transitions rows; clear_tag and forget; schedule() without
-- pg_cron.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA q;
CREATE TABLE q.contacts (id bigint PRIMARY KEY, role text);
CREATE TABLE q.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON q.events (contact_id, occurred_at);
INSERT INTO q.contacts VALUES (1, 'buyer'), (2, 'buyer'), (3, 'student'), (4, 'buyer');

SELECT lead_score.create_profile('Qual', settings =>
    '{"half_life": "10 days", "pql_threshold": 50, "thresholds": {"MQL": 20},
      "score_100": {"curve": "linear", "scale": 100}}') > 0 AS created;
SELECT count(lead_score.add_rule('Qual', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Demo', '{"kind": "event", "event": "demo", "points": 30}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 5}'),
  ('Cancelled', '{"kind": "event", "event": "cancel", "points": -40}'),
  ('No-show', '{"kind": "event", "event": "no_show", "points": -20, "half_life": "1 day"}'),
  ('Buyer', '{"kind": "fit", "when": {"field": "role", "op": "eq", "value": "buyer"}, "points": 1}'),
  ('Students', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}'),
  ('Gone quiet', '{"kind": "disqualifier", "when": {"event_count": "visit", "within": "30 days", "op": "lt", "value": 1}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Qual');
-- Everyone starts quiet (no visit in 30 days): disqualified from the start, which is no
-- transition.
SELECT lead_score.attach('Qual', 'q.contacts', 'q.events');
SELECT id, score, is_pql, disqualified, disqualified_reason, score_100, stars, tags FROM lead_score."Qual_scores" ORDER BY id;
SELECT count(*) AS transitions FROM lead_score.transitions WHERE profile = 'Qual';

-- A visit requalifies contact 1 (score 6: no tag yet).
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-06-01');
SELECT id, score, is_pql, disqualified, score_100, stars, tags FROM lead_score."Qual_scores" WHERE id = 1;
-- A single demo event: 36 crosses MQL (20) but not PQL (50).
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-06-01');
SELECT id, score, is_pql, pql_at, score_100, stars, tags FROM lead_score."Qual_scores" WHERE id = 1;
-- Another demo: 66 crosses PQL, at the clock's time, naming the rule that did it.
SET lead_score.now = '2024-06-01 12:00:00+00';
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-06-01 12:00');
SELECT id, round(score::numeric, 6) AS score, is_pql, pql_at, score_100, stars, tags FROM lead_score."Qual_scores" WHERE id = 1;
SELECT contact_key, tag, tagged_at, round(score::numeric, 6) AS score, version, rule, source
  FROM lead_score.tag_store WHERE profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Qual')
 ORDER BY contact_key, tag;

-- Sticky: a cancelled demo (−40) and 60 days of decay take the score far down; the tags stay.
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (1, 'cancel', '2024-06-01 12:00');
SET lead_score.now = '2024-07-31 12:00:00+00';
SELECT * FROM lead_score.tick() WHERE profile = 'Qual';
SELECT id, round(score::numeric, 6) AS score, is_pql, disqualified, disqualified_reason, tags
  FROM lead_score."Qual_scores" WHERE id = 1;
-- Disqualified (gone quiet, through tick) and over the threshold again: no new tag,
-- and both flags show.
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-07-31 12:00'), (1, 'demo', '2024-07-31 12:00');
SELECT id, round(score::numeric, 6) AS score, is_pql, disqualified, tags FROM lead_score."Qual_scores" WHERE id = 1;

-- Contact 3 is a student: disqualified whatever it does; not tagged.
SET lead_score.now = '2024-06-01 00:00:00+00';
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (3, 'visit', '2024-06-01'), (3, 'demo', '2024-06-01'), (3, 'demo', '2024-06-01');
SELECT id, score, is_pql, disqualified, disqualified_reason, tags FROM lead_score."Qual_scores" WHERE id = 3;
-- A contact change requalifies it, and the same write tags it (fit rule named).
UPDATE q.contacts SET role = 'buyer' WHERE id = 3;
SELECT id, score, is_pql, disqualified, tags FROM lead_score."Qual_scores" WHERE id = 3;

-- A bulk insert crosses for contacts 2 and 4 in one statement.
INSERT INTO q.events (contact_id, event_type, occurred_at)
SELECT c, t, '2024-06-01' FROM (VALUES (2), (4)) AS c(c), (VALUES ('visit'), ('demo'), ('demo')) AS t(t);
SELECT id, score, is_pql, tags FROM lead_score."Qual_scores" WHERE id IN (2, 4) ORDER BY id;

-- Fading negative points cross by themselves: contact 4 (66, PQL cleared) misses a
-- meeting: −20 that halve every day take it to 46. A day later the no-show has faded
-- to −10 while the demos have barely moved: tick() finds it over 50 and tags it.
SELECT lead_score.clear_tag('Qual', 4, 'PQL') AS cleared;
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (4, 'no_show', '2024-06-01');
SELECT id, score, is_pql, tags FROM lead_score."Qual_scores" WHERE id = 4;
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT * FROM lead_score.tick() WHERE profile = 'Qual';
SELECT id, round(score::numeric, 6) AS score, is_pql, pql_at > '2024-06-01 12:00' AS tagged_after_half_a_day, tags
  FROM lead_score."Qual_scores" WHERE id = 4;
SET lead_score.now = '2024-06-01 00:00:00+00';

-- clear_tag reads the key as its type spells it ('002' is contact 2) and brings the due
-- time forward: contact 2 (66, tagged) misses a meeting (46, still tagged); once PQL is
-- cleared, the no-show fading lifts it over 50 again, which tick() finds by then.
INSERT INTO q.events (contact_id, event_type, occurred_at) VALUES (2, 'no_show', '2024-06-01');
SELECT lead_score.clear_tag('Qual', '002', 'PQL') AS cleared;
SELECT id, score, tags FROM lead_score."Qual_scores" WHERE id = 2;
-- (Without the earlier due time, verify() would report 'due' here.)
SELECT contact, difference FROM lead_score.verify('Qual') WHERE contact = '2';
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT * FROM lead_score.tick() WHERE profile = 'Qual';
SELECT id, round(score::numeric, 6) AS score, tags FROM lead_score."Qual_scores" WHERE id = 2;
SELECT contact, kind, tag, source FROM lead_score.transitions
 WHERE profile = 'Qual' AND contact = '2' AND kind <> 'disqualified' ORDER BY id DESC LIMIT 2;
SET lead_score.now = '2024-06-01 00:00:00+00';
-- Text that is no key of the key type is refused.
SELECT lead_score.clear_tag('Qual', 'two', 'PQL');
\echo :LAST_ERROR_SQLSTATE

-- Contact 5 (16 points) sits between the new MQL threshold (10) and the old one (20):
-- nothing tags it but the publish below.
INSERT INTO q.contacts VALUES (5, 'buyer');
INSERT INTO q.events (contact_id, event_type, occurred_at)
VALUES (5, 'visit', '2024-06-01'), (5, 'visit', '2024-06-01'), (5, 'visit', '2024-06-01');
SELECT id, score, tags FROM lead_score."Qual_scores" WHERE id = 5;

-- Publish a lower threshold: the rescore tags who is over it, and says publish did it.
SELECT lead_score.update_profile('Qual', settings =>
    '{"half_life": "10 days", "pql_threshold": 20, "thresholds": {"MQL": 10},
      "score_100": {"curve": "linear", "scale": 100}}');
SELECT lead_score.publish('Qual');
SELECT id, score, is_pql, tags FROM lead_score."Qual_scores" ORDER BY id;
SELECT contact, kind, tag, round(score::numeric, 6) AS score, source
  FROM lead_score.transitions WHERE profile = 'Qual' AND contact = '5' ORDER BY id;

-- The audit trail, in order (numbered in id order: the ids themselves depend on what
-- the sequence gave before).
SELECT row_number() OVER (ORDER BY id) AS n, at, profile, version, contact, kind, tag, old_state, new_state, round(score::numeric, 6) AS score,
       reason, source
  FROM lead_score.transitions WHERE profile = 'Qual' ORDER BY id;

-- forget(): the contact's tags and transitions go; one keyless row says so.
SELECT lead_score.forget('Qual', 1::bigint) > 0 AS erased;
SELECT count(*) FILTER (WHERE contact = '1') AS rows_left, count(*) FILTER (WHERE kind = 'erased') AS erasures,
       bool_and(contact IS NULL) FILTER (WHERE kind = 'erased') AS keyless
  FROM lead_score.transitions WHERE profile = 'Qual';
SELECT tags, is_pql FROM lead_score."Qual_scores" WHERE id = 1;
-- Renaming a profile renames the transitions recorded under its old name: forget()
-- after a rename erases them too, and none is left under the old name. (Rolled back:
-- the rest of this file goes on with 'Qual'.)
BEGIN;
SELECT count(*) AS rows_of_2 FROM lead_score.transitions WHERE profile = 'Qual' AND contact = '2';
SELECT lead_score.update_profile('Qual', new_name => 'Qual renamed');
SELECT count(*) AS under_old_name FROM lead_score.transitions WHERE profile = 'Qual';
SELECT count(*) AS rows_of_2 FROM lead_score.transitions WHERE profile = 'Qual renamed' AND contact = '2';
SELECT lead_score.forget('Qual renamed', 2::bigint) > 0 AS erased;
SELECT count(*) AS rows_of_2_left FROM lead_score.transitions
 WHERE profile IN ('Qual', 'Qual renamed') AND contact = '2';
ROLLBACK;
-- Unknown profiles are named; a contact without tags clears nothing.
SELECT lead_score.clear_tag('Nope', 1, 'PQL');
SELECT lead_score.forget('Nope', 1);
SELECT lead_score.clear_tag('Qual', 999, NULL) AS cleared;

-- Ordinary roles may read scores but not write tags or transitions, nor clear or forget.
CREATE ROLE qual_reader;
GRANT USAGE ON SCHEMA q TO qual_reader;
GRANT SELECT ON q.contacts TO qual_reader;
SET ROLE qual_reader;
SELECT count(*) AS visible FROM lead_score."Qual_scores";
INSERT INTO lead_score.transitions (at, profile, kind, source) VALUES (now(), 'Qual', 'tagged', 'me');
DELETE FROM lead_score.transitions;
SELECT lead_score.clear_tag('Qual', 2, 'PQL');
SELECT lead_score.forget('Qual', 2);
RESET ROLE;
DROP OWNED BY qual_reader;
DROP ROLE qual_reader;

-- score_100 / stars directly, and their errors.
SELECT s, lead_score.score_100(s, 'saturating', 25) AS s100, lead_score.stars(s, 'saturating', 25) AS stars
  FROM unnest(ARRAY[-1, 0, 1, 25, 50, 1000]::float8[]) AS s;
SELECT lead_score.score_100(10, 'log', 25);
SELECT lead_score.stars(10, 'linear', 0);
-- Settings mistakes are caught when the profile is edited.
SELECT lead_score.update_profile('Qual', settings => '{"thresholds": {"MQL": "high"}}');
SELECT lead_score.update_profile('Qual', settings => '{"score_100": {"curve": "log"}}');

-- schedule() needs pg_cron (tests/cron runs it for real); cron_expression maps intervals.
SELECT lead_score.schedule('5 minutes');
SELECT e, lead_score.cron_expression(e::interval) FROM unnest(ARRAY['1 minute', '15 minutes', '1 hour', '6 hours', '1 day']) AS e;
SELECT lead_score.cron_expression('7 minutes');
SELECT lead_score.cron_expression('90 seconds');
SELECT lead_score.unschedule() AS removed;

-- One statement's contacts are settled in the key type's own order (9 before 10, not
-- the order of their text, '10' < '9'): their transitions get ids in that order.
BEGIN;
INSERT INTO q.contacts VALUES (10, 'buyer'), (9, 'buyer');
INSERT INTO q.events (contact_id, event_type, occurred_at)
VALUES (10, 'visit', '2024-06-01'), (10, 'demo', '2024-06-01'), (9, 'visit', '2024-06-01'), (9, 'demo', '2024-06-01');
SELECT contact, kind, tag FROM lead_score.transitions
 WHERE profile = 'Qual' AND contact IN ('9', '10') ORDER BY id;
ROLLBACK;

SELECT count(*) AS differences FROM lead_score.verify('Qual');
-- verify() sees a tag kept for a contact without a score row.
INSERT INTO lead_score.tag_store (profile_id, contact_key, tag, tagged_at, score, version, rule, source)
SELECT id, '12345', 'PQL', '2024-06-01', 60, 1, 'Demo', 'event' FROM lead_score.profile_store WHERE name = 'Qual';
SELECT contact, stored, recomputed, difference FROM lead_score.verify('Qual');
DELETE FROM lead_score.tag_store
 WHERE contact_key = '12345' AND profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Qual');
SELECT lead_score.detach('Qual');

DROP SCHEMA q CASCADE;
