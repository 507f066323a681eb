-- The role calling is the one authorised and recorded: GetUserId(), not the session's
-- role. An editor's SECURITY DEFINER function run by a superuser acts as the editor
-- (0.2.0 authorised and recorded the superuser: it attached the superuser's private
-- table); under SET ROLE every audit column names the role set, the transitions too
-- (0.2.0 recorded the login role there). The index-expression case is restricted.sql.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

-- The superuser's private tables, and a profile the editor could attach to them.
CREATE SCHEMA cl_hr;
CREATE TABLE cl_hr.people (id bigint PRIMARY KEY, salary integer);
CREATE TABLE cl_hr.reviews (id serial PRIMARY KEY, person_id bigint, kind text, at timestamptz);
INSERT INTO cl_hr.people VALUES (1, 250000), (2, 90000);
SELECT lead_score.create_profile('CL steal') > 0 AS created;
SELECT lead_score.add_rule('CL steal', 'Rich', '{"kind": "fit", "when": {"field": "salary", "op": "gte", "value": 200000}, "points": 1}') > 0 AS added;
SELECT lead_score.publish('CL steal') AS version;

-- The editor, with the documented editing GRANT (and adjust, tick, clear_tag, forget),
-- and its own CRM.
CREATE ROLE cl_editor;
CREATE ROLE cl_writer;
GRANT EXECUTE ON FUNCTION lead_score.create_profile, lead_score.update_profile,
    lead_score.drop_profile, lead_score.add_rule, lead_score.update_rule,
    lead_score.remove_rule, lead_score.publish, lead_score.revert_draft,
    lead_score.attach, lead_score.detach, lead_score.rescore(text),
    lead_score.rescore(text, text), lead_score.rescore(text, anyelement),
    lead_score.preview, lead_score.preview_summary, lead_score.train,
    lead_score.adjust(text, text, float8, text, interval), lead_score.tick(),
    lead_score.clear_tag(text, text, text), lead_score.forget(text, text),
    lead_score.verify(text)
    TO cl_editor;
CREATE SCHEMA cl AUTHORIZATION cl_editor;
GRANT USAGE ON SCHEMA cl TO cl_writer;
SET ROLE cl_editor;
CREATE TABLE cl.contacts (id bigint PRIMARY KEY);
CREATE TABLE cl.events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
GRANT INSERT ON cl.events TO cl_writer;
GRANT USAGE ON SEQUENCE cl.events_id_seq TO cl_writer;
INSERT INTO cl.contacts VALUES (1), (2), (3);

-- Whatever cl.act's argument says, with the editor's rights, whoever calls it.
CREATE FUNCTION cl.act(call text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE call
    WHEN 'attach hr' THEN
        PERFORM lead_score.attach('CL steal', (SELECT c.oid FROM pg_class c WHERE c.relname = 'people')::regclass,
                                  (SELECT c.oid FROM pg_class c WHERE c.relname = 'reviews')::regclass,
                                  '{"event_contact": "person_id", "event_type": "kind", "event_time": "at"}');
    WHEN 'create_profile' THEN
        PERFORM lead_score.create_profile('CL own', settings => '{"pql_threshold": 5}');
    WHEN 'add_rule' THEN
        PERFORM lead_score.add_rule('CL own', 'Visit', '{"kind": "event", "event": "visit", "points": 2}');
    WHEN 'update_rule' THEN
        PERFORM lead_score.update_rule('CL own', 'Visit', '{"kind": "event", "event": "visit", "points": 3}');
    WHEN 'update_profile' THEN PERFORM lead_score.update_profile('CL own', description => 'ours');
    WHEN 'publish' THEN PERFORM lead_score.publish('CL own');
    WHEN 'attach' THEN
        PERFORM lead_score.attach('CL own', 'cl.contacts', 'cl.events', '{"event_type": "kind", "event_time": "at"}');
    WHEN 'event' THEN
        INSERT INTO cl.events (contact_id, kind, at) VALUES (1, 'visit', '2024-05-31'), (1, 'visit', '2024-05-31');
    WHEN 'adjust' THEN PERFORM lead_score.adjust('CL own', '2', 10, 'met at the fair');
    WHEN 'clear_tag' THEN PERFORM lead_score.clear_tag('CL own', '2', NULL);
    WHEN 'rescore' THEN PERFORM lead_score.rescore('CL own');
    WHEN 'forget' THEN PERFORM lead_score.forget('CL own', '2');
    WHEN 'tick' THEN PERFORM lead_score.tick();
    WHEN 'verify' THEN PERFORM lead_score.verify('CL own');
    WHEN 'rescore one' THEN PERFORM lead_score.rescore('CL own', '1');
    WHEN 'draft rule' THEN
        PERFORM lead_score.add_rule('CL own', 'Draft', '{"kind": "event", "event": "demo", "points": 9}');
    WHEN 'remove_rule' THEN PERFORM lead_score.remove_rule('CL own', 'Draft');
    WHEN 'revert_draft' THEN PERFORM lead_score.revert_draft('CL own');
    WHEN 'detach' THEN PERFORM lead_score.detach('CL own');
    WHEN 'drop_profile' THEN PERFORM lead_score.drop_profile('CL own');
    WHEN 'acting_role' THEN RETURN lead_score.acting_role();
    END CASE;
    RETURN 'done';
END
$$;
RESET ROLE;

-- The superuser calls the editor's function: attach is authorised for the editor, who
-- does not own cl_hr.people (0.2.0: 'done', and the table attached).
\set VERBOSITY terse
SELECT cl.act('attach hr');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS hr_attached FROM lead_score.attachments WHERE profile = 'CL steal';

-- Every other call works, and records the editor: the change log, the profile's and
-- the rules' audit columns, the adjustment, and the transitions of each cause.
SELECT call, cl.act(call) AS outcome
  FROM unnest(ARRAY['acting_role', 'create_profile', 'add_rule', 'update_rule', 'update_profile',
                    'publish', 'attach', 'event', 'adjust', 'clear_tag', 'rescore', 'tick'])
       WITH ORDINALITY AS c(call, n)
 ORDER BY n;
SELECT action, rule_name, by FROM lead_score.change_log WHERE profile = 'CL own' ORDER BY at, action;
SELECT created_by, updated_by FROM lead_score.profile_store WHERE name = 'CL own';
SELECT r.name, r.created_by, r.updated_by
  FROM lead_score.rule_store r JOIN lead_score.profile_store p ON p.id = r.profile_id
 WHERE p.name = 'CL own' ORDER BY r.version NULLS FIRST, r.name;
SELECT contact, points, adjusted_by FROM lead_score.adjustments WHERE profile = 'CL own';
SELECT contact, kind, tag, source, actor FROM lead_score.transitions
 WHERE profile = 'CL own' ORDER BY id;

-- Under SET ROLE, the role set is recorded everywhere: a CRM writer's event, an
-- editor's adjustment (0.2.0: the transitions named the login role).
SET ROLE cl_writer;
INSERT INTO cl.events (contact_id, kind, at) VALUES (3, 'visit', '2024-05-31'), (3, 'visit', '2024-05-31');
SET ROLE cl_editor;
SELECT lead_score.adjust('CL own', '1', -50, 'left the company') > 0 AS adjusted;
SELECT lead_score.acting_role();
RESET ROLE;
SELECT contact, kind, tag, source, actor FROM lead_score.transitions
 WHERE profile = 'CL own' AND contact IN ('1', '3') ORDER BY id;
SELECT contact, points, adjusted_by FROM lead_score.adjustments WHERE profile = 'CL own' ORDER BY id;

-- The other entries, called through the editor's function, record it too: remove_rule,
-- revert_draft, detach and drop_profile in the change log, forget in the erasure's own
-- row (rescore of one contact and verify change nothing here, and run).
SELECT call, cl.act(call) AS outcome
  FROM unnest(ARRAY['draft rule', 'remove_rule', 'draft rule', 'revert_draft', 'rescore one', 'verify',
                    'forget', 'detach', 'drop_profile']) WITH ORDINALITY AS c(call, n) ORDER BY n;
SELECT kind, source, actor FROM lead_score.transitions WHERE profile = 'CL own' AND kind = 'erased';
SELECT action, by FROM lead_score.change_log
 WHERE profile = 'CL own' AND action IN ('remove_rule', 'revert_draft', 'detach', 'drop_profile') ORDER BY at;

-- The implementations behind the entries are the extension owner's alone: naming a
-- caller by calling one directly is refused.
SET ROLE cl_editor;
SELECT lead_score.create_profile_for_caller('CL forged', NULL, '{}');
SELECT lead_score.rescore_for_caller('CL steal');
RESET ROLE;

-- Outside any call, acting_role() is the current user: inside a SECURITY DEFINER
-- function, its owner.
SELECT lead_score.acting_role() = current_user AS is_current_user;

SELECT lead_score.drop_profile('CL steal');
DROP SCHEMA cl CASCADE;
DROP SCHEMA cl_hr CASCADE;
DROP OWNED BY cl_editor;
DROP OWNED BY cl_writer;
DROP ROLE cl_editor;
DROP ROLE cl_writer;
