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
-- 5-7 in security_privileges_forgery. This file: 1-2.
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
-- 1. Casts on the column types of contacts, events and accounts: the scoring reads the
--    tiers through the owner's cast, which runs as the owner on every path: a writer's
--    single-row and multi-row inserts, contact and account updates, deletes; rescore and
--    publish by the editor; tick() and verify() by a superuser.
------------------------------------------------------------------------------------------
SET ROLE lsa_writer;
SET lsa.step = '1_insert_one';
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (2, 'visit', '2024-06-01', 'gold');
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SET lsa.step = '1_insert_many';
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (3, 'visit', '2024-06-01', 'gold'), (3, 'visit', '2024-06-01', 'silver'), (4, 'visit', '2024-06-01', 'gold');
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SET lsa.step = '1_update_contact';
UPDATE crm_a.contacts SET tier = 'gold' WHERE id = 2;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SET lsa.step = '1_update_account';
UPDATE crm_a.accounts SET tier = 'gold' WHERE id = 2;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SET lsa.step = '1_delete_event';
DELETE FROM crm_a.events WHERE contact_id = 3 AND occurred_at = '2024-05-20';
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
RESET ROLE;
SELECT public.lsa_wrong_scores('lsa_profile', '{11, 10, 7, 6}') AS wrong_scores;

SET ROLE lsa_editor;
SET lsa.step = '1_rescore';
SELECT lead_score.rescore('lsa_profile') IS NOT NULL AS rescored;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SET lsa.step = '1_rescore_one';
SELECT lead_score.rescore('lsa_profile', 3::bigint) AS rescored, lead_score.rescore('lsa_profile', '4') AS rescored_text;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
-- A publish that changes a rule rescores everyone: a gold visit is now worth 4.
SET lsa.step = '1_publish';
SELECT lead_score.update_rule('lsa_profile', 'Gold visit',
    '{"kind": "event", "event": "visit", "when": {"field": "tier", "op": "eq", "value": "gold"},
      "points": 4, "half_life": null}');
SELECT lead_score.publish('lsa_profile') AS version;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
RESET ROLE;
SELECT public.lsa_wrong_scores('lsa_profile', '{13, 12, 9, 8}') AS wrong_scores;

-- A future visit comes due later: tick(), run by a superuser, scores it.
SET lsa.step = '1_future';
SET ROLE lsa_writer;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (4, 'visit', '2099-01-01', 'gold');
RESET ROLE;
SELECT * FROM public.lsa_check();
SELECT public.lsa_wrong_scores('lsa_profile', '{13, 12, 9, 8}') AS wrong_scores;
-- From here on the clock stays in 2099 (no rule decays, so scores do not move with it).
SET lead_score.now = '2099-01-02 00:00:00+00';
SET lsa.step = '1_tick';
SELECT checked, changed FROM lead_score.tick() WHERE profile = 'lsa_profile';
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SELECT public.lsa_wrong_scores('lsa_profile', '{13, 12, 9, 12}') AS wrong_scores;
SET lsa.step = '1_verify';
SELECT * FROM lead_score.verify('lsa_profile');
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');

------------------------------------------------------------------------------------------
-- 2. Relations by identity, never by a name looked up again.
------------------------------------------------------------------------------------------
-- (a) A writer whose search_path names the CRM's schema: score() with the key as text,
--     then writes of every kind (these used to fail with 42P01).
SET lsa.step = '2_search_path';
SET ROLE lsa_writer;
SET search_path = crm_a, public;
SELECT lead_score.score('lsa_profile', '1') AS score_1;
INSERT INTO events (contact_id, event_type, occurred_at, tier) VALUES (1, 'visit', '2024-06-01', 'gold');
INSERT INTO events (contact_id, event_type, occurred_at, tier) VALUES
    (2, 'visit', '2024-06-01', 'gold'), (3, 'visit', '2024-06-01', 'gold');
UPDATE contacts SET country = 'US' WHERE id = 3;
SELECT lead_score.score('lsa_profile', '1') AS score_1;
RESET search_path;
RESET ROLE;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SELECT public.lsa_wrong_scores('lsa_profile', '{17, 16, 14, 12}') AS wrong_scores;

-- (b) A writer with nothing but TEMP forges contacts, accounts and events in pg_temp,
--     with a type and a cast of its own, under the same names as the CRM's tables.
--     Scoring must never read them: not on the writer's writes under any search_path
--     (pg_temp first, the default path, or the CRM's schema with pg_temp implicitly
--     first), nor when a superuser or the editor in the same session rescores.
SET lsa.step = '2_temp';
SET ROLE lsa_writer;
CREATE TYPE pg_temp.tier2 AS ENUM ('gold', 'silver');
CREATE FUNCTION pg_temp.tier2_json(t pg_temp.tier2) RETURNS json LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:temp_cast', 'lsa_writer'); SELECT to_json(t::text) $$;
CREATE CAST (pg_temp.tier2 AS json) WITH FUNCTION pg_temp.tier2_json(pg_temp.tier2);
CREATE TABLE pg_temp.accounts (id bigint PRIMARY KEY, tier pg_temp.tier2);
CREATE TABLE pg_temp.contacts (id bigint PRIMARY KEY, account_id bigint, country text, tier pg_temp.tier2);
CREATE TABLE pg_temp.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text,
                             occurred_at timestamptz, props jsonb, tier pg_temp.tier2);
INSERT INTO pg_temp.accounts VALUES (1, 'gold'), (2, 'gold');
INSERT INTO pg_temp.contacts VALUES (1, 1, 'US', 'gold'), (2, 1, 'US', 'gold'), (3, 1, 'US', 'gold'),
                                    (4, 1, 'US', 'gold'), (5, 1, 'US', 'gold');
INSERT INTO pg_temp.events (contact_id, event_type, occurred_at, tier)
SELECT 1 + n % 5, 'visit', '2024-06-01', 'gold' FROM generate_series(1, 1000) AS n;
SET search_path = pg_temp, crm_a, public;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (1, 'visit', '2024-06-01', 'gold');
SELECT lead_score.score('lsa_profile', '1') AS score_1;
RESET search_path;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (2, 'visit', '2024-06-01', 'gold');
SET search_path = crm_a, public;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (3, 'visit', '2024-06-01', 'gold');
UPDATE crm_a.contacts SET country = 'UK' WHERE id = 4;
RESET search_path;
RESET ROLE;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SET lsa.step = '2_temp_admin';
SET search_path = pg_temp, crm_a, public;
SET ROLE lsa_editor;
SELECT lead_score.rescore('lsa_profile') IS NOT NULL AS rescored;
RESET ROLE;
SELECT * FROM lead_score.verify('lsa_profile');
SELECT count(*) AS ticked FROM lead_score.tick() WHERE profile = 'lsa_profile';
RESET search_path;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SELECT public.lsa_wrong_scores('lsa_profile', '{21, 20, 18, 11}') AS wrong_scores;
SELECT count(*) AS contacts_scored FROM lead_score.lsa_profile_scores;
SET ROLE lsa_writer;
DROP TABLE pg_temp.events, pg_temp.contacts, pg_temp.accounts;
DROP CAST (pg_temp.tier2 AS json);
DROP FUNCTION pg_temp.tier2_json(pg_temp.tier2);
DROP TYPE pg_temp.tier2;
RESET ROLE;

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