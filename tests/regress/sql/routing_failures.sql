-- Lead routing when the CRM's table refuses it, and what the routing UPDATE's nested
-- triggers rescore: a failed routing never fails the CRM's write (the contact stays
-- unassigned, its turn is given back, a routing_failed transition and a WARNING say
-- why); a deferrable trigger on the owner column is refused at publish and attach; the
-- CRM's own trigger that updates a column a rule reads, a stage reading the owner
-- column, and the account column as routing column are all handled exactly.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';
CREATE ROLE rf_crm;
CREATE ROLE rf_writer;
CREATE SCHEMA rf AUTHORIZATION rf_crm;
GRANT USAGE ON SCHEMA rf TO rf_writer;
SET ROLE rf_crm;
CREATE TABLE rf.contacts (id bigint PRIMARY KEY, owner_id integer, country text);
CREATE TABLE rf.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON rf.events (contact_id, occurred_at);
INSERT INTO rf.contacts SELECT g, NULL, NULL FROM generate_series(1, 9) g;
GRANT INSERT ON rf.events TO rf_writer;
GRANT USAGE ON SEQUENCE rf.events_id_seq TO rf_writer;
-- Owner 9 is refused by the CRM's own check.
ALTER TABLE rf.contacts ADD CONSTRAINT owner_not_9 CHECK (owner_id IS DISTINCT FROM 9);
RESET ROLE;
SELECT lead_score.create_profile('RF', settings =>
    '{"pql_threshold": 50, "routing": {"tag": "PQL", "column": "owner_id", "owners": [7, 8, 9]}}') > 0 AS created;
SELECT lead_score.add_rule('RF', 'Demo', '{"kind": "event", "event": "demo", "points": 30}') > 0 AS added;
SELECT lead_score.add_rule('RF', 'US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 30}') > 0 AS added;
SELECT lead_score.publish('RF');
SELECT lead_score.attach('RF', 'rf.contacts', 'rf.events');

-- Contacts 1 and 2 get owners 7 and 8; contact 3's turn would give 9, which the check
-- refuses: the writer's INSERT still succeeds, contact 3 keeps its tag and no owner,
-- a WARNING and a routing_failed transition say why, and the turn is given back: once
-- the CRM drops the check, contact 4 gets owner 9.
SET ROLE rf_writer;
INSERT INTO rf.events (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-06-01'), (1, 'demo', '2024-06-01');
INSERT INTO rf.events (contact_id, event_type, occurred_at) VALUES (2, 'demo', '2024-06-01'), (2, 'demo', '2024-06-01');
INSERT INTO rf.events (contact_id, event_type, occurred_at) VALUES (3, 'demo', '2024-06-01'), (3, 'demo', '2024-06-01');
RESET ROLE;
SELECT count(*) AS events_kept FROM rf.events;
SELECT id, owner_id FROM rf.contacts WHERE id <= 3 ORDER BY id;
SELECT contact, kind, new_state, reason, actor FROM lead_score.transitions
 WHERE profile = 'RF' AND kind IN ('routed', 'routing_failed') ORDER BY id;
SET ROLE rf_crm;
ALTER TABLE rf.contacts DROP CONSTRAINT owner_not_9;
RESET ROLE;
SET ROLE rf_writer;
INSERT INTO rf.events (contact_id, event_type, occurred_at) VALUES (4, 'demo', '2024-06-01'), (4, 'demo', '2024-06-01');
RESET ROLE;
SELECT id, owner_id FROM rf.contacts WHERE id = 4;
SELECT * FROM lead_score.verify('RF');

-- The CRM's own trigger on the owner column updates country, which rule US reads: that
-- UPDATE is the CRM's, not ours, and rescores contact 5 (30 + 30 = 90 with US).
SET ROLE rf_crm;
CREATE FUNCTION rf.on_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rf.contacts SET country = 'US' WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER on_owner AFTER UPDATE OF owner_id ON rf.contacts FOR EACH ROW EXECUTE FUNCTION rf.on_owner();
RESET ROLE;
INSERT INTO rf.events (contact_id, event_type, occurred_at) VALUES (5, 'demo', '2024-06-01'), (5, 'demo', '2024-06-01');
SELECT s.id, s.score, c.owner_id, c.country FROM lead_score."RF_scores" s JOIN rf.contacts c USING (id) WHERE s.id = 5;
SELECT * FROM lead_score.verify('RF');

-- A deferrable foreign key on the owner column: a security-restricted operation cannot
-- queue its check, so publish refuses the routing (55000), naming the trigger, and the
-- active version stays.
SET ROLE rf_crm;
DROP TRIGGER on_owner ON rf.contacts;
CREATE TABLE rf.reps (id integer PRIMARY KEY);
INSERT INTO rf.reps VALUES (7), (8), (9);
ALTER TABLE rf.contacts ADD CONSTRAINT owner_is_rep FOREIGN KEY (owner_id) REFERENCES rf.reps DEFERRABLE INITIALLY DEFERRED;
RESET ROLE;
SELECT lead_score.update_profile('RF', settings => '{"pql_threshold": 55}');
DO $$ BEGIN
    PERFORM lead_score.publish('RF');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% %', SQLSTATE, regexp_replace(SQLERRM, 'RI_ConstraintTrigger_c_[0-9]+', 'RI_ConstraintTrigger_c_N');
END $$;
SELECT active_version FROM lead_score.profiles WHERE name = 'RF';
-- Made NOT DEFERRABLE, it runs in the UPDATE itself: publish goes through.
SET ROLE rf_crm;
ALTER TABLE rf.contacts ALTER CONSTRAINT owner_is_rep NOT DEFERRABLE;
RESET ROLE;
SELECT lead_score.publish('RF');
SELECT lead_score.detach('RF');

-- A stage whose condition reads the owner column: the routing UPDATE rescores the
-- contact, which enters "Assigned" in the same transaction.
SET ROLE rf_crm;
CREATE TABLE rf.leads (id bigint PRIMARY KEY, owner_id integer);
CREATE TABLE rf.lead_events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
INSERT INTO rf.leads SELECT g, NULL FROM generate_series(1, 3) g;
RESET ROLE;
SELECT lead_score.create_profile('RF stages', settings =>
    '{"pql_threshold": 50, "routing": {"tag": "PQL", "column": "owner_id", "owners": [7]},
      "stages": [{"name": "Lead"}, {"name": "Assigned", "when": {"field": "owner_id", "op": "not_null"}}]}') > 0 AS created;
SELECT lead_score.add_rule('RF stages', 'Demo', '{"kind": "event", "event": "demo", "points": 30}') > 0 AS added;
SELECT lead_score.publish('RF stages');
SELECT lead_score.attach('RF stages', 'rf.leads', 'rf.lead_events', '{"view": "rf_stage_scores"}');
INSERT INTO rf.lead_events (contact_id, event_type, occurred_at) VALUES (1, 'demo', '2024-06-01'), (1, 'demo', '2024-06-01');
SELECT id, stage, tags FROM lead_score.rf_stage_scores WHERE id = 1;
SELECT * FROM lead_score.verify('RF stages');
SELECT lead_score.detach('RF stages');

-- The contacts' account column cannot be the routing column (it decides the account
-- whose fields rules read): 22023 at attach.
SET ROLE rf_crm;
CREATE TABLE rf.accounts (id integer PRIMARY KEY, employees integer);
CREATE TABLE rf.people (id bigint PRIMARY KEY, account_id integer);
CREATE TABLE rf.people_events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
RESET ROLE;
SELECT lead_score.create_profile('RF accounts', settings =>
    '{"pql_threshold": 50, "routing": {"tag": "PQL", "column": "account_id", "owners": [7, 8]}}') > 0 AS created;
SELECT lead_score.add_rule('RF accounts', 'Demo', '{"kind": "event", "event": "demo", "points": 30}') > 0 AS added;
SELECT lead_score.publish('RF accounts');
SELECT lead_score.attach('RF accounts', 'rf.people', 'rf.people_events', '{"accounts": "rf.accounts", "view": "rf_account_scores"}');
\echo :LAST_ERROR_SQLSTATE

SELECT lead_score.drop_profile(p) FROM unnest(ARRAY['RF', 'RF stages', 'RF accounts']) AS p;
DROP SCHEMA rf CASCADE;
REVOKE ALL ON SCHEMA lead_score FROM rf_writer;
DROP ROLE rf_writer;
DROP ROLE rf_crm;
