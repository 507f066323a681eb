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
-- 5-7 in security_privileges_forgery. This file: 3-4.
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
\o
SELECT public.lsa_wrong_scores('lsa_profile', '{21, 20, 18, 11}') AS wrong_scores;

------------------------------------------------------------------------------------------
-- 3. SQL injection through column names. Rule fields name columns whose names hold
--    quotes, backslashes and comments, made to end a string literal when backslashes
--    escape (standard_conforming_strings = off) and to run lo_create(). Writes of every
--    size (one row, a few, more than 1,000 streamed, COPY) succeed, score exactly, and
--    create no large object.
------------------------------------------------------------------------------------------
SET lsa.step = '3_injection_setup';
CREATE SCHEMA crm_i AUTHORIZATION lsa_editor;
SET ROLE lsa_editor;
CREATE TABLE crm_i.contacts (id bigint PRIMARY KEY, "o'k\" text);
CREATE TABLE crm_i.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz,
                           "x', 1) END FROM changed e WHERE lo_create(4711)>0--\" text,
                           "a\b" text,
                           """; SELECT lo_create(4712); --" text);
CREATE INDEX ON crm_i.events (contact_id);
INSERT INTO crm_i.contacts VALUES (1, 'yes'), (2, 'no'), (3, 'yes');
GRANT USAGE ON SCHEMA crm_i TO lsa_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_i.contacts, crm_i.events TO lsa_writer;
GRANT USAGE ON SEQUENCE crm_i.events_id_seq TO lsa_writer;
SELECT lead_score.create_profile('lsa_inject') > 0 AS created;
SELECT count(lead_score.add_rule('lsa_inject', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Quote', $r${"kind": "event", "event": "click", "points": 3, "half_life": null,
     "when": {"field": "x', 1) END FROM changed e WHERE lo_create(4711)>0--\\", "op": "eq", "value": "1"}}$r$),
  ('Backslash', $r${"kind": "event", "event": "click", "points": 5, "half_life": null,
     "when": {"field": "a\\b", "op": "eq", "value": "z"}}$r$),
  ('Double quote', $r${"kind": "event", "event": "click", "points": 7, "half_life": null,
     "when": {"field": "\"; SELECT lo_create(4712); --", "op": "eq", "value": "1"}}$r$),
  ('Fit', $r${"kind": "fit", "when": {"field": "o'k\\", "op": "eq", "value": "yes"}, "points": 1}$r$)
) AS r(rule_name, rule);
SELECT lead_score.publish('lsa_inject') AS version;
SELECT lead_score.attach('lsa_inject', 'crm_i.contacts', 'crm_i.events');
RESET ROLE;
-- The rules read exactly those columns.
SELECT r.rule_name, f.source, f.column_name
  FROM lead_score.rules r CROSS JOIN LATERAL lead_score.rule_fields(r.rule) f
 WHERE r.profile = 'lsa_inject' AND r.is_active ORDER BY r.rule_name;
SELECT public.lsa_wrong_scores('lsa_inject', '{1, 0, 1}') AS wrong_scores;

SET standard_conforming_strings = off;
SET lsa.step = '3_injection';
SET ROLE lsa_writer;
INSERT INTO crm_i.events (contact_id, event_type, occurred_at, "x', 1) END FROM changed e WHERE lo_create(4711)>0--\",
                          "a\b", """; SELECT lo_create(4712); --")
VALUES (1, 'click', '2024-06-01', '1', 'z', '1');
INSERT INTO crm_i.events (contact_id, event_type, occurred_at, "x', 1) END FROM changed e WHERE lo_create(4711)>0--\",
                          "a\b", """; SELECT lo_create(4712); --")
VALUES (2, 'click', '2024-06-01', '1', 'no', '0'), (3, 'click', '2024-06-01', '0', 'z', '1'),
       (2, 'click', '2024-06-01', '0', 'z', NULL);
-- One click: 3 + 5 + 7 and fit 1; the others 3 + 5, and 5 + 7 with fit 1.
SELECT public.lsa_wrong_scores('lsa_inject', '{16, 8, 13}') AS wrong_scores;
INSERT INTO crm_i.events (contact_id, event_type, occurred_at, "x', 1) END FROM changed e WHERE lo_create(4711)>0--\",
                          "a\b", """; SELECT lo_create(4712); --")
SELECT 1 + n % 3, 'click', '2024-06-01', (n % 2)::text, CASE WHEN n % 5 = 0 THEN 'z' ELSE 'q' END,
       (n % 7 = 0)::int::text
  FROM generate_series(1, 1500) AS n;
COPY crm_i.events (contact_id, event_type, occurred_at, "x', 1) END FROM changed e WHERE lo_create(4711)>0--\",
                   "a\b", """; SELECT lo_create(4712); --") FROM stdin;
1	click	2024-06-01 00:00:00+00	1	z	1
3	click	2024-06-01 00:00:00+00	1	q	0
\.
UPDATE crm_i.events SET "a\b" = 'z' WHERE contact_id = 1 AND id % 10 = 1;
DELETE FROM crm_i.events WHERE contact_id = 2 AND id % 4 = 0;
UPDATE crm_i.contacts SET "o'k\" = 'yes' WHERE id = 2;
RESET ROLE;
SET ROLE lsa_editor;
SELECT lead_score.rescore('lsa_inject') IS NOT NULL AS rescored;
RESET ROLE;
SELECT * FROM lead_score.verify('lsa_inject');
RESET standard_conforming_strings;
SELECT * FROM public.lsa_check();
SELECT count(*) AS large_objects FROM pg_largeobject_metadata WHERE oid IN (4711, 4712);
-- The scores against the same rules computed in plain SQL (no decay: every click counts
-- its points in full, each rule on its own).
SELECT count(*) AS contacts, count(*) FILTER (WHERE abs(s.score - x.expected) < 1e-9) AS as_expected
  FROM (SELECT c.id,
               CASE WHEN c."o'k\" = 'yes' THEN 1 ELSE 0 END
               + coalesce((SELECT sum(CASE WHEN e."x', 1) END FROM changed e WHERE lo_create(4711)>0--\" = '1' THEN 3 ELSE 0 END
                                      + CASE WHEN e."a\b" = 'z' THEN 5 ELSE 0 END
                                      + CASE WHEN e."""; SELECT lo_create(4712); --" = '1' THEN 7 ELSE 0 END)
                             FROM crm_i.events e
                            WHERE e.contact_id = c.id AND e.event_type = 'click'), 0) AS expected
          FROM crm_i.contacts c) x
  LEFT JOIN lead_score.lsa_inject_scores s ON s.id = x.id;

------------------------------------------------------------------------------------------
-- 4. Look-alike functions and operators in public, created by a role with CREATE on
--    public. With public before pg_catalog in the caller's search_path, each would
--    shadow the built-in one; none may run when a superuser (or the writer) calls the
--    extension's functions or writes. (Look-alikes of functions taking "any", such as
--    jsonb_build_object(VARIADIC "any") or format(text, VARIADIC "any"), cannot be
--    written in SQL; the VARIADIC text[] versions below are chosen over them for text
--    arguments.)
------------------------------------------------------------------------------------------
SET lsa.step = '4_lookalikes_setup';
GRANT CREATE ON SCHEMA public TO lsa_editor;
SET ROLE lsa_editor;
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:quote_ident', 'lsa_editor'); SELECT pg_catalog.quote_ident($1) $$;
CREATE FUNCTION public.quote_literal(text) RETURNS text LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:quote_literal', 'lsa_editor'); SELECT pg_catalog.quote_literal($1) $$;
CREATE FUNCTION public.to_regclass(text) RETURNS regclass LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:to_regclass', 'lsa_editor'); SELECT pg_catalog.to_regclass($1) $$;
CREATE FUNCTION public.format(text, VARIADIC text[]) RETURNS text LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:format', 'lsa_editor'); SELECT pg_catalog.format($1, VARIADIC $2) $$;
CREATE FUNCTION public.to_jsonb(crm_a.tier) RETURNS jsonb LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:to_jsonb_tier', 'lsa_editor'); SELECT pg_catalog.to_jsonb($1::text) $$;
CREATE FUNCTION public.to_jsonb(text) RETURNS jsonb LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:to_jsonb_text', 'lsa_editor'); SELECT pg_catalog.to_jsonb($1) $$;
CREATE FUNCTION public.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:jsonb_build_object', 'lsa_editor'); SELECT pg_catalog.jsonb_object($1) $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:lower', 'lsa_editor'); SELECT pg_catalog.lower($1) $$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:unnest', 'lsa_editor'); SELECT pg_catalog.unnest($1) $$;
CREATE FUNCTION public.array_to_string(anyarray, text) RETURNS text LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:array_to_string', 'lsa_editor'); SELECT pg_catalog.array_to_string($1, $2) $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:now', 'lsa_editor'); SELECT pg_catalog.now() $$;
CREATE FUNCTION public.pg_notify(text, text) RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:pg_notify', 'lsa_editor'); SELECT pg_catalog.pg_notify($1, $2) $$;
CREATE FUNCTION public.lsa_texteq(text, text) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:text_eq', 'lsa_editor'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (leftarg = text, rightarg = text, function = public.lsa_texteq);
CREATE FUNCTION public.lsa_int8eq(bigint, bigint) RETURNS boolean LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:int8_eq', 'lsa_editor'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (leftarg = bigint, rightarg = bigint, function = public.lsa_int8eq);
CREATE FUNCTION public.lsa_textcat(text, text) RETURNS text LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:text_concat', 'lsa_editor'); SELECT $1 OPERATOR(pg_catalog.||) $2 $$;
CREATE OPERATOR public.|| (leftarg = text, rightarg = text, function = public.lsa_textcat);
CREATE FUNCTION public.lsa_array_append(text[], text) RETURNS text[] LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT public.lsa_spy('never:array_agg', 'lsa_editor'); SELECT pg_catalog.array_append($1, $2) $$;
CREATE AGGREGATE public.array_agg(text) (sfunc = public.lsa_array_append, stype = text[], initcond = '{}');
RESET ROLE;

-- Only calls and plain INSERTs while public comes first: the test's own statements must
-- not use a shadowed name or operator.
SET lsa.step = '4_lookalikes';
SET search_path = public, pg_catalog;
SELECT lead_score.score('lsa_profile', '1') IS NOT NULL AS scored,
       lead_score.score('lsa_profile', 2::bigint) IS NOT NULL AS scored_bigint,
       lead_score.score('lsa_inject', '1') IS NOT NULL AS scored_inject;
SELECT count(*) > 0 AS stats_read FROM lead_score.stats('lsa_profile');
SELECT * FROM lead_score.verify('lsa_profile');
SELECT * FROM lead_score.verify('lsa_inject');
SELECT count(*) > 0 AS ticked FROM lead_score.tick();
SELECT lead_score.rescore('lsa_profile', '2') AS rescored, lead_score.rescore('lsa_profile') IS NOT NULL AS rescored_all;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (1, 'visit', '2024-06-01', 'gold');
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES
    (2, 'visit', '2024-06-01', 'gold'), (3, 'visit', '2024-06-01', 'silver');
UPDATE crm_a.contacts SET country = 'US' WHERE id OPERATOR(pg_catalog.=) 4;
INSERT INTO crm_i.events (contact_id, event_type, occurred_at, "x', 1) END FROM changed e WHERE lo_create(4711)>0--\")
VALUES (2, 'click', '2024-06-01', '1');
SET ROLE lsa_writer;
INSERT INTO crm_a.events (contact_id, event_type, occurred_at, tier) VALUES (3, 'visit', '2024-06-01', 'gold');
SELECT lead_score.score('lsa_profile', '3') IS NOT NULL AS scored;
RESET ROLE;
SET ROLE lsa_editor;
SELECT lead_score.rescore('lsa_inject') IS NOT NULL AS rescored;
RESET ROLE;
RESET search_path;
SELECT * FROM public.lsa_check('{owner:tier_json@lsa_editor}');
SELECT public.lsa_wrong_scores('lsa_profile', '{25, 24, 22, 12}') AS wrong_scores;
SELECT * FROM lead_score.verify('lsa_inject');
-- (The positive control: in this session, with public first, the same names and
-- operators written unqualified do reach every look-alike, and each spy records it: the
-- checks above would have seen any of them chosen. Rolled back, log included.)
SET lsa.step = '4_control';
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT quote_ident('x'::text) AS quote_ident, quote_literal('x'::text) AS quote_literal,
       to_regclass('crm_a.contacts'::text) AS to_regclass, format('%s'::text, 'x'::text) AS format,
       to_jsonb('gold'::crm_a.tier) AS to_jsonb_tier, to_jsonb('x'::text) AS to_jsonb_text,
       jsonb_build_object('a'::text, 'b'::text) AS jsonb_build_object, lower('X'::text) AS lower,
       array_to_string(ARRAY['a']::text[], ','::text) AS array_to_string, now() IS NOT NULL AS now,
       'a'::text = 'a'::text AS text_eq, 1::bigint = 1::bigint AS int8_eq, 'a'::text || 'b'::text AS text_concat;
SELECT pg_notify('lsa_control'::text, 'x'::text);
SELECT u FROM unnest(ARRAY['a']::text[]) AS u;
SELECT array_agg(x) AS array_agg FROM (VALUES ('a'::text)) AS v(x);
SET LOCAL search_path = pg_catalog, pg_temp;
SELECT spy FROM public.lsa_spy_log WHERE step = '4_control' GROUP BY spy ORDER BY spy;
ROLLBACK;
SET lsa.step = '4_lookalikes';
-- They would disturb every later test: gone at once.
SET ROLE lsa_editor;
DROP AGGREGATE public.array_agg(text);
DROP OPERATOR public.= (text, text), public.= (bigint, bigint), public.|| (text, text);
DROP FUNCTION public.quote_ident(text), public.quote_literal(text), public.to_regclass(text),
              public.format(text, text[]), public.to_jsonb(crm_a.tier), public.to_jsonb(text),
              public.jsonb_build_object(text[]), public.lower(text), public.unnest(text[]),
              public.array_to_string(anyarray, text), public.now(), public.pg_notify(text, text),
              public.lsa_texteq(text, text), public.lsa_int8eq(bigint, bigint),
              public.lsa_textcat(text, text), public.lsa_array_append(text[], text);
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM lsa_editor;

------------------------------------------------------------------------------------------
-- Every run of every spy, whatever the step: none broke the rules (no rows).
------------------------------------------------------------------------------------------
SELECT DISTINCT step, spy, ran_as, was_superuser FROM public.lsa_violations ORDER BY 1, 2, 3;

------------------------------------------------------------------------------------------
-- Cleanup: nothing of this file stays for the tests after it.
------------------------------------------------------------------------------------------
SET client_min_messages = warning;
SET ROLE lsa_editor;
SELECT lead_score.drop_profile('lsa_inject');
SELECT lead_score.drop_profile('lsa_profile');
RESET ROLE;
DELETE FROM lead_score.transitions WHERE profile IN ('lsa_profile', 'lsa_inject');
SELECT setval('lead_score.profile_store_id_seq', :lsa_profile_seq, :'lsa_profile_seq_called') IS NOT NULL AS restored,
       setval('lead_score.transitions_id_seq', :lsa_transitions_seq, :'lsa_transitions_seq_called') IS NOT NULL AS restored;
SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid IN (4711, 4712);
DROP SCHEMA crm_a CASCADE;
DROP SCHEMA crm_i CASCADE;
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