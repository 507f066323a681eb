-- Who may do what: everyone reads, only granted roles edit, nobody writes the catalog
-- tables directly, and every function pins its search_path.
\set SHOW_CONTEXT never

-- Every SQL and PL/pgSQL function, and every SECURITY DEFINER function, pins
-- search_path with pg_catalog first and pg_temp last. (Aggregates run no SQL of their
-- own and cannot carry SET; their state functions are Rust.)
SELECT p.oid::regprocedure AS function_without_pinned_search_path
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'lead_score'::regnamespace AND p.prokind <> 'a'
   AND (l.lanname <> 'c' OR p.prosecdef)
   AND NOT coalesce('search_path=pg_catalog, lead_score, pg_temp' = ANY (p.proconfig), false);

-- What PUBLIC may execute, and which functions run as the extension's owner.
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_run,
       p.prosecdef AS security_definer
  FROM pg_proc p
 WHERE p.pronamespace = 'lead_score'::regnamespace
 ORDER BY public_may_run, p.proname, pg_get_function_identity_arguments(p.oid);

-- Relations: PUBLIC reads the views and the two catalog tables score() reads as the
-- caller; it writes nothing.
SELECT c.relname, c.relkind, has_table_privilege('public', c.oid, 'SELECT') AS public_may_read,
       has_table_privilege('public', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS public_may_write
  FROM pg_class c
 WHERE c.relnamespace = 'lead_score'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY c.relkind, c.relname;

CREATE ROLE lead_score_test_reader;
CREATE ROLE lead_score_test_editor;

SELECT lead_score.create_profile('Guarded') > 0 AS created;
SELECT lead_score.add_rule('Guarded', 'Country', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}') > 0 AS added;

-- An ordinary role reads the catalog and validates, but cannot edit or publish.
SET ROLE lead_score_test_reader;
SELECT name, status FROM lead_score.profiles WHERE name = 'Guarded';
SELECT * FROM lead_score.validate('Guarded');
SELECT lead_score.rule_problem('{"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}, "points": 1}') IS NULL AS valid;
SELECT lead_score.create_profile('Sneaky');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Guarded', 'Sneaky', '{"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}, "points": 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_rule('Guarded', 'Country', '{"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}, "points": 100}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.remove_rule('Guarded', 'Country');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Guarded', description => 'mine now');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.publish('Guarded');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.drop_profile('Guarded');
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_score.rule_store SET body = '{}';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO lead_score.change_log (at, by, profile, action) VALUES (now(), 'me', 'Guarded', 'forged');
\echo :LAST_ERROR_SQLSTATE
-- The helpers the editing functions use are not callable either.
SELECT lead_score.log_change('Guarded', 'forged', NULL, NULL, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
-- Nor the cache invalidation that attach, detach and publish send.
SELECT lead_score.invalidate_scoring_cache();
\echo :LAST_ERROR_SQLSTATE
-- Nor the locking attach and detach do on the CRM's tables (which checks no privilege).
SELECT lead_score.lock_together(ARRAY['lead_score.profile_store'::regclass]::oid[], 'ACCESS EXCLUSIVE');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The one GRANT that lets a role edit profiles (as documented in the README).
GRANT EXECUTE ON FUNCTION lead_score.create_profile, lead_score.update_profile,
    lead_score.drop_profile, lead_score.add_rule, lead_score.update_rule,
    lead_score.remove_rule, lead_score.publish, lead_score.revert_draft,
    lead_score.attach, lead_score.detach, lead_score.rescore(text),
    lead_score.rescore(text, text), lead_score.rescore(text, anyelement)
    TO lead_score_test_editor;

SET ROLE lead_score_test_editor;
SELECT lead_score.add_rule('Guarded', 'Big company', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}') > 0 AS added;
SELECT lead_score.publish('Guarded') AS version;
-- Editors still cannot write the tables around the functions.
DELETE FROM lead_score.rule_store;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The audit columns name the role that acted, not the functions' owner.
SELECT action, rule_name, by FROM lead_score.profile_changes WHERE profile = 'Guarded' ORDER BY id;
SELECT published_by FROM lead_score.profile_versions WHERE profile = 'Guarded';

SELECT lead_score.drop_profile('Guarded');
REVOKE EXECUTE ON FUNCTION lead_score.create_profile, lead_score.update_profile,
    lead_score.drop_profile, lead_score.add_rule, lead_score.update_rule,
    lead_score.remove_rule, lead_score.publish, lead_score.revert_draft,
    lead_score.attach, lead_score.detach, lead_score.rescore(text),
    lead_score.rescore(text, text), lead_score.rescore(text, anyelement)
    FROM lead_score_test_editor;
DROP ROLE lead_score_test_reader;
DROP ROLE lead_score_test_editor;
