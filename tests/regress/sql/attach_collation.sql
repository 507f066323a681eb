-- Contact keys under a non-deterministic collation: the CRM's = makes 'ALICE@X.COM' the
-- key of contact 'Alice@x.com', which scoring's equality tells apart, so that contact's
-- events would be lost silently. attach refuses such a key column, in either table
-- (0A000, naming the table, column and collation); one given since is a
-- misconfiguration (55000). Such collations come from ICU: a PostgreSQL built without
-- it skips this test (expected/attach_collation_1.out).
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';
DO $$
BEGIN
    CREATE COLLATION lead_score_test_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
SELECT EXISTS (SELECT FROM pg_collation WHERE collname = 'lead_score_test_ci') AS have_icu \gset
\if :have_icu
\else
\echo 'no ICU: skipped'
\quit
\endif

SELECT lead_score.create_profile('Collated', settings => '{"half_life": "10 days"}') > 0 AS created;
SELECT lead_score.add_rule('Collated', 'Click', '{"kind": "event", "event": "click", "points": 4}') > 0 AS added;
SELECT lead_score.publish('Collated') AS version;
CREATE TABLE ci_contacts (email text COLLATE lead_score_test_ci PRIMARY KEY, tier text);
CREATE TABLE ci_events (contact_id text, event_type text, occurred_at timestamptz);
INSERT INTO ci_contacts VALUES ('Alice@x.com', 'basic');
SELECT lead_score.attach('Collated', 'ci_contacts', 'ci_events', '{"view": "ci_scores"}');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE ci_contacts ALTER COLUMN email TYPE text COLLATE "C";
ALTER TABLE ci_events ALTER COLUMN contact_id TYPE text COLLATE lead_score_test_ci;
SELECT lead_score.attach('Collated', 'ci_contacts', 'ci_events', '{"view": "ci_scores"}');
\echo :LAST_ERROR_SQLSTATE
-- Deterministic collations ("C", the default) attach.
ALTER TABLE ci_events ALTER COLUMN contact_id TYPE text COLLATE "default";
SELECT lead_score.attach('Collated', 'ci_contacts', 'ci_events', '{"view": "ci_scores"}');
INSERT INTO ci_events VALUES ('Alice@x.com', 'click', '2024-06-01');
SELECT email, score FROM lead_score.ci_scores;
-- Such a collation given to the events' key column after attach: the schema guard
-- refuses it (2BP01, see schema_guard.sql).
ALTER TABLE ci_events ALTER COLUMN contact_id TYPE text COLLATE lead_score_test_ci;
\echo :LAST_ERROR_SQLSTATE
-- Given with the guard disabled (as a superuser can): writes, rescore and verify stop
-- (55000) rather than lose the events.
ALTER EVENT TRIGGER lead_score_schema_guard_after DISABLE;
ALTER TABLE ci_events ALTER COLUMN contact_id TYPE text COLLATE lead_score_test_ci;
ALTER EVENT TRIGGER lead_score_schema_guard_after ENABLE;
INSERT INTO ci_events VALUES ('ALICE@X.COM', 'click', '2024-06-01');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.rescore('Collated');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.verify('Collated');
\echo :LAST_ERROR_SQLSTATE
-- (The contacts' key column: PostgreSQL itself refuses to change the type of a column
-- the scores' visibility policy reads; its detail names the state table.)
\set VERBOSITY terse
ALTER TABLE ci_contacts ALTER COLUMN email TYPE text COLLATE lead_score_test_ci;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- A deterministic collation again (the guard lets a repair through): writes score as
-- before (two clicks: 8).
ALTER TABLE ci_events ALTER COLUMN contact_id TYPE text COLLATE "C";
INSERT INTO ci_events VALUES ('Alice@x.com', 'click', '2024-06-01');
SELECT email, score FROM lead_score.ci_scores;

SELECT lead_score.drop_profile('Collated');
DROP TABLE ci_contacts, ci_events;
DROP COLLATION lead_score_test_ci;
RESET lead_score.now;
