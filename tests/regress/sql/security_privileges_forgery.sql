-- Attacks on the scoring's privileges, by roles that own or write a CRM's tables.
--
-- The scoring runs code of the CRM's owner whenever it reads the CRM's tables: casts of
-- their column types, row-level security policies. Such code must run as the tables'
-- owner (here lsa_editor), never as the extension's owner (a superuser), whoever
-- triggers the scoring: a writer, an editor, or a superuser running tick() or verify().
-- Nothing else a role can put in its way may run at all: look-alike functions and
-- operators in public, temporary relations, types and casts in pg_temp, column names
-- made to break out of SQL text. Nobody without the grants writes a score.
-- (What the owner's code changes, search_path and key columns, must not outlive the
-- read it ran in: security_owner_changes.sql.)
--
-- The seven attacks are in three files, each setting up the same roles, spies and
-- CRM: sections 1-2 in security_privileges_casts, 3-4 in security_privileges_names,
-- 5-7 in security_privileges_forgery. This file: 5-7.
--
-- Every spy below records who ran it (public.lsa_spy_log) and returns its normal
-- value. Its name says who may run it:
--   owner:*   only its creator (the tables' owner)
--   writer:*  its creator or the writer (normal Postgres: the writer's own statements
--             evaluate defaults, generated columns, indexes, triggers and policies)
--   never:*   nobody: it must not run at all
-- and no spy may ever run as a superuser. lsa_check() says how many runs broke that in
-- the current step (lsa.step), and which of the runs the step must have caused did not
-- happen (so that no check passes by never reaching the code): 0 and {} each time.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';
-- Restored at the end, so that later tests see the ids they expect.
SELECT last_value AS lsa_profile_seq, is_called AS lsa_profile_seq_called
  FROM lead_score.profile_store_id_seq \gset
SELECT last_value AS lsa_transitions_seq, is_called AS lsa_transitions_seq_called
  FROM lead_score.transitions_id_seq \gset
SELECT count(*) AS large_objects_before FROM pg_largeobject_metadata WHERE oid IN (4711, 4712);

------------------------------------------------------------------------------------------
-- Setup: roles, the spy log, the CRM of lsa_editor with its profile.
------------------------------------------------------------------------------------------
CREATE ROLE lsa_editor;
CREATE ROLE lsa_writer;
CREATE ROLE lsa_reader;
GRANT EXECUTE ON FUNCTION lead_score.create_profile, lead_score.update_profile,
    lead_score.drop_profile, lead_score.add_rule, lead_score.update_rule,
    lead_score.remove_rule, lead_score.publish, lead_score.revert_draft,
    lead_score.attach, lead_score.detach, lead_score.rescore(text),
    lead_score.rescore(text, text), lead_score.rescore(text, anyelement)
    TO lsa_editor;
CREATE SCHEMA crm_a AUTHORIZATION lsa_editor;

-- (A DEFAULT cannot hold a subquery: was_superuser's lookup is a function.)
CREATE FUNCTION public.lsa_is_superuser() RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user $$;
CREATE TABLE public.lsa_spy_log (
    spy            text NOT NULL,
    ran_as         name NOT NULL DEFAULT current_user,
    was_superuser  boolean NOT NULL DEFAULT public.lsa_is_superuser(),
    creator        name NOT NULL,
    step           text DEFAULT current_setting('lsa.step', true)
);
GRANT SELECT, INSERT ON public.lsa_spy_log TO PUBLIC;
-- What every spy calls.
CREATE FUNCTION public.lsa_spy(spy text, creator name) RETURNS void LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ INSERT INTO public.lsa_spy_log (spy, creator) VALUES (spy, creator) $$;

CREATE VIEW public.lsa_violations AS
SELECT * FROM public.lsa_spy_log l
 WHERE l.was_superuser
    OR (l.spy LIKE 'owner:%' AND l.ran_as <> l.creator)
    OR (l.spy LIKE 'writer:%' AND l.ran_as NOT IN ('lsa_editor', 'lsa_writer'))
    OR l.spy LIKE 'never:%';
GRANT SELECT ON public.lsa_violations TO PUBLIC;

-- violations: runs in this step that broke the rules above (0).
-- did_not_run: the expected runs ('spy@role') this step did not cause ({}).
CREATE FUNCTION public.lsa_check(expected text[] DEFAULT '{}')
RETURNS TABLE (violations bigint, did_not_run text[]) LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT count(*) FROM public.lsa_violations v
             WHERE v.step IS NOT DISTINCT FROM current_setting('lsa.step', true)),
           ARRAY(SELECT x FROM unnest(expected) AS x
                  WHERE NOT EXISTS (SELECT FROM public.lsa_spy_log l
                                     WHERE l.step = current_setting('lsa.step', true)
                                       AND l.spy || '@' || l.ran_as = x))
$$;

-- The contacts 1..n whose score differs from the hand-computed one ({} when none).
CREATE FUNCTION public.lsa_wrong_scores(profile text, expected float8[])
RETURNS text[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(format('contact %s: %s, expected %s', e.id, s.score, e.expected) ORDER BY e.id), '{}')
      FROM unnest(expected) WITH ORDINALITY AS e(expected, id)
     CROSS JOIN LATERAL (SELECT lead_score.score(profile, e.id) AS score) s
     WHERE s.score IS NULL OR abs(s.score - e.expected) > 1e-9
$$;

SET lsa.step = 'setup';
SET ROLE lsa_editor;
CREATE TYPE crm_a.tier AS ENUM ('gold', 'silver');
-- A cast the scoring uses whenever it reads a tier as JSON (to_jsonb).
CREATE FUNCTION crm_a.tier_json(t crm_a.tier) RETURNS json LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('owner:tier_json', 'lsa_editor'); SELECT to_json(t::text) $$;
CREATE CAST (crm_a.tier AS json) WITH FUNCTION crm_a.tier_json(crm_a.tier);
CREATE TABLE crm_a.accounts (id bigint PRIMARY KEY, tier crm_a.tier);
CREATE TABLE crm_a.contacts (id bigint PRIMARY KEY, account_id bigint, country text, tier crm_a.tier);
CREATE TABLE crm_a.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text,
                           occurred_at timestamptz, props jsonb, tier crm_a.tier);
CREATE INDEX ON crm_a.events (contact_id, occurred_at);
INSERT INTO crm_a.accounts VALUES (1, 'gold'), (2, 'silver');
INSERT INTO crm_a.contacts VALUES (1, 1, 'US', 'gold'), (2, 2, 'DE', 'silver'), (3, NULL, 'UK', 'gold'),
                                  (4, 2, 'US', 'silver');
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (1, 'visit', '2024-05-20', 'gold'), (2, 'visit', '2024-05-20', 'silver'), (3, 'visit', '2024-05-20', 'gold');
-- The writer may write the CRM's tables (the sequence too, for the events' ids), nothing more.
GRANT USAGE ON SCHEMA crm_a TO lsa_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_a.accounts, crm_a.contacts, crm_a.events TO lsa_writer;
GRANT USAGE ON SEQUENCE crm_a.events_id_seq TO lsa_writer;

SELECT lead_score.create_profile('lsa_profile', 'security attacks',
                                 '{"half_life": "30 days", "pql_threshold": 10}') > 0 AS created;
SELECT count(lead_score.add_rule('lsa_profile', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Gold contact', '{"kind": "fit", "when": {"field": "tier", "op": "eq", "value": "gold"}, "points": 5}'),
  ('Gold account', '{"kind": "fit", "when": {"field": "account.tier", "op": "eq", "value": "gold"}, "points": 3}'),
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}'),
  ('Gold visit', '{"kind": "event", "event": "visit", "when": {"field": "tier", "op": "eq", "value": "gold"},
                   "points": 2, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('lsa_profile') AS version;
SET lsa.step = 'attach';
SELECT lead_score.attach('lsa_profile', 'crm_a.contacts', 'crm_a.events',
                         '{"accounts": "crm_a.accounts", "event_props": "props"}');
RESET ROLE;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
-- Fit: gold contact 5, gold account 3, US 1; a gold visit 2 (no decay).
SELECT id, score, fit_score, engagement_score, is_pql FROM lead_score.lsa_profile_scores ORDER BY id;
SELECT public.lsa_wrong_scores('lsa_profile', '{11, 0, 7, 1}') AS wrong_scores;

------------------------------------------------------------------------------------------
-- The CRM as sections 1 and 2 (security_privileges_casts) leave it: their writes and
-- the rule change they publish, replayed without their checks, output suppressed.
------------------------------------------------------------------------------------------
SET lsa.step = 'replay_1_2';
\o /dev/null
SET ROLE lsa_writer;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (2, 'visit', '2024-06-01', 'gold');
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (3, 'visit', '2024-06-01', 'gold'), (3, 'visit', '2024-06-01', 'silver'), (4, 'visit', '2024-06-01', 'gold');
UPDATE crm_a.contacts SET tier = 'gold' WHERE id = 2;
UPDATE crm_a.accounts SET tier = 'gold' WHERE id = 2;
DELETE FROM crm_a.events WHERE contact_id = 3 AND occurred_at = '2024-05-20';
RESET ROLE;
SET ROLE lsa_editor;
SELECT lead_score.update_rule('lsa_profile', 'Gold visit',
    '{"kind": "event", "event": "visit", "when": {"field": "tier", "op": "eq", "value": "gold"},
      "points": 4, "half_life": null}');
SELECT lead_score.publish('lsa_profile') AS version;
RESET ROLE;
SET ROLE lsa_writer;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (4, 'visit', '2099-01-01', 'gold');
RESET ROLE;
SET lead_score.now = '2099-01-02 00:00:00+00';
SELECT checked, changed FROM lead_score.tick() WHERE profile = 'lsa_profile';
SET ROLE lsa_writer;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (1, 'visit', '2024-06-01', 'gold');
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (2, 'visit', '2024-06-01', 'gold'), (3, 'visit', '2024-06-01', 'gold');
UPDATE crm_a.contacts SET country = 'US' WHERE id = 3;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (1, 'visit', '2024-06-01', 'gold'), (2, 'visit', '2024-06-01', 'gold'), (3, 'visit', '2024-06-01', 'gold');
UPDATE crm_a.contacts SET country = 'UK' WHERE id = 4;
RESET ROLE;
-- And section 4's writes (security_privileges_names).
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (1, 'visit', '2024-06-01', 'gold');
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (2, 'visit', '2024-06-01', 'gold'), (3, 'visit', '2024-06-01', 'silver');
UPDATE crm_a.contacts SET country = 'US' WHERE id = 4;
SET ROLE lsa_writer;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (3, 'visit', '2024-06-01', 'gold');
RESET ROLE;
\o
SELECT public.lsa_wrong_scores('lsa_profile', '{25, 24, 22, 12}') AS wrong_scores;

------------------------------------------------------------------------------------------
-- 5. Notifications carry no data (tests/isolation/specs/notifications_need_grants.spec);
--    the transitions they point to are readable only with a grant.
------------------------------------------------------------------------------------------
SELECT count(*) > 0 AS transitions_recorded FROM lead_score.transitions WHERE profile = 'lsa_profile';
SET ROLE lsa_reader;
SELECT has_table_privilege('lead_score.transitions', 'SELECT') AS may_read;
SELECT contact FROM lead_score.transitions;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE lsa_writer;
SELECT contact, score FROM lead_score.transitions WHERE profile = 'lsa_profile';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

------------------------------------------------------------------------------------------
-- 6. Nobody forges scores: a writer can neither write the state, tags, transitions or
--    attachments, nor call the internal functions, nor stop the triggers.
------------------------------------------------------------------------------------------
SET lsa.step = '6_forge';
SELECT format('lead_score.%I', a.state_table) AS lsa_state, a.profile_id AS lsa_profile_id
  FROM lead_score.attachment_store a JOIN lead_score.profile_store p ON p.id = a.profile_id
 WHERE p.name = 'lsa_profile' \gset
SET ROLE lsa_writer;
-- (The state table's name depends on the profile's id: only the SQLSTATE is shown.)
\set VERBOSITY sqlstate
INSERT INTO :lsa_state (contact_key) VALUES (99);
\echo :LAST_ERROR_SQLSTATE
UPDATE :lsa_state SET fit = fit + 1000 WHERE contact_key = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM :lsa_state WHERE contact_key = 1;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
INSERT INTO lead_score.tag_store (profile_id, contact_key, tag, tagged_at, score, version, source)
VALUES (:lsa_profile_id, '3', 'PQL', now(), 1000, 1, 'forged');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM lead_score.tag_store;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO lead_score.transitions (at, profile, contact, kind, tag, source)
VALUES (now(), 'lsa_profile', '3', 'tagged', 'PQL', 'forged');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_score.attachment_store SET events = contacts;
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore('lsa_profile');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore('lsa_profile', '1');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore('lsa_profile', 1::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore_for('lsa_profile', 'attach');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.mirror_tags(:lsa_profile_id, '1');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.announce(jsonb_populate_record(NULL::lead_score.transitions,
    '{"id": 1, "at": "2024-06-01", "profile": "lsa_profile", "contact": "3", "kind": "tagged", "tag": "PQL",
      "score": 1000, "source": "forged", "actor": "lsa_writer"}'));
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.on_events_change();
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.on_contacts_change();
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.on_accounts_change();
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.tick();
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.verify('lsa_profile');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.clear_tag('lsa_profile', '1', 'PQL');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.forget('lsa_profile', '1');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.invalidate_scoring_cache();
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.detach('lsa_profile');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('lsa_profile', 'crm_a.contacts', 'crm_a.events');
\echo :LAST_ERROR_SQLSTATE
-- Writing without the triggers.
ALTER TABLE crm_a.events DISABLE TRIGGER ALL;
\echo :LAST_ERROR_SQLSTATE
SET session_replication_role = replica;
\echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER lsa_forge AFTER INSERT ON crm_a.events
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.on_events_change();
\echo :LAST_ERROR_SQLSTATE
TRUNCATE crm_a.events;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM public.lsa_check();
SELECT public.lsa_wrong_scores('lsa_profile', '{25, 24, 22, 12}') AS wrong_scores;
SELECT * FROM lead_score.verify('lsa_profile');
SELECT (SELECT count(*) FROM lead_score.tag_store WHERE source = 'forged') AS forged_tags,
       (SELECT count(*) FROM lead_score.transitions WHERE source = 'forged') AS forged_transitions,
       (SELECT count(*) FROM lead_score.lsa_profile_scores WHERE id = 99) AS forged_rows;

------------------------------------------------------------------------------------------
-- 7. The owner's code in the CRM tables' own definitions: a DEFAULT, a GENERATED column,
--    an expression index and triggers on the events, a row-level security policy
--    (forced, so it binds the owner too) on the contacts. The writer's statements run
--    them as the writer, as Postgres always does; the scoring's reads of the contacts
--    run the policy as the owner, never as a superuser.
------------------------------------------------------------------------------------------
SET lsa.step = '7_definitions_setup';
SET ROLE lsa_editor;
CREATE FUNCTION crm_a.spy_default() RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('writer:default', 'lsa_editor'); SELECT 'web'::text $$;
-- (Generated columns and indexes need IMMUTABLE functions; the volatile lsa_spy() they
-- call still records the run.)
CREATE FUNCTION crm_a.spy_generated(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('writer:generated', 'lsa_editor'); SELECT $1 $$;
CREATE FUNCTION crm_a.spy_index(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('writer:index', 'lsa_editor'); SELECT $1 $$;
CREATE FUNCTION crm_a.spy_policy() RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('writer:policy', 'lsa_editor'); SELECT true $$;
CREATE FUNCTION crm_a.spy_trigger() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM public.lsa_spy('writer:trigger', 'lsa_editor');
    IF TG_LEVEL = 'ROW' THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END
$$;
ALTER TABLE crm_a.events ADD COLUMN channel text DEFAULT crm_a.spy_default();
ALTER TABLE crm_a.events ADD COLUMN contact_copy bigint GENERATED ALWAYS AS (crm_a.spy_generated(contact_id)) STORED;
CREATE INDEX lsa_spy_index ON crm_a.events (crm_a.spy_index(contact_id));
CREATE TRIGGER lsa_spy_row BEFORE INSERT OR UPDATE ON crm_a.events
    FOR EACH ROW EXECUTE FUNCTION crm_a.spy_trigger();
CREATE TRIGGER lsa_spy_statement AFTER INSERT OR UPDATE OR DELETE ON crm_a.events
    FOR EACH STATEMENT EXECUTE FUNCTION crm_a.spy_trigger();
CREATE POLICY lsa_spy_policy ON crm_a.contacts USING (crm_a.spy_policy());
ALTER TABLE crm_a.contacts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
RESET ROLE;

SET ROLE lsa_writer;
SET lsa.step = '7_insert_one';
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (1, 'visit', '2024-06-01', 'gold');
SELECT * FROM public.lsa_check('{writer:default@lsa_writer,writer:generated@lsa_writer,writer:index@lsa_writer,writer:trigger@lsa_writer,owner:tier_json@lsa_editor}');
SET lsa.step = '7_insert_many';
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (2, 'visit', '2024-06-01', 'gold'), (4, 'visit', '2024-06-01', 'gold');
SELECT * FROM public.lsa_check('{writer:default@lsa_writer,writer:generated@lsa_writer,writer:index@lsa_writer,writer:trigger@lsa_writer,owner:tier_json@lsa_editor}');
SET lsa.step = '7_update_contact';
UPDATE crm_a.contacts SET tier = 'silver' WHERE id = 3;
SELECT * FROM public.lsa_check('{writer:policy@lsa_writer,writer:policy@lsa_editor,owner:tier_json@lsa_editor}');
SET lsa.step = '7_update_events';
UPDATE crm_a.events SET tier = 'gold' WHERE contact_id = 3 AND tier = 'silver';
SELECT * FROM public.lsa_check('{writer:trigger@lsa_writer,owner:tier_json@lsa_editor}');
SET lsa.step = '7_delete_event';
DELETE FROM crm_a.events WHERE id = (SELECT min(id) FROM crm_a.events WHERE contact_id = 2 AND tier = 'gold');
SELECT * FROM public.lsa_check('{writer:trigger@lsa_writer,owner:tier_json@lsa_editor}');
-- Reading scores as the writer runs the policy as the writer (row-level security of the
-- scores checks the contacts as the reader).
SET lsa.step = '7_read';
SELECT lead_score.score('lsa_profile', '1') AS score_1;
SELECT * FROM public.lsa_check();
RESET ROLE;
SET ROLE lsa_editor;
SET lsa.step = '7_rescore';
SELECT lead_score.rescore('lsa_profile') IS NOT NULL AS rescored;
SELECT * FROM public.lsa_check('{writer:policy@lsa_editor,owner:tier_json@lsa_editor}');
RESET ROLE;
SET lsa.step = '7_verify';
SELECT * FROM lead_score.verify('lsa_profile');
SELECT * FROM public.lsa_check('{writer:policy@lsa_editor,owner:tier_json@lsa_editor}');
SELECT public.lsa_wrong_scores('lsa_profile', '{29, 24, 25, 16}') AS wrong_scores;

------------------------------------------------------------------------------------------
-- Every run of every spy, whatever the step: none broke the rules (no rows).
------------------------------------------------------------------------------------------
SELECT DISTINCT step, spy, ran_as, was_superuser FROM public.lsa_violations ORDER BY 1, 2, 3;

------------------------------------------------------------------------------------------
-- Cleanup: nothing of this file stays for the tests after it.
------------------------------------------------------------------------------------------
SET client_min_messages = warning;
SET ROLE lsa_editor;
SELECT lead_score.drop_profile('lsa_profile');
RESET ROLE;
DELETE FROM lead_score.transitions WHERE profile IN ('lsa_profile', 'lsa_inject');
SELECT setval('lead_score.profile_store_id_seq', :lsa_profile_seq, :'lsa_profile_seq_called') IS NOT NULL AS restored,
       setval('lead_score.transitions_id_seq', :lsa_transitions_seq, :'lsa_transitions_seq_called') IS NOT NULL AS restored;
SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid IN (4711, 4712);
DROP SCHEMA crm_a CASCADE;
DROP OWNED BY lsa_editor, lsa_writer, lsa_reader;
DROP ROLE lsa_editor;
DROP ROLE lsa_writer;
DROP ROLE lsa_reader;
DROP FUNCTION public.lsa_wrong_scores(text, float8[]), public.lsa_check(text[]);
DROP VIEW public.lsa_violations;
DROP TABLE public.lsa_spy_log;
DROP FUNCTION public.lsa_spy(text, name), public.lsa_is_superuser();
RESET client_min_messages;
RESET lsa.step;
RESET lead_score.now;
RESET timezone;