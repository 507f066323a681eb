-- What the owner's code changes must not outlive the read it ran in: a search_path its
-- row-level security policy sets in the middle of the scoring's read, a key column
-- named like the state table's, a key column swapped after attach. (Numbered 8 after
-- the seven attacks of security_privileges_casts.sql, _names.sql and _forgery.sql,
-- whose roles, spies and checks it repeats.)
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

------------------------------------------------------------------------------------------
-- Setup: roles and the spy log.
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

------------------------------------------------------------------------------------------
-- 8. What the owner's code changes does not outlive the read it ran in.
--    (a) A forced policy on the contacts changes search_path while the full pass
--        streams them; the pass hands a batch of 5,000 to the extension's writes in the
--        middle of that read: those writes must still resolve pg_catalog's functions,
--        never a look-alike in the schema the policy put first.
--    (b) A contacts key column named contact_key, like the state table's: a reader
--        still sees only the scores of the contacts it may see.
--    (c) A key column swapped for another of the same name after attach: writes fail
--        loudly (55000) rather than compare keys with the new type's operators.
------------------------------------------------------------------------------------------
SET lsa.step = '8_setup';
CREATE SCHEMA crm_e AUTHORIZATION lsa_editor;
CREATE SCHEMA lsa_evil AUTHORIZATION lsa_editor;
SET ROLE lsa_editor;
CREATE FUNCTION lsa_evil.to_timestamp(double precision) RETURNS timestamptz LANGUAGE sql
AS $$ SELECT public.lsa_spy('never:to_timestamp', 'lsa_editor'); SELECT pg_catalog.to_timestamp($1) $$;
-- No SET clause: the change it makes must last beyond the call.
CREATE FUNCTION crm_e.path_changing_policy() RETURNS boolean LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM public.lsa_spy('owner:path_changing_policy', 'lsa_editor');
    PERFORM pg_catalog.set_config('search_path', 'lsa_evil, pg_catalog, pg_temp', false);
    RETURN true;
END
$$;
CREATE TABLE crm_e.contacts (contact_key bigint PRIMARY KEY, country text);
CREATE TABLE crm_e.events (id bigserial PRIMARY KEY, contact_key bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON crm_e.events (contact_key);
INSERT INTO crm_e.contacts SELECT g, CASE WHEN g % 2 = 0 THEN 'US' ELSE 'DE' END FROM generate_series(1, 5003) g;
ALTER TABLE crm_e.contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_e.contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_reads ON crm_e.contacts FOR SELECT TO lsa_editor USING (crm_e.path_changing_policy());
CREATE POLICY reader_reads ON crm_e.contacts FOR SELECT TO lsa_reader USING (contact_key = 1);
GRANT USAGE ON SCHEMA crm_e TO lsa_reader, lsa_writer;
GRANT SELECT ON crm_e.contacts TO lsa_reader;
GRANT SELECT, INSERT ON crm_e.events TO lsa_writer;
GRANT USAGE ON SEQUENCE crm_e.events_id_seq TO lsa_writer;
SELECT lead_score.create_profile('lsa_evil') > 0 AS created;
SELECT lead_score.add_rule('lsa_evil', 'US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}') > 0 AS added;
SELECT lead_score.publish('lsa_evil') AS version;
SET lsa.step = '8a_attach';
SELECT lead_score.attach('lsa_evil', 'crm_e.contacts', 'crm_e.events', '{"event_contact": "contact_key"}');
RESET search_path;
RESET ROLE;
SELECT * FROM public.lsa_check('{owner:path_changing_policy@lsa_editor}');
SET lsa.step = '8a_rescore';
SET ROLE lsa_editor;
SELECT lead_score.rescore('lsa_evil') AS rescored;
RESET search_path;
RESET ROLE;
SELECT * FROM public.lsa_check('{owner:path_changing_policy@lsa_editor}');
SELECT count(*) AS scored, sum(fit_score) AS us_contacts FROM lead_score.lsa_evil_scores;
SELECT count(*) AS differences FROM lead_score.verify('lsa_evil');
RESET search_path;
-- (The positive control: read outside the scoring, the owner's policy does leave
-- lsa_evil first in search_path, where to_timestamp(float8) is the look-alike: the
-- same call then runs it, and the spy records it. Rolled back, log and setting included.)
SET lsa.step = '8a_control';
BEGIN;
SET ROLE lsa_editor;
SELECT count(*) AS read FROM crm_e.contacts WHERE contact_key = 1;
SELECT current_setting('search_path') AS search_path;
SELECT to_timestamp(0::float8) IS NOT NULL AS converted;
RESET ROLE;
SELECT DISTINCT spy, ran_as FROM public.lsa_spy_log WHERE step = '8a_control' ORDER BY spy;
ROLLBACK;
SHOW search_path;

SET lsa.step = '8b_reader';
SET ROLE lsa_reader;
SELECT contact_key, score FROM lead_score.lsa_evil_scores ORDER BY contact_key;
RESET ROLE;
-- Its owner sees them all, as the scoring does.
SET ROLE lsa_editor;
SELECT count(*) AS visible_to_the_owner FROM lead_score.lsa_evil_scores;
RESET search_path;
RESET ROLE;

SET lsa.step = '8c_swapped_key';
-- The schema guard refuses to rename the key column (2BP01, see schema_guard.sql)...
SET ROLE lsa_editor;
ALTER TABLE crm_e.events RENAME COLUMN contact_key TO old_contact_key;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- ... and with the guard disabled (as a superuser can), the scoring refuses a key
-- column swapped for one of another type (55000), rather than compare with its operators.
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
SET ROLE lsa_editor;
ALTER TABLE crm_e.events RENAME COLUMN contact_key TO old_contact_key;
ALTER TABLE crm_e.events ADD COLUMN contact_key text;
RESET ROLE;
ALTER EVENT TRIGGER lead_score_schema_guard_after ENABLE;
SET ROLE lsa_writer;
INSERT INTO crm_e.events (old_contact_key, event_type, occurred_at) VALUES (2, 'visit', '2024-05-31');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM public.lsa_check();
SET ROLE lsa_editor;
SELECT lead_score.drop_profile('lsa_evil');
RESET ROLE;
DROP SCHEMA crm_e, lsa_evil CASCADE;

------------------------------------------------------------------------------------------
-- Every run of every spy, whatever the step: none broke the rules (no rows).
------------------------------------------------------------------------------------------
SELECT DISTINCT step, spy, ran_as, was_superuser FROM public.lsa_violations ORDER BY 1, 2, 3;


------------------------------------------------------------------------------------------
-- Cleanup: nothing of this file stays for the tests after it.
------------------------------------------------------------------------------------------
SET client_min_messages = warning;
SELECT setval('lead_score.profile_store_id_seq', :lsa_profile_seq, :'lsa_profile_seq_called') IS NOT NULL AS restored,
       setval('lead_score.transitions_id_seq', :lsa_transitions_seq, :'lsa_transitions_seq_called') IS NOT NULL AS restored;
DROP OWNED BY lsa_editor, lsa_writer, lsa_reader;
DROP ROLE lsa_editor;
DROP ROLE lsa_writer;
DROP ROLE lsa_reader;
DROP FUNCTION public.lsa_check(text[]);
DROP VIEW public.lsa_violations;
DROP TABLE public.lsa_spy_log;
DROP FUNCTION public.lsa_spy(text, name), public.lsa_is_superuser();
RESET client_min_messages;
RESET lsa.step;
RESET lead_score.now;
RESET timezone;
