-- Lifecycle stages: contacts enter the highest stage whose score minimum and condition
-- they meet (an event, a contact change, tick() when a history condition's window
-- turns, fading negative points, publish, attach), never move down on their own, and
-- each move is a stage_changed transition with its notification; stage_score counts
-- the points earned in the stage; set_stage() is the one privileged way back; explain,
-- preview and verify know stages; every bad setting names its JSON path.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA st;
CREATE TABLE st.contacts (id bigint PRIMARY KEY, demo_booked boolean NOT NULL DEFAULT false);
CREATE TABLE st.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON st.events (contact_id, occurred_at);
INSERT INTO st.contacts VALUES (1), (2), (3);

-- Lead for everyone; MQL at 20; SQL at 40 once a demo is booked; Active for a contact
-- with two visits in the last 7 days and at least 10 points (a history condition).
SELECT lead_score.create_profile('Funnel', settings =>
    '{"half_life": "10 days",
      "stages": [{"name": "Lead"},
                 {"name": "MQL", "score": 20},
                 {"name": "SQL", "score": 40, "when": {"field": "demo_booked", "op": "eq", "value": true}},
                 {"name": "Active", "score": 45,
                  "when": {"event_count": "visit", "within": "7 days", "op": "gte", "value": 2}}]}') > 0 AS created;
SELECT count(lead_score.add_rule('Funnel', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Visit', '{"kind": "event", "event": "visit", "points": 10}'),
  ('Webinar', '{"kind": "event", "event": "webinar", "points": 30, "half_life": null}'),
  ('No-show', '{"kind": "event", "event": "no_show", "points": -20, "half_life": "1 day"}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Funnel');
-- Attach places every contact in the first stage (a transition from none each).
SELECT lead_score.attach('Funnel', 'st.contacts', 'st.events');
SELECT id, score, stage, stage_entered_at, stage_score FROM lead_score."Funnel_scores" ORDER BY id;

-- One visit: 10, still a Lead, with 10 points earned in the stage.
INSERT INTO st.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-06-01');
SELECT id, score, stage, stage_score FROM lead_score."Funnel_scores" WHERE id = 1;
-- A second visit: 20 reaches MQL, entered now with nothing earned in it yet.
INSERT INTO st.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-06-01');
SELECT id, score, stage, stage_entered_at, stage_score FROM lead_score."Funnel_scores" WHERE id = 1;
-- A webinar: 50 meets SQL's minimum, but no demo is booked, and two visits in a week
-- meet Active (45): it skips SQL.
INSERT INTO st.events (contact_id, event_type, occurred_at) VALUES (1, 'webinar', '2024-06-01');
SELECT id, score, stage, stage_score FROM lead_score."Funnel_scores" WHERE id = 1;
SELECT * FROM lead_score.verify('Funnel');

-- Contact 2: a webinar (30) makes it an MQL in one step; booking a demo does not make it
-- an SQL below 40; a visit (40) then does, named as the visit's doing.
INSERT INTO st.events (contact_id, event_type, occurred_at) VALUES (2, 'webinar', '2024-06-01');
UPDATE st.contacts SET demo_booked = true WHERE id = 2;
SELECT id, score, stage FROM lead_score."Funnel_scores" WHERE id = 2;
INSERT INTO st.events (contact_id, event_type, occurred_at) VALUES (2, 'visit', '2024-06-01');
SELECT id, score, stage, stage_score FROM lead_score."Funnel_scores" WHERE id = 2;
SELECT * FROM lead_score.verify('Funnel');

-- Sticky: ten days on, contact 1's visits have halved (score 40) and the week's visits
-- are gone, yet it stays Active (it entered with all its points: none earned since).
SET lead_score.now = '2024-06-11 00:00:00+00';
SELECT lead_score.tick();
SELECT id, score, stage, stage_score FROM lead_score."Funnel_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Funnel');

-- tick() moves a contact whose stage condition comes to hold by time alone: contact 3
-- has a webinar (30, never fading) and a no-show (-20 fading fast): 10 now, and decay
-- carries it to MQL (20) on its own once the no-show has halved.
INSERT INTO st.events (contact_id, event_type, occurred_at) VALUES (3, 'webinar', '2024-06-11'), (3, 'no_show', '2024-06-11');
SELECT id, score, stage FROM lead_score."Funnel_scores" WHERE id = 3;
SET lead_score.now = '2024-06-12 00:00:01+00';
SELECT lead_score.tick();
SELECT id, round(score::numeric, 4) AS score, stage, stage_entered_at FROM lead_score."Funnel_scores" WHERE id = 3;
SELECT * FROM lead_score.verify('Funnel');

-- Every move so far, in order, each a transition (with the rule that pushed it, or
-- "first stage" for the placement at attach).
SELECT contact, kind, old_state, new_state, round(score::numeric, 2) AS score, reason, source
  FROM lead_score.transitions WHERE profile = 'Funnel' ORDER BY id;

-- explain: the rule rows add up to the score; the stage row shows the points earned in
-- the stage (part of those rows, not added again).
SELECT rule_name, kind, events, round(points::numeric, 4) AS points FROM lead_score.explain('Funnel', 2);
SELECT round(sum(points) FILTER (WHERE kind <> 'stage')::numeric, 6) = round(lead_score.score('Funnel', 2)::numeric, 6) AS adds_up
  FROM lead_score.explain('Funnel', 2);

-- set_stage: the privileged way back, logged as stage_set; the next write moves the
-- contact up again if it still meets a higher stage.
CREATE ROLE st_rep;
GRANT USAGE ON SCHEMA lead_score TO st_rep;
SET ROLE st_rep;
SELECT lead_score.set_stage('Funnel', 1, 'Lead');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT lead_score.set_stage('Funnel', 1, 'Lead') AS was;
SELECT id, score, stage, stage_score FROM lead_score."Funnel_scores" WHERE id = 1;
SELECT * FROM lead_score.verify('Funnel');
SELECT contact, kind, old_state, new_state, reason, source FROM lead_score.transitions
 WHERE profile = 'Funnel' ORDER BY id DESC LIMIT 1;
INSERT INTO st.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-06-12');
SELECT id, stage FROM lead_score."Funnel_scores" WHERE id = 1;
SELECT lead_score.set_stage('Funnel', 1, 'Customer');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.set_stage('Funnel', 99, 'Lead');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.set_stage('Funnel', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.set_stage('Funnel', 'x', 'Lead');
\echo :LAST_ERROR_SQLSTATE

-- verify catches a stage its log does not explain (set behind the extension's back).
SET session_replication_role = replica;  -- (no trigger: a write behind our back)
DO $$ BEGIN
    EXECUTE (SELECT format('UPDATE lead_score.%I SET stage = %L WHERE contact_key = 3', a.state_table, 'SQL')
               FROM lead_score.attachment_store a JOIN lead_score.profile_store p ON p.id = a.profile_id
              WHERE p.name = 'Funnel');
END $$;
RESET session_replication_role;
SELECT contact, difference FROM lead_score.verify('Funnel');
SELECT lead_score.set_stage('Funnel', 3, 'MQL') AS was;
SELECT contact, difference FROM lead_score.verify('Funnel');

-- preview lists the stage changes a new version would make, and publish makes exactly
-- those: a new stage "Engaged" at 25 takes the contacts below it that reach it.
SELECT lead_score.update_profile('Funnel', settings =>
    '{"half_life": "10 days",
      "stages": [{"name": "Lead"}, {"name": "MQL", "score": 20}, {"name": "Engaged", "score": 25},
                 {"name": "SQL", "score": 40, "when": {"field": "demo_booked", "op": "eq", "value": true}},
                 {"name": "Active", "score": 45,
                  "when": {"event_count": "visit", "within": "7 days", "op": "gte", "value": 2}}]}');
SELECT contact, round(new_score::numeric, 2) AS new_score, change FROM lead_score.preview('Funnel') ORDER BY contact;
SELECT lead_score.publish('Funnel');
SELECT id, round(score::numeric, 2) AS score, stage FROM lead_score."Funnel_scores" ORDER BY id;
SELECT contact, kind, old_state, new_state, source FROM lead_score.transitions
 WHERE profile = 'Funnel' AND source = 'publish' ORDER BY id;
SELECT * FROM lead_score.verify('Funnel');
-- The fields settings read, as validate, publish, attach and the schema guard check
-- them; invalid settings read nothing.
SELECT * FROM lead_score.settings_fields('{"stages": [{"name": "Lead"}, {"name": "VIP", "when": {"all": [
    {"field": "tier", "op": "eq", "value": "gold"}, {"field": "account.employees", "op": "gt", "value": 50}]}}],
    "pql_threshold": 10, "routing": {"column": "owner_id", "owners": [7]}}');
SELECT count(*) AS fields FROM lead_score.settings_fields('{"stages": [{"name": ""}]}');
SELECT count(*) AS fields FROM lead_score.settings_fields('[1, 2]');

-- Bad settings: 22023, naming the JSON path, at create_profile, update_profile and publish.
SELECT lead_score.update_profile('Funnel', settings => '{"stages": [{"name": "Lead"}, {"name": "MQL", "score": 20}, {"name": "SQL", "score": 10}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Funnel', settings => '{"stages": [{"name": "Lead"}, {"name": "Lead", "score": 5}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Funnel', settings => '{"stages": [{"name": "Lead"}, {"name": "MQL"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Funnel', settings => '{"stages": {"Lead": 0}}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Funnel', settings => '{"stages": [{"name": "Lead", "points": 3}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Funnel', settings => '{"stages": [{"name": "Lead"}, {"name": "MQL", "score": 5, "when": {"field": "x", "op": "near", "value": 1}}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Bad stages', settings => '{"stages": [{"name": ""}]}');
\echo :LAST_ERROR_SQLSTATE
-- A stage condition reading a column the contacts table lacks: validate lists it,
-- publish refuses it (22023), and nothing changes.
SELECT lead_score.update_profile('Funnel', settings => '{"stages": [{"name": "Lead"}, {"name": "VIP", "score": 5, "when": {"field": "tier", "op": "eq", "value": "gold"}}]}');
SELECT * FROM lead_score.validate('Funnel');
SELECT lead_score.publish('Funnel');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.revert_draft('Funnel');
-- The schema guard protects the column a stage condition reads (2BP01).
ALTER TABLE st.contacts DROP COLUMN demo_booked;
\echo :LAST_ERROR_SQLSTATE
-- Attaching a profile whose stage reads a missing column: 42703, nothing attached.
SELECT lead_score.create_profile('Tiered', settings => '{"stages": [{"name": "Lead"}, {"name": "VIP", "when": {"field": "tier", "op": "eq", "value": "gold"}}]}') > 0 AS created;
SELECT lead_score.add_rule('Tiered', 'Visit', '{"kind": "event", "event": "visit", "points": 1}') > 0 AS added;
SELECT lead_score.publish('Tiered');
SELECT lead_score.attach('Tiered', 'st.contacts', 'st.events', '{"view": "tiered"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS attached FROM lead_score.attachments WHERE profile = 'Tiered';

SELECT lead_score.detach('Funnel');
SELECT lead_score.drop_profile('Funnel');
SELECT lead_score.drop_profile('Tiered');
REVOKE USAGE ON SCHEMA lead_score FROM st_rep;
DROP ROLE st_rep;
DROP SCHEMA st CASCADE;
