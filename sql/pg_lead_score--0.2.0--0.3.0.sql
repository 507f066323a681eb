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
-- older version. Returns how many profiles it changed.
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
            PERFORM lead_score.create_visibility_policy(att.state_table, att.contacts, att.contact_key);
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
-- keep the name, not the id: consumers and notifications read it.)
CREATE OR REPLACE FUNCTION lead_score.update_profile(name text, new_name text DEFAULT NULL,
                                          description text DEFAULT NULL,
                                          settings jsonb DEFAULT NULL)
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
