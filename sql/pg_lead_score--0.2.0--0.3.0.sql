-- pg_lead_score 0.2.0 -> 0.3.0, run by ALTER EXTENSION pg_lead_score UPDATE.
-- Frozen once 0.3.0 is released; until then every change to the SQL surface lands here
-- too, and tests/upgrade proves that a database updated from 0.1.0 or 0.2.0 equals a
-- fresh 0.3.0 install. The shared library keeps every C symbol 0.2.0's script names,
-- so 0.2.0's SQL works with the new library until this runs.
\echo Use "ALTER EXTENSION pg_lead_score UPDATE" to load this file. \quit

-- Issue 26, item 4: manual adjustments stay with the contacts table (and key column)
-- they were made on. 0.2.0 kept them by profile and contact key only: a profile
-- detached and attached to other tables gave their points and reasons to the contacts
-- of those tables with the same key, and a table keyed by another type made the
-- policy's cast fail (22P02) for every role but the owner.
--
-- The columns, as sql/adjustments.sql has them (last, as ADD COLUMN puts them).
ALTER TABLE lead_score.adjustment_store ADD COLUMN contacts regclass, ADD COLUMN key_column name;
-- The adjustments of an attached profile were made on the tables it is attached to:
-- 0.2.0's detach kept them, and counted them for whatever the profile was attached to
-- next, so the current attachment is the one they count for now (recorded by
-- upgrade_attachments() below, which does the same after restoring a 0.2.0 dump). Those
-- of a profile that is not attached now get '-' (oid 0, no table): the table they were
-- made on is recorded nowhere, so no attachment counts them again or shows them (the
-- owner of lead_score.adjustment_store still reads them there; forget() and
-- drop_profile() still erase them).
UPDATE lead_score.adjustment_store a
   SET contacts = 0::pg_catalog.oid::pg_catalog.regclass
 WHERE NOT EXISTS (SELECT FROM lead_score.attachment_store s WHERE s.profile_id OPERATOR(pg_catalog.=) a.profile_id);
-- Bring the objects attach() made in an older version up to this version's layout:
-- run by ALTER EXTENSION ... UPDATE, and by hand after restoring a dump taken from an
-- older version. Returns how many profiles it changed. (Issue 26, item 5: it writes no
-- policy for an attachment whose contacts table was dropped, as the 0.1.0--0.2.0 script
-- now does too. From 0.2.0 nothing here reads an attached table: an attachment that
-- lost its contacts or events table keeps its oid, in the adjustments too, and stays
-- broken, 55000 when used, until detached; tests/upgrade shows both.)
CREATE OR REPLACE FUNCTION lead_score.upgrade_attachments()
RETURNS integer LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    att lead_score.attachment_store;
    changed integer := 0;
BEGIN
    FOR att IN
        SELECT * FROM lead_score.attachment_store a
         WHERE a.objects_version OPERATOR(pg_catalog.<) lead_score.objects_version()
         ORDER BY a.profile_id FOR UPDATE
    LOOP
        -- 1 -> 2: the policy qualifies the key and lets the contacts' owner read all.
        IF att.objects_version OPERATOR(pg_catalog.<) 2 THEN
            EXECUTE format('DROP POLICY IF EXISTS visible_contacts ON lead_score.%I', att.state_table);
            -- A contacts table dropped since (DROP TABLE ... CASCADE dropped the old
            -- policy with it) has no name to write into a new one: the state table keeps
            -- none, so only its owner reads it, as when a 0.2.0 attachment loses its
            -- contacts table. The attachment stays broken (55000 when used) until detached.
            IF EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) att.contacts) THEN
                PERFORM lead_score.create_visibility_policy(att.state_table, att.contacts, att.contact_key);
            END IF;
            -- The scores view gains its likelihood column.
            PERFORM lead_score.rebuild_scores_view(att.view_name, att.contact_key, att.state_table, att.profile_id);
        END IF;
        UPDATE lead_score.attachment_store a SET objects_version = lead_score.objects_version()
         WHERE a.profile_id OPERATOR(pg_catalog.=) att.profile_id;
        changed := changed OPERATOR(pg_catalog.+) 1;
    END LOOP;
    IF changed OPERATOR(pg_catalog.>) 0 THEN
        PERFORM lead_score.invalidate_scoring_cache();
    END IF;
    -- Adjustments restored from a 0.2.0 dump name no contacts table: they were made on
    -- the tables their profile is attached to, as ALTER EXTENSION ... UPDATE records.
    UPDATE lead_score.adjustment_store a
       SET contacts = s.contacts, key_column = s.contact_key
      FROM lead_score.attachment_store s
     WHERE s.profile_id OPERATOR(pg_catalog.=) a.profile_id AND a.contacts IS NULL;
    RETURN changed;
END
$$;
SELECT lead_score.upgrade_attachments();
-- The policy names the table and key column of each row: may_see_contact takes them.
DROP POLICY visible_contacts ON lead_score.adjustment_store;
DROP FUNCTION lead_score.may_see_contact(bigint, text);
-- Whether the calling role may see the contact `contact_key` (of column `key_column`
-- of table `contacts`) of a profile, as the profile's scores view decides: the
-- contacts table's owner (and its members) sees every contact; others see the contacts
-- they may SELECT, under the table's row-level security. A contact of a table (or key
-- column) the profile is not attached to now, or of a profile that is not attached, is
-- shown to nobody but the owner of the adjustments. Runs as the caller (never as the
-- extension's owner, which is not subject to the policy below): the key is compared in
-- its own type, a built-in one, and never raises: a key that is not one as the key
-- type prints it is nobody's.
CREATE FUNCTION lead_score.may_see_contact(profile_id bigint, contacts regclass, key_column name,
                                           contact_key text)
RETURNS boolean LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    att lead_score.attachment_store;
    bound numeric;
    seen boolean;
BEGIN
    SELECT * INTO att FROM lead_score.attachment_store a WHERE a.profile_id OPERATOR(pg_catalog.=) profile_id;
    IF NOT FOUND OR att.contacts IS DISTINCT FROM contacts OR att.contact_key IS DISTINCT FROM key_column THEN
        RETURN false;
    END IF;
    IF (SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c
         WHERE c.oid OPERATOR(pg_catalog.=) att.contacts) THEN
        RETURN true;
    END IF;
    -- (NULL, not false, for a table dropped since: no.)
    IF pg_catalog.has_column_privilege(att.contacts, att.contact_key, 'SELECT') IS NOT TRUE THEN
        RETURN false;
    END IF;
    -- The cast below must not raise (22P02, 22003) for a key written while the column
    -- had another type: only a key spelled as the key type prints it is tried.
    IF att.key_type OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.int2', 'pg_catalog.int4', 'pg_catalog.int8']::regtype[]) THEN
        IF contact_key OPERATOR(pg_catalog.!~) '^(0|-?[1-9][0-9]{0,18})$' THEN
            RETURN false;
        END IF;
        bound := CASE att.key_type WHEN 'pg_catalog.int2'::regtype THEN 32767
                                   WHEN 'pg_catalog.int4'::regtype THEN 2147483647
                                   ELSE 9223372036854775807 END;
        IF contact_key::numeric OPERATOR(pg_catalog.>) bound
           OR contact_key::numeric OPERATOR(pg_catalog.<) (0 OPERATOR(pg_catalog.-) bound OPERATOR(pg_catalog.-) 1) THEN
            RETURN false;
        END IF;
    ELSIF att.key_type OPERATOR(pg_catalog.=) 'pg_catalog.uuid'::regtype
          AND contact_key OPERATOR(pg_catalog.!~) '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN
        RETURN false;
    END IF;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM ONLY %s c WHERE c.%I OPERATOR(pg_catalog.=) $1::%s)',
                              att.contacts, att.contact_key, att.key_type)
       INTO seen USING contact_key;
    RETURN seen;
END
$$;

-- Everyone may read the adjustments of the contacts they may see.
CREATE POLICY visible_contacts ON lead_score.adjustment_store FOR SELECT
    USING (lead_score.may_see_contact(profile_id, contacts, key_column, contact_key));
-- Backends holding an attachment loaded under 0.2.0's SQL load it again, and with it
-- the readers of the new columns.
SELECT lead_score.invalidate_scoring_cache();

-- Issue 26, item 8: renaming a profile renames the transitions recorded under its old
-- name, so forget() (which erases by the current name) misses none. (The transitions
-- keep the name, not the id: consumers and notifications read it.) update_profile()'s
-- new body is update_profile_for_caller() below.

-- Issue 26, item 5: attach refuses a contacts key or events contact column under a
-- non-deterministic collation (0A000): under it the CRM's = makes one contact of keys
-- scoring tells apart, and that contact's events were lost silently. attach()'s new
-- body is attach_for_caller() below.

-- Issue 26, item 1 (in part): nothing changes profiles, versions, rules, attachments or
-- adjustments inside a security-restricted operation (see sql/finalize.sql).
CREATE  FUNCTION lead_score."in_restricted_operation"() RETURNS bool /* bool */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'in_restricted_operation_wrapper';
CREATE FUNCTION lead_score.refuse_restricted_writes() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
BEGIN
    IF lead_score.in_restricted_operation() THEN
        RAISE EXCEPTION 'pg_lead_score: % on lead_score.% is not allowed within a security-restricted operation',
                        TG_OP, TG_TABLE_NAME
            USING ERRCODE = '42501',
                  HINT = 'Index expressions, ANALYZE, autovacuum and REFRESH MATERIALIZED VIEW run functions this way; call the extension''s functions directly.';
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION lead_score.refuse_restricted_writes() FROM PUBLIC;
CREATE TRIGGER refuse_restricted_writes BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_score.profile_store
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.refuse_restricted_writes();
CREATE TRIGGER refuse_restricted_writes BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_score.version_store
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.refuse_restricted_writes();
CREATE TRIGGER refuse_restricted_writes BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_score.rule_store
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.refuse_restricted_writes();
CREATE TRIGGER refuse_restricted_writes BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_score.change_log
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.refuse_restricted_writes();
CREATE TRIGGER refuse_restricted_writes BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_score.attachment_store
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.refuse_restricted_writes();
CREATE TRIGGER refuse_restricted_writes BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON lead_score.adjustment_store
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.refuse_restricted_writes();

-- Every function that changes a profile locks it through locked_profile(), which now
-- refuses to run within a security-restricted operation (clear_tag() writes no catalog table).
CREATE OR REPLACE FUNCTION lead_score.locked_profile(profile_name text)
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
    SELECT * INTO found_profile FROM lead_score.profile_store p WHERE p.name = profile_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile_name USING ERRCODE = '42704';
    END IF;
    RETURN found_profile;
END
$$;

-- Issue 26, item 1: the role calling is authorised and recorded (GetUserId()), not the
-- session's. 0.2.0's editing functions were SECURITY DEFINER, where only the session's
-- role is left to see: an editor's SECURITY DEFINER function run by a superuser attached
-- the superuser's tables. Each is now an entry (a C function, SECURITY INVOKER, keeping
-- the function's oid and the GRANTs DBAs made on it) that notes the calling role and
-- calls <name>_for_caller, which holds the body and runs as the owner, executable by
-- nobody else (src/pg/identity.rs, `lead_score_for_caller`).

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

CREATE OR REPLACE FUNCTION lead_score.create_profile(name text, description text DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION lead_score.update_profile(name text, new_name text DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION lead_score.drop_profile(name text)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


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

CREATE OR REPLACE FUNCTION lead_score.add_rule(profile text, rule_name text, rule jsonb)
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

CREATE OR REPLACE FUNCTION lead_score.update_rule(profile text, rule_name text, rule jsonb)
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

CREATE OR REPLACE FUNCTION lead_score.remove_rule(profile text, rule_name text)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


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

CREATE OR REPLACE FUNCTION lead_score.publish(profile text)
RETURNS integer LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


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

CREATE OR REPLACE FUNCTION lead_score.revert_draft(profile text, version integer DEFAULT NULL)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


CREATE FUNCTION lead_score.attach_for_caller(profile text, contacts regclass, events regclass,
                                             options jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    actor text := lead_score.acting_role();
    known_options constant text[] := ARRAY['contact_key', 'event_contact', 'event_type', 'event_time',
                                           'event_props', 'accounts', 'contact_account', 'account_key', 'view'];
    unknown text;
    contact_key name;
    key_type regtype;
    event_contact name := coalesce(options ->> 'event_contact', 'contact_id');
    event_type name := coalesce(options ->> 'event_type', 'event_type');
    event_time name := coalesce(options ->> 'event_time', 'occurred_at');
    event_props name := options ->> 'event_props';
    accounts regclass;
    contact_account name;
    account_key name;
    view_name text := coalesce(options ->> 'view', target.name || '_scores');
    state_table name := 'state_' || target.id;
    problem record;
    relation regclass;
    trigger_row record;
BEGIN
    IF contacts IS NULL OR events IS NULL THEN
        RAISE EXCEPTION 'attach needs the contacts and the events tables' USING ERRCODE = '22004';
    END IF;
    IF EXISTS (SELECT FROM lead_score.attachment_store s WHERE s.profile_id = target.id) THEN
        RAISE EXCEPTION 'profile "%" is already attached', target.name
            USING ERRCODE = '42710', HINT = 'Detach it first with lead_score.detach().';
    END IF;
    IF target.active_version IS NULL THEN
        RAISE EXCEPTION 'profile "%" has not been published yet', target.name
            USING ERRCODE = '55000', HINT = 'Publish it with lead_score.publish() before attaching it.';
    END IF;
    options := coalesce(options, '{}');
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'attach options must be a JSON object' USING ERRCODE = '22023';
    END IF;
    SELECT k INTO unknown FROM jsonb_object_keys(options) k WHERE k <> ALL (known_options) LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown attach option "%"; expected one of %', unknown, array_to_string(known_options, ', ')
            USING ERRCODE = '22023';
    END IF;
    IF octet_length(view_name) > 63 THEN
        RAISE EXCEPTION 'the scores relation name "%" is longer than 63 bytes', view_name
            USING ERRCODE = '42622', HINT = 'Name it with the "view" option.';
    END IF;
    IF to_regclass('lead_score.' || quote_ident(view_name)) IS NOT NULL THEN
        RAISE EXCEPTION 'relation lead_score.% already exists', quote_ident(view_name)
            USING ERRCODE = '42P07', HINT = 'Name the scores relation with the "view" option.';
    END IF;

    -- The accounts table, named in JSON: an unqualified name is looked up in the
    -- contacts table's schema (this function's search_path is pinned, not the caller's).
    IF options ? 'accounts' THEN
        DECLARE
            parts text[] := parse_ident(options ->> 'accounts');
        BEGIN
            IF cardinality(parts) = 1 THEN
                parts := ARRAY[(SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE c.oid = contacts)] || parts;
            END IF;
            accounts := to_regclass(quote_ident(parts[1]) || '.' || quote_ident(parts[2]));
            IF accounts IS NULL OR cardinality(parts) > 2 THEN
                RAISE EXCEPTION 'relation "%" does not exist (option "accounts")', options ->> 'accounts'
                    USING ERRCODE = '42P01';
            END IF;
        END;
    END IF;

    -- Only the owner of a table may put triggers on it through us.
    FOREACH relation IN ARRAY ARRAY[contacts, events, accounts] LOOP
        CONTINUE WHEN relation IS NULL;
        IF NOT pg_has_role(actor, (SELECT c.relowner FROM pg_class c WHERE c.oid = relation), 'USAGE') THEN
            RAISE EXCEPTION 'must be the owner of % to attach a profile to it', relation USING ERRCODE = '42501';
        END IF;
        -- Tables whose writes the statement triggers would not all see are refused: a
        -- partitioned table's partitions take rows written to them directly, and a
        -- partition takes rows written through its parent, without firing them.
        IF (SELECT c.relkind FROM pg_class c WHERE c.oid = relation) = 'p' THEN
            RAISE EXCEPTION '% is a partitioned table, which pg_lead_score cannot keep current', relation
                USING ERRCODE = '0A000',
                      HINT = 'Writes straight into a partition would not be scored. Attach an unpartitioned table.';
        END IF;
        IF (SELECT c.relispartition FROM pg_class c WHERE c.oid = relation) THEN
            RAISE EXCEPTION '% is a partition, which pg_lead_score cannot keep current', relation
                USING ERRCODE = '0A000',
                      HINT = 'Writes through its parent table would not be scored. Attach an unpartitioned table.';
        END IF;
        IF (SELECT c.relkind FROM pg_class c WHERE c.oid = relation) <> 'r' THEN
            RAISE EXCEPTION '% is not a table', relation USING ERRCODE = '42809';
        END IF;
        -- Citus routes writes to distributed tables to shards on other nodes, where
        -- these triggers never fire.
        IF EXISTS (SELECT FROM pg_extension e WHERE e.extname = 'citus')
           AND to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
            DECLARE
                distributed boolean;
            BEGIN
                EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition d WHERE d.logicalrelid OPERATOR(pg_catalog.=) $1)'
                    INTO distributed USING relation;
                IF distributed THEN
                    RAISE EXCEPTION '% is a Citus distributed table, which pg_lead_score cannot keep current', relation
                        USING ERRCODE = '0A000';
                END IF;
            END;
        END IF;
    END LOOP;
    -- Scoring reads the attached tables as their owner (see the README's security
    -- model): one owner for all of them, so nobody's code runs as anyone else.
    IF EXISTS (SELECT FROM pg_class c WHERE c.oid IN (events, accounts)
                 AND c.relowner <> (SELECT o.relowner FROM pg_class o WHERE o.oid = contacts)) THEN
        RAISE EXCEPTION 'the contacts, events and accounts tables must have the same owner'
            USING ERRCODE = '55000',
                  HINT = 'Scoring reads them as their owner; ALTER TABLE ... OWNER TO one role.';
    END IF;

    -- The contacts' key: named, or the single-column primary key.
    contact_key := coalesce(options ->> 'contact_key', lead_score.primary_key_column(contacts));
    IF contact_key IS NULL THEN
        RAISE EXCEPTION '% has no single-column primary key', contacts
            USING ERRCODE = '42P10', HINT = 'Name its key column with the "contact_key" option.';
    END IF;
    key_type := lead_score.attached_column(contacts, contact_key, 'contact_key');
    -- Score rows are keyed by the contacts' key: two contacts sharing one would share a
    -- row, and a write touching both would fail.
    IF NOT EXISTS (SELECT FROM pg_index i
                    -- (Checked at once and valid: a deferred check lets a statement's
                    -- triggers see two rows with one key.)
                    WHERE i.indrelid = contacts AND i.indisunique AND i.indimmediate AND i.indisvalid
                      AND i.indnkeyatts = 1
                      AND i.indpred IS NULL AND i.indexprs IS NULL
                      AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a
                                          WHERE a.attrelid = contacts AND a.attname = contact_key)) THEN
        RAISE EXCEPTION 'column "%" of % is not unique', contact_key, contacts
            USING ERRCODE = '42P10',
                  HINT = 'Name a column with a unique index on it alone as "contact_key".';
    END IF;
    PERFORM lead_score.expect_type(contacts, contact_key, 'contact_key', key_type,
        ARRAY['bigint', 'integer', 'uuid', 'text', 'character varying']::regtype[]);
    PERFORM lead_score.expect_type(events, event_contact, 'event_contact',
        lead_score.attached_column(events, event_contact, 'event_contact'), ARRAY[key_type]);
    -- Scores are kept and matched by the key as its type's own equality sees it: under a
    -- non-deterministic collation the CRM's = makes one contact of keys that equality
    -- tells apart ('ALICE@X.COM', 'Alice@x.com'), and that contact's events would be
    -- lost silently.
    FOR problem IN
        SELECT k.relation, k.column_name, l.oid::regcollation AS collation_name
          FROM (VALUES (contacts, contact_key), (events, event_contact)) AS k(relation, column_name)
          JOIN pg_attribute a ON a.attrelid = k.relation AND a.attname = k.column_name
          JOIN pg_collation l ON l.oid = a.attcollation
         WHERE NOT l.collisdeterministic
    LOOP
        RAISE EXCEPTION 'column "%" of relation % has the non-deterministic collation %',
            problem.column_name, problem.relation, problem.collation_name
            USING ERRCODE = '0A000',
                  HINT = 'Key columns need a deterministic collation: attach a column without one (e.g. COLLATE "C").';
    END LOOP;
    PERFORM lead_score.expect_type(events, event_type, 'event_type',
        lead_score.attached_column(events, event_type, 'event_type'), ARRAY['text', 'character varying']::regtype[]);
    PERFORM lead_score.expect_type(events, event_time, 'event_time',
        lead_score.attached_column(events, event_time, 'event_time'),
        ARRAY['timestamp with time zone', 'timestamp without time zone', 'date']::regtype[]);
    IF event_props IS NOT NULL THEN
        PERFORM lead_score.expect_type(events, event_props, 'event_props',
            lead_score.attached_column(events, event_props, 'event_props'), ARRAY['jsonb', 'json']::regtype[]);
    END IF;
    IF accounts IS NOT NULL THEN
        account_key := coalesce(options ->> 'account_key', lead_score.primary_key_column(accounts));
        IF account_key IS NULL THEN
            RAISE EXCEPTION '% has no single-column primary key', accounts
                USING ERRCODE = '42P10', HINT = 'Name its key column with the "account_key" option.';
        END IF;
        contact_account := coalesce(options ->> 'contact_account', 'account_id');
        PERFORM lead_score.expect_type(contacts, contact_account, 'contact_account',
            lead_score.attached_column(contacts, contact_account, 'contact_account'),
            ARRAY[lead_score.attached_column(accounts, account_key, 'account_key')]);
    ELSIF options ?| ARRAY['contact_account', 'account_key'] THEN
        RAISE EXCEPTION 'options "contact_account" and "account_key" need the "accounts" option'
            USING ERRCODE = '22023';
    END IF;

    INSERT INTO lead_score.attachment_store
           (profile_id, contacts, contact_key, key_type, events, event_contact, event_type, event_time,
            event_props, accounts, contact_account, account_key, state_table, view_name, attached_at, attached_by,
            objects_version)
    VALUES (target.id, contacts, contact_key, key_type, events, event_contact, event_type, event_time,
            event_props, accounts, contact_account, account_key, state_table, view_name, now(), actor,
            lead_score.objects_version());

    -- Every rule field must name a column of the attached tables.
    SELECT * INTO problem FROM lead_score.field_problems(target.id, false) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'profile "%", rule "%": %', target.name, problem.rule_name, problem.problem
            USING ERRCODE = '42703';
    END IF;

    IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = events
                      AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a
                                          WHERE a.attrelid = events AND a.attname = event_contact)) THEN
        RAISE NOTICE '% has no index on %: each change rereads the contact''s events with a full scan',
            events, quote_ident(event_contact)
            USING HINT = format('CREATE INDEX ON %s (%I, %I);', events, event_contact, event_time);
    END IF;

    EXECUTE format($ddl$
        CREATE TABLE lead_score.%1$I (
            contact_key      %2$s PRIMARY KEY,
            version          integer NOT NULL,
            fit              float8 NOT NULL,
            engagement       lead_score.decayed NOT NULL,
            dimensions       jsonb NOT NULL,
            disqualified_by  text[] NOT NULL,
            next_due         timestamptz,
            tally            bigint[] NOT NULL,
            -- What each count-limited rule selected, as (rule, counted, latest) triples
            -- (NULL: nothing), so a new event can be settled without the history.
            limits           bigint[],
            scored_at        timestamptz NOT NULL,
            -- A copy of the contact's sticky tags (lead_score.tag_store holds them) and
            -- of when it got the PQL tag, so reading them costs no join.
            tags             text[] NOT NULL DEFAULT '{}',
            pql_at           timestamptz
        ) WITH (fillfactor = 70)$ddl$, state_table, key_type);
    -- (Room on each page lets a new event's update stay a HOT update: no index write.)
    EXECUTE format('CREATE INDEX ON lead_score.%I (next_due) WHERE next_due IS NOT NULL', state_table);
    EXECUTE format('ALTER TABLE lead_score.%I ENABLE ROW LEVEL SECURITY', state_table);
    PERFORM lead_score.create_visibility_policy(state_table, contacts, contact_key);
    EXECUTE format('GRANT SELECT ON lead_score.%I TO PUBLIC', state_table);
    PERFORM lead_score.create_scores_view(view_name, contact_key, state_table, target.id);
    EXECUTE format('GRANT SELECT ON lead_score.%I TO PUBLIC', view_name);

    -- Statement-level triggers: one call per statement, the rows it touched in the
    -- transition tables `changed` (new rows) and `before_change` (old rows).
    FOR trigger_row IN
        SELECT w.relation, w.watched, o.operation, o.referencing
          FROM (VALUES (events, 'events'), (contacts, 'contacts'), (accounts, 'accounts')) AS w(relation, watched),
               (VALUES ('insert', 'REFERENCING NEW TABLE AS changed'),
                       ('update', 'REFERENCING OLD TABLE AS before_change NEW TABLE AS changed'),
                       ('delete', 'REFERENCING OLD TABLE AS before_change'),
                       ('truncate', '')) AS o(operation, referencing)
         WHERE w.relation IS NOT NULL
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT EXECUTE FUNCTION lead_score.%I(%L)',
                       format('lead_score_%s_%s_%s', target.id, trigger_row.watched, trigger_row.operation),
                       upper(trigger_row.operation), trigger_row.relation, trigger_row.referencing,
                       'on_' || trigger_row.watched || '_change', target.id);
    END LOOP;

    PERFORM lead_score.invalidate_scoring_cache();
    PERFORM lead_score.rescore_for(target.name, 'attach');
    PERFORM lead_score.log_change(target.name, 'attach', NULL, target.active_version, NULL,
        jsonb_build_object('contacts', contacts::text, 'events', events::text, 'options', options));
END
$$;

CREATE OR REPLACE FUNCTION lead_score.attach(profile text, contacts regclass, events regclass,
                                  options jsonb DEFAULT '{}')
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


CREATE FUNCTION lead_score.detach_for_caller(profile text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    att lead_score.attachment_store;
    trigger_row record;
BEGIN
    SELECT * INTO att FROM lead_score.attachment_store s WHERE s.profile_id = target.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" is not attached', target.name USING ERRCODE = '42704';
    END IF;
    FOR trigger_row IN
        SELECT t.tgname, t.tgrelid::regclass AS relation FROM pg_trigger t
         WHERE pg_catalog.starts_with(t.tgname, format('lead_score_%s_', target.id))
           AND t.tgrelid IN (att.contacts, att.events, coalesce(att.accounts, 0))
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_row.tgname, trigger_row.relation);
    END LOOP;
    EXECUTE format('DROP VIEW IF EXISTS lead_score.%I', att.view_name);
    EXECUTE format('DROP TABLE IF EXISTS lead_score.%I', att.state_table);
    DELETE FROM lead_score.attachment_store s WHERE s.profile_id = target.id;
    PERFORM lead_score.invalidate_scoring_cache();
    PERFORM lead_score.log_change(target.name, 'detach', NULL, NULL,
        jsonb_build_object('contacts', att.contacts::text, 'events', att.events::text), NULL);
END
$$;

CREATE OR REPLACE FUNCTION lead_score.detach(profile text)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


CREATE FUNCTION lead_score.clear_tag_for_caller(profile text, contact text, tag text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    cleared lead_score.tag_store;
    logged lead_score.transitions;
    count integer := 0;
BEGIN
    -- As the profile's key type spells it: '007' is contact 7, stored as '7'.
    contact := lead_score.stored_key(target.id, contact);
    FOR cleared IN
        DELETE FROM lead_score.tag_store t
         WHERE t.profile_id = target.id AND t.contact_key = contact AND (tag IS NULL OR t.tag = tag)
        RETURNING *
    LOOP
        INSERT INTO lead_score.transitions (at, profile, version, contact, kind, tag, old_state,
                                            new_state, score, reason, source, actor)
        VALUES (lead_score.now(), target.name, target.active_version, contact, 'tag_cleared',
                cleared.tag, 'tagged', 'untagged', lead_score.score(target.name, contact),
                format('cleared by %s', lead_score.acting_role()), 'clear_tag', lead_score.acting_role())
        RETURNING * INTO logged;
        PERFORM lead_score.announce(logged);
        count := count + 1;
    END LOOP;
    PERFORM lead_score.mirror_tags(target.id, contact);
    RETURN count;
END
$$;

CREATE OR REPLACE FUNCTION lead_score.clear_tag(profile text, contact text, tag text DEFAULT NULL)
RETURNS integer LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


CREATE FUNCTION lead_score.forget_for_caller(profile text, contact text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    tags_erased bigint;
    rows_erased bigint;
    adjustments_erased bigint;
BEGIN
    contact := lead_score.stored_key(target.id, contact);
    DELETE FROM lead_score.tag_store t WHERE t.profile_id = target.id AND t.contact_key = contact;
    GET DIAGNOSTICS tags_erased = ROW_COUNT;
    DELETE FROM lead_score.transitions t WHERE t.profile = target.name AND t.contact = contact;
    GET DIAGNOSTICS rows_erased = ROW_COUNT;
    DELETE FROM lead_score.adjustment_store a WHERE a.profile_id = target.id AND a.contact_key = contact;
    GET DIAGNOSTICS adjustments_erased = ROW_COUNT;
    INSERT INTO lead_score.transitions (at, profile, version, contact, kind, reason, source, actor)
    VALUES (lead_score.now(), target.name, target.active_version, NULL, 'erased',
            format('a contact''s %s tags, %s transitions and %s adjustments erased on request',
                   tags_erased, rows_erased, adjustments_erased),
            'forget', lead_score.acting_role());
    PERFORM lead_score.mirror_tags(target.id, contact);
    IF adjustments_erased > 0
       AND EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = target.id) THEN
        PERFORM lead_score.rescore_for_caller(target.name, contact);
    END IF;
    RETURN tags_erased + rows_erased + adjustments_erased;
END
$$;

CREATE OR REPLACE FUNCTION lead_score.forget(profile text, contact text)
RETURNS bigint LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';


REVOKE ALL ON FUNCTION lead_score.create_profile_for_caller(text, text, jsonb),
                       lead_score.update_profile_for_caller(text, text, text, jsonb),
                       lead_score.drop_profile_for_caller(text),
                       lead_score.add_rule_for_caller(text, text, jsonb),
                       lead_score.update_rule_for_caller(text, text, jsonb),
                       lead_score.remove_rule_for_caller(text, text),
                       lead_score.publish_for_caller(text),
                       lead_score.revert_draft_for_caller(text, integer),
                       lead_score.attach_for_caller(text, regclass, regclass, jsonb),
                       lead_score.detach_for_caller(text),
                       lead_score.clear_tag_for_caller(text, text, text),
                       lead_score.forget_for_caller(text, text)
    FROM PUBLIC;

-- rescore() likewise: its entries (still STRICT) call rescore_for_caller.
CREATE  FUNCTION lead_score."rescore_for_caller"(
	"profile" TEXT, /* & str */
	"contact" TEXT /* & str */
) RETURNS bigint /* i64 */
STRICT SECURITY DEFINER 
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'rescore_one_wrapper';
CREATE  FUNCTION lead_score."rescore_for_caller"(
	"profile" TEXT /* & str */
) RETURNS bigint /* i64 */
STRICT SECURITY DEFINER 
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'rescore_wrapper';
CREATE OR REPLACE FUNCTION lead_score.rescore(profile text)
RETURNS bigint LANGUAGE c STRICT
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';
CREATE OR REPLACE FUNCTION lead_score.rescore(profile text, contact text)
RETURNS bigint LANGUAGE c STRICT
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';
REVOKE ALL ON FUNCTION lead_score.rescore_for_caller(text), lead_score.rescore_for_caller(text, text)
    FROM PUBLIC;

-- The triggers, tick() and verify() switch to the owner themselves once they have noted
-- the calling role (src/pg/identity.rs, `for_caller`): a trigger's transitions name the
-- role that wrote the rows (0.2.0: the login role).
ALTER FUNCTION lead_score.on_events_change() SECURITY INVOKER;
ALTER FUNCTION lead_score.on_contacts_change() SECURITY INVOKER;
ALTER FUNCTION lead_score.on_accounts_change() SECURITY INVOKER;
ALTER FUNCTION lead_score.tick() SECURITY INVOKER;
ALTER FUNCTION lead_score.verify(text) SECURITY INVOKER;
