-- Nothing the extension keeps changes inside a security-restricted operation. An
-- editor's function that ANALYZE runs as an index expression, or REFRESH MATERIALIZED
-- VIEW as its query, runs as the editor while the session is a superuser's; there
-- every function that writes profiles, rules, attachments, adjustments or score rows
-- is refused (42501), as Postgres refuses SET ROLE, and nothing is written.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

-- The superuser's private tables, and a profile the editor could attach to them.
CREATE SCHEMA rs_hr;
CREATE TABLE rs_hr.people (id bigint PRIMARY KEY, salary integer);
CREATE TABLE rs_hr.reviews (id serial PRIMARY KEY, person_id bigint, kind text, at timestamptz);
INSERT INTO rs_hr.people VALUES (1, 250000), (2, 90000);
SELECT lead_score.create_profile('RS steal') > 0 AS created;
SELECT lead_score.add_rule('RS steal', 'Rich', '{"kind": "fit", "when": {"field": "salary", "op": "gte", "value": 200000}, "points": 1}') > 0 AS added;
SELECT lead_score.publish('RS steal') AS version;
-- The editor's own CRM, attached by the superuser, for the other functions.
CREATE ROLE rs_editor;
CREATE SCHEMA rs AUTHORIZATION rs_editor;
CREATE TABLE rs.contacts (id bigint PRIMARY KEY);
CREATE TABLE rs.events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
INSERT INTO rs.contacts VALUES (1), (2);
ALTER TABLE rs.contacts OWNER TO rs_editor;
ALTER TABLE rs.events OWNER TO rs_editor;
SELECT lead_score.create_profile('RS own') > 0 AS created;
SELECT lead_score.add_rule('RS own', 'Visit', '{"kind": "event", "event": "visit", "points": 2}') > 0 AS added;
SELECT lead_score.publish('RS own') AS version;
SELECT lead_score.attach('RS own', 'rs.contacts', 'rs.events', '{"event_type": "kind", "event_time": "at"}');
-- A draft change, so that publish has something to write.
SELECT lead_score.add_rule('RS own', 'Demo', '{"kind": "event", "event": "demo", "points": 5}') > 0 AS added;
-- The documented editing GRANT, and adjust().
GRANT EXECUTE ON FUNCTION lead_score.create_profile, lead_score.update_profile,
    lead_score.drop_profile, lead_score.add_rule, lead_score.update_rule,
    lead_score.remove_rule, lead_score.publish, lead_score.revert_draft,
    lead_score.attach, lead_score.detach, lead_score.rescore(text),
    lead_score.rescore(text, text), lead_score.rescore(text, anyelement),
    lead_score.preview, lead_score.preview_summary, lead_score.train,
    lead_score.adjust(text, text, float8, text, interval), lead_score.tick(),
    lead_score.verify(text), lead_score.clear_tag(text, text, text)
    TO rs_editor;

-- What the extension keeps, before.
CREATE TEMP TABLE kept AS
SELECT (SELECT md5(string_agg(p::text, ',' ORDER BY p.id)) FROM lead_score.profile_store p) AS profiles,
       (SELECT md5(string_agg(r::text, ',' ORDER BY r.id)) FROM lead_score.rule_store r) AS rules,
       (SELECT md5(string_agg(a::text, ',' ORDER BY a.profile_id)) FROM lead_score.attachment_store a) AS attachments,
       (SELECT count(*) FROM lead_score.adjustment_store) AS adjustments,
       (SELECT count(*) FROM lead_score.change_log) AS changes;

-- The editor plants a function that does whatever rs.call says when rs.go is on.
SET ROLE rs_editor;
CREATE FUNCTION rs.act(x integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_setting('rs.go', true) IS DISTINCT FROM 'on' THEN
        RETURN x;
    END IF;
    CASE current_setting('rs.call')
    WHEN 'attach' THEN
        PERFORM lead_score.attach('RS steal', (SELECT c.oid FROM pg_class c WHERE c.relname = 'people')::regclass,
                                  (SELECT c.oid FROM pg_class c WHERE c.relname = 'reviews')::regclass,
                                  '{"event_contact": "person_id", "event_type": "kind", "event_time": "at"}');
    WHEN 'create_profile' THEN PERFORM lead_score.create_profile('RS planted');
    WHEN 'add_rule' THEN
        PERFORM lead_score.add_rule('RS own', 'Planted', '{"kind": "event", "event": "click", "points": 50}');
    WHEN 'publish' THEN PERFORM lead_score.publish('RS own');
    WHEN 'detach' THEN PERFORM lead_score.detach('RS own');
    WHEN 'rescore' THEN PERFORM lead_score.rescore('RS own');
    WHEN 'rescore one' THEN PERFORM lead_score.rescore('RS own', '1');
    WHEN 'adjust' THEN PERFORM lead_score.adjust('RS own', '1', 100, 'planted');
    WHEN 'tick' THEN PERFORM lead_score.tick();
    WHEN 'verify' THEN PERFORM lead_score.verify('RS own');
    WHEN 'clear_tag' THEN PERFORM lead_score.clear_tag('RS own', '1', NULL);
    END CASE;
    RETURN x;
END
$$;
CREATE TABLE rs.t (x integer);
CREATE INDEX ON rs.t (rs.act(x));
INSERT INTO rs.t VALUES (1);
CREATE MATERIALIZED VIEW rs.mv AS SELECT rs.act(1) AS x WITH NO DATA;
RESET ROLE;

-- Run by a superuser: ANALYZE evaluates the index expression, REFRESH the view's query,
-- each as rs_editor in a security-restricted operation.
CREATE FUNCTION pg_temp.planted(how text, call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('rs.go', 'on', true);
    PERFORM set_config('rs.call', call, true);
    IF how = 'analyze' THEN
        ANALYZE rs.t;
    ELSE
        REFRESH MATERIALIZED VIEW rs.mv;
    END IF;
    RETURN 'ran';
EXCEPTION WHEN insufficient_privilege THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT how, call, pg_temp.planted(how, call) AS outcome
  FROM (VALUES ('analyze', 'attach'), ('refresh', 'attach'), ('refresh', 'create_profile'),
               ('refresh', 'add_rule'), ('refresh', 'publish'), ('refresh', 'detach'),
               ('refresh', 'rescore'), ('refresh', 'rescore one'), ('refresh', 'adjust'),
               ('refresh', 'tick'), ('refresh', 'verify'), ('refresh', 'clear_tag')) AS c(how, call);

-- Nothing was written: the profiles, rules, attachments, adjustments and change log are
-- as they were, and the superuser's table is not attached.
SELECT (SELECT md5(string_agg(p::text, ',' ORDER BY p.id)) FROM lead_score.profile_store p) = k.profiles AS profiles_kept,
       (SELECT md5(string_agg(r::text, ',' ORDER BY r.id)) FROM lead_score.rule_store r) = k.rules AS rules_kept,
       (SELECT md5(string_agg(a::text, ',' ORDER BY a.profile_id)) FROM lead_score.attachment_store a) = k.attachments AS attachments_kept,
       (SELECT count(*) FROM lead_score.adjustment_store) = k.adjustments AS adjustments_kept,
       (SELECT count(*) FROM lead_score.change_log) = k.changes AS changes_kept
  FROM kept k;
SELECT count(*) AS hr_attached FROM lead_score.attachments WHERE profile = 'RS steal';

-- Outside a restricted operation the same calls work (the guard refuses the context,
-- not the functions): the editor attaches its own tables' profile again after a detach.
SET ROLE rs_editor;
SELECT lead_score.detach('RS own');
SELECT lead_score.attach('RS own', 'rs.contacts', 'rs.events', '{"event_type": "kind", "event_time": "at"}');
RESET ROLE;

SELECT lead_score.detach('RS own');
SELECT lead_score.drop_profile('RS own');
SELECT lead_score.drop_profile('RS steal');
DROP SCHEMA rs CASCADE;
DROP SCHEMA rs_hr CASCADE;
DROP OWNED BY rs_editor;
DROP ROLE rs_editor;
