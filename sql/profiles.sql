-- Editing profiles: create, update, drop; add, update, remove rules in the draft;
-- validate; publish a version; revert the draft to a version.
--
-- Each editing function is two: `lead_score.<name>`, the entry editors are granted, a C
-- function that notes the calling role (`GetUserId()`) and calls
-- `lead_score.<name>_for_caller` with the same arguments, which does the work:
-- SECURITY DEFINER (it writes the catalog tables, which nobody else may write) and
-- executable by nobody else, recording that role (see src/pg/api/rights.rs,
-- `lead_score_for_caller`). Neither is executable by PUBLIC; see docs/reference.md
-- ("Who may edit") for the GRANT that lets a role edit. Every function pins search_path. User values are only ever
-- parameters: no SQL is built from them. Each edit locks the profile's row, so edits
-- of one profile are serialised and validation sees what it publishes.

-- Helpers (not executable by PUBLIC) ------------------------------------------------

CREATE FUNCTION lead_score.check_name(what text, name text, max_bytes integer)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', what USING ERRCODE = '22004';
    ELSIF btrim(name) = '' THEN
        RAISE EXCEPTION '% must not be empty', what USING ERRCODE = '22023';
    ELSIF name <> btrim(name) THEN
        RAISE EXCEPTION '% "%" must not start or end with spaces', what, name USING ERRCODE = '22023';
    ELSIF octet_length(name) > max_bytes THEN
        RAISE EXCEPTION '% "%" is longer than % bytes', what, name, max_bytes USING ERRCODE = '22023';
    END IF;
END
$$;

CREATE FUNCTION lead_score.locked_profile(profile_name text)
RETURNS lead_score.profile_store LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    found_profile lead_score.profile_store;
BEGIN
    IF profile_name IS NULL THEN
        RAISE EXCEPTION 'profile name must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- Every function that changes a profile, its attachment, tags or adjustments locks
    -- it here first: none of them may run within a security-restricted operation (see
    -- the catalog tables' guard trigger in sql/finalize.sql).
    IF lead_score.in_restricted_operation() THEN
        RAISE EXCEPTION 'pg_lead_score: profile "%" cannot be changed within a security-restricted operation', profile_name
            USING ERRCODE = '42501',
                  HINT = 'Index expressions, ANALYZE, autovacuum and REFRESH MATERIALIZED VIEW run functions this way; call the extension''s functions directly.';
    END IF;
    -- FOR NO KEY UPDATE serialises the functions that change the profile, and lets the
    -- CRM's writers through: a tag or an adjustment they write references this row,
    -- and its foreign key check locks it FOR KEY SHARE. (FOR UPDATE made them wait for
    -- the editor's transaction, which deadlocked with a publish waiting for them.)
    SELECT * INTO found_profile FROM lead_score.profile_store p WHERE p.name = profile_name FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile_name USING ERRCODE = '42704';
    END IF;
    RETURN found_profile;
END
$$;

CREATE FUNCTION lead_score.log_change(profile text, action text, rule_name text,
                                      version integer, old jsonb, new jsonb)
RETURNS void LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    INSERT INTO lead_score.change_log (at, by, profile, action, rule_name, version, old, new)
    VALUES (clock_timestamp(), lead_score.acting_role(), $1, $2, $3, $4, $5, $6)
$$;

CREATE FUNCTION lead_score.check_settings(profile text, settings jsonb)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    problem text := lead_score.settings_problem(settings);
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'profile "%", settings: %', profile, problem USING ERRCODE = '22023';
    END IF;
END
$$;

CREATE FUNCTION lead_score.check_rule(profile text, rule_name text, rule jsonb)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    problem text;
BEGIN
    PERFORM lead_score.check_name(format('profile "%s": rule name', profile), rule_name, 200);
    IF rule IS NULL THEN
        RAISE EXCEPTION 'profile "%", rule "%": the rule must not be NULL', profile, rule_name
            USING ERRCODE = '22004';
    END IF;
    problem := lead_score.rule_problem(rule);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'profile "%", rule "%": %', profile, rule_name, problem USING ERRCODE = '22023';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lead_score.check_name(text, text, integer),
                       lead_score.locked_profile(text),
                       lead_score.log_change(text, text, text, integer, jsonb, jsonb),
                       lead_score.check_settings(text, jsonb),
                       lead_score.check_rule(text, text, jsonb),
                       lead_score.forbid_editing_published()
    FROM PUBLIC;

-- Profiles --------------------------------------------------------------------------

CREATE FUNCTION lead_score.create_profile_for_caller(name text, description text,
                                                     settings jsonb)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    new_id bigint;
    actor text := lead_score.acting_role();
BEGIN
    PERFORM lead_score.check_name('profile name', name, 63);
    settings := coalesce(settings, '{}');
    PERFORM lead_score.check_settings(name, settings);
    INSERT INTO lead_score.profile_store AS p
           (name, description, settings, created_at, created_by, updated_at, updated_by)
    VALUES (name, nullif(description, ''), settings, now(), actor, now(), actor)
    ON CONFLICT ON CONSTRAINT profile_store_name_key DO NOTHING
    RETURNING p.id INTO new_id;
    IF new_id IS NULL THEN
        RAISE EXCEPTION 'profile "%" already exists', name USING ERRCODE = '23505';
    END IF;
    PERFORM lead_score.log_change(name, 'create_profile', NULL, NULL, NULL,
        jsonb_build_object('description', description, 'settings', settings));
    RETURN new_id;
END
$$;

CREATE FUNCTION lead_score.create_profile(name text, description text DEFAULT NULL,
                                          settings jsonb DEFAULT '{}')
RETURNS bigint LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

CREATE FUNCTION lead_score.update_profile_for_caller(name text, new_name text,
                                                     description text,
                                                     settings jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(name);
    merged jsonb := target.settings;
BEGIN
    IF new_name IS NOT NULL AND new_name IS DISTINCT FROM target.name THEN
        PERFORM lead_score.check_name('profile name', new_name, 63);
        IF EXISTS (SELECT FROM lead_score.profile_store p WHERE p.name = new_name) THEN
            RAISE EXCEPTION 'profile "%" already exists', new_name USING ERRCODE = '23505';
        END IF;
    END IF;
    IF settings IS NOT NULL THEN
        IF jsonb_typeof(settings) <> 'object' THEN
            PERFORM lead_score.check_settings(target.name, settings);  -- raises: not an object
        END IF;
        -- Keys given replace the draft's; a key given as null goes back to its default.
        SELECT coalesce(jsonb_object_agg(key, value), '{}') INTO merged
          FROM jsonb_each(target.settings || settings) WHERE value <> 'null';
        PERFORM lead_score.check_settings(target.name, merged);
    END IF;
    UPDATE lead_score.profile_store p
       SET name = coalesce(new_name, p.name),
           description = CASE WHEN description IS NULL THEN p.description
                              ELSE nullif(description, '') END,
           settings = merged,
           updated_at = now(),
           updated_by = lead_score.acting_role()
     WHERE p.id = target.id;
    PERFORM lead_score.log_change(coalesce(new_name, target.name), 'update_profile', NULL, NULL,
        jsonb_build_object('name', target.name, 'description', target.description,
                           'settings', target.settings),
        jsonb_strip_nulls(jsonb_build_object('name', new_name, 'description', description,
                                             'settings', CASE WHEN settings IS NOT NULL THEN merged END)));
    -- Backends cache attached profiles by name (and record it in transitions): a new
    -- name must reach them. The transitions already recorded, keyed by the profile's
    -- name, take the new one too: forget() erases a contact's by the current name, and
    -- readers find a profile's whole history under one name.
    IF new_name IS NOT NULL AND new_name IS DISTINCT FROM target.name THEN
        UPDATE lead_score.transitions t SET profile = new_name WHERE t.profile = target.name;
        PERFORM lead_score.invalidate_scoring_cache();
    END IF;
END
$$;

CREATE FUNCTION lead_score.update_profile(name text, new_name text DEFAULT NULL,
                                          description text DEFAULT NULL,
                                          settings jsonb DEFAULT NULL)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

CREATE FUNCTION lead_score.drop_profile_for_caller(name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(name);
BEGIN
    IF EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = target.id) THEN
        PERFORM lead_score.detach_for_caller(target.name);
    END IF;
    DELETE FROM lead_score.profile_store p WHERE p.id = target.id;
    PERFORM lead_score.log_change(target.name, 'drop_profile', NULL, target.active_version,
        jsonb_build_object('description', target.description, 'settings', target.settings), NULL);
END
$$;

CREATE FUNCTION lead_score.drop_profile(name text)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

-- Rules in the draft ----------------------------------------------------------------

CREATE FUNCTION lead_score.add_rule_for_caller(profile text, rule_name text, rule jsonb)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    actor text := lead_score.acting_role();
    new_id bigint;
BEGIN
    PERFORM lead_score.check_rule(target.name, rule_name, rule);
    IF EXISTS (SELECT FROM lead_score.rule_store r
                WHERE r.profile_id = target.id AND r.version IS NULL AND r.name = rule_name) THEN
        RAISE EXCEPTION 'profile "%" already has a rule named "%"', target.name, rule_name
            USING ERRCODE = '23505', HINT = 'Use lead_score.update_rule() to change it.';
    END IF;
    INSERT INTO lead_score.rule_store AS r
           (profile_id, version, name, kind, body, created_at, created_by, updated_at, updated_by)
    VALUES (target.id, NULL, rule_name, rule ->> 'kind', rule, now(), actor, now(), actor)
    RETURNING r.id INTO new_id;
    PERFORM lead_score.log_change(target.name, 'add_rule', rule_name, NULL, NULL, rule);
    RETURN new_id;
END
$$;

CREATE FUNCTION lead_score.add_rule(profile text, rule_name text, rule jsonb)
RETURNS bigint LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

CREATE FUNCTION lead_score.update_rule_for_caller(profile text, rule_name text, rule jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    previous jsonb;
BEGIN
    PERFORM lead_score.check_rule(target.name, rule_name, rule);
    SELECT r.body INTO previous FROM lead_score.rule_store r
     WHERE r.profile_id = target.id AND r.version IS NULL AND r.name = rule_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" has no rule named "%" in its draft', target.name, rule_name
            USING ERRCODE = '42704', HINT = 'Use lead_score.add_rule() to add it.';
    END IF;
    UPDATE lead_score.rule_store r
       SET kind = rule ->> 'kind', body = rule, updated_at = now(), updated_by = lead_score.acting_role()
     WHERE r.profile_id = target.id AND r.version IS NULL AND r.name = rule_name;
    PERFORM lead_score.log_change(target.name, 'update_rule', rule_name, NULL, previous, rule);
END
$$;

CREATE FUNCTION lead_score.update_rule(profile text, rule_name text, rule jsonb)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

CREATE FUNCTION lead_score.remove_rule_for_caller(profile text, rule_name text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    previous jsonb;
BEGIN
    DELETE FROM lead_score.rule_store r
     WHERE r.profile_id = target.id AND r.version IS NULL AND r.name = rule_name
    RETURNING r.body INTO previous;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" has no rule named "%" in its draft', target.name, rule_name
            USING ERRCODE = '42704';
    END IF;
    PERFORM lead_score.log_change(target.name, 'remove_rule', rule_name, NULL, previous, NULL);
END
$$;

CREATE FUNCTION lead_score.remove_rule(profile text, rule_name text)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

-- Validate, publish, revert ---------------------------------------------------------

-- Everything that would stop the draft from being published; empty when publishable.
-- Problems of the profile as a whole have rule_name NULL and come first.
CREATE FUNCTION lead_score.validate(profile text)
RETURNS TABLE(rule_name text, problem text) LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF profile IS NULL THEN
        RAISE EXCEPTION 'profile name must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM lead_score.profiles p WHERE p.name = profile) THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = '42704';
    END IF;
    RETURN QUERY
    SELECT found.rule_name, found.problem FROM (
        SELECT NULL::text AS rule_name, 'settings: ' || s.problem AS problem
          FROM lead_score.profiles p,
               LATERAL (SELECT lead_score.settings_problem(p.draft_settings) AS problem) s
         WHERE p.name = profile AND s.problem IS NOT NULL
        UNION ALL
        SELECT NULL, 'the draft has no rules; add one with lead_score.add_rule()'
          FROM lead_score.profiles p
         WHERE p.name = profile AND p.draft_rules = 0
        UNION ALL
        SELECT r.rule_name, c.problem
          FROM lead_score.rules r,
               LATERAL (SELECT lead_score.rule_problem(r.rule) AS problem) c
         WHERE r.profile = profile AND r.is_draft AND c.problem IS NOT NULL
        UNION ALL
        -- Once attached, every field must name a column of the attached tables.
        SELECT f.rule_name, f.problem
          FROM lead_score.field_problems(
                   (SELECT p.id FROM lead_score.profile_store p WHERE p.name = profile), true) f
    ) found
    ORDER BY found.rule_name NULLS FIRST, found.problem;
END
$$;

CREATE FUNCTION lead_score.publish_for_caller(profile text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    problems text[];
    unpublished boolean;
    next_version integer;
    actor text := lead_score.acting_role();
BEGIN
    SELECT array_agg(CASE WHEN v.rule_name IS NULL THEN v.problem
                          ELSE format('rule "%s": %s', v.rule_name, v.problem) END)
      INTO problems FROM lead_score.validate(target.name) v;
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION 'profile "%" cannot be published: %', target.name, problems[1]
            USING ERRCODE = '22023',
                  DETAIL = format('%s problem(s): %s', cardinality(problems), array_to_string(problems, '; ')),
                  HINT = format('SELECT * FROM lead_score.validate(%L) lists them.', target.name);
    END IF;

    -- Routing must fit the attached contacts table: its column (42703), the owners'
    -- values its type reads (22P02, 22023).
    PERFORM lead_score.check_routing(target.name, target.settings, a.contacts::oid, a.contact_key::text)
       FROM lead_score.attachment_store a WHERE a.profile_id = target.id;

    SELECT p.has_unpublished_changes INTO unpublished FROM lead_score.profiles p WHERE p.name = target.name;
    IF NOT unpublished THEN
        RAISE NOTICE 'profile "%" has no unpublished changes; version % stays active',
            target.name, target.active_version;
        RETURN target.active_version;
    END IF;

    SELECT coalesce(max(v.version), 0) + 1 INTO next_version
      FROM lead_score.version_store v WHERE v.profile_id = target.id;
    INSERT INTO lead_score.version_store (profile_id, version, settings, published_at, published_by)
    VALUES (target.id, next_version, target.settings, now(), actor);
    INSERT INTO lead_score.rule_store
           (profile_id, version, name, kind, body, created_at, created_by, updated_at, updated_by)
    SELECT r.profile_id, next_version, r.name, r.kind, r.body, r.created_at, r.created_by,
           r.updated_at, r.updated_by
      FROM lead_score.rule_store r
     WHERE r.profile_id = target.id AND r.version IS NULL;
    UPDATE lead_score.profile_store p SET active_version = next_version WHERE p.id = target.id;
    -- Backends' cached versions are stale from the commit on.
    PERFORM lead_score.invalidate_scoring_cache();
    -- An attached profile is rescored from the full history with the new version.
    IF EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = target.id) THEN
        PERFORM lead_score.rescore_for(target.name, 'publish');
    END IF;
    PERFORM lead_score.log_change(target.name, 'publish', NULL, next_version,
        CASE WHEN target.active_version IS NOT NULL THEN jsonb_build_object('version', target.active_version) END,
        jsonb_build_object('version', next_version, 'settings', target.settings,
                           'rules', (SELECT count(*) FROM lead_score.rule_store r
                                      WHERE r.profile_id = target.id AND r.version = next_version)));
    RETURN next_version;
END
$$;

CREATE FUNCTION lead_score.publish(profile text)
RETURNS integer LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

-- Make the draft a copy of a published version (default: the active one), to discard
-- draft edits or, followed by publish, to roll back.
CREATE FUNCTION lead_score.revert_draft_for_caller(profile text, version integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    source_version lead_score.version_store;
BEGIN
    IF coalesce(version, target.active_version) IS NULL THEN
        RAISE EXCEPTION 'profile "%" has never been published; there is no version to revert to',
            target.name USING ERRCODE = '22023';
    END IF;
    SELECT * INTO source_version FROM lead_score.version_store v
     WHERE v.profile_id = target.id AND v.version = coalesce(revert_draft_for_caller.version, target.active_version);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" has no version %', target.name, version USING ERRCODE = '42704';
    END IF;
    DELETE FROM lead_score.rule_store r WHERE r.profile_id = target.id AND r.version IS NULL;
    INSERT INTO lead_score.rule_store
           (profile_id, version, name, kind, body, created_at, created_by, updated_at, updated_by)
    SELECT r.profile_id, NULL, r.name, r.kind, r.body, r.created_at, r.created_by,
           r.updated_at, r.updated_by
      FROM lead_score.rule_store r
     WHERE r.profile_id = target.id AND r.version = source_version.version;
    UPDATE lead_score.profile_store p
       SET settings = source_version.settings, updated_at = now(), updated_by = lead_score.acting_role()
     WHERE p.id = target.id;
    PERFORM lead_score.log_change(target.name, 'revert_draft', NULL, source_version.version, NULL, NULL);
END
$$;

CREATE FUNCTION lead_score.revert_draft(profile text, version integer DEFAULT NULL)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

REVOKE ALL ON FUNCTION lead_score.create_profile(text, text, jsonb),
                       lead_score.update_profile(text, text, text, jsonb),
                       lead_score.drop_profile(text),
                       lead_score.add_rule(text, text, jsonb),
                       lead_score.update_rule(text, text, jsonb),
                       lead_score.remove_rule(text, text),
                       lead_score.publish(text),
                       lead_score.revert_draft(text, integer),
                       lead_score.create_profile_for_caller(text, text, jsonb),
                       lead_score.update_profile_for_caller(text, text, text, jsonb),
                       lead_score.drop_profile_for_caller(text),
                       lead_score.add_rule_for_caller(text, text, jsonb),
                       lead_score.update_rule_for_caller(text, text, jsonb),
                       lead_score.remove_rule_for_caller(text, text),
                       lead_score.publish_for_caller(text),
                       lead_score.revert_draft_for_caller(text, integer)
    FROM PUBLIC;
