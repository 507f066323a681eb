-- Qualification: sticky tags, the transitions audit trail (the durable outbox), the
-- admin-only ways to clear a tag or erase a contact, and the pg_cron schedule of tick().
--
-- Tags and transitions cannot be recomputed from the CRM's data, so they live in tables
-- of the install script registered with pg_extension_config_dump: pg_dump keeps them.
-- The triggers and rescoring write them (as the extension's owner); ordinary roles may
-- not write them at all.

CREATE TABLE lead_score.tag_store (
    profile_id   bigint NOT NULL REFERENCES lead_score.profile_store ON DELETE CASCADE,
    contact_key  text NOT NULL,
    tag          text NOT NULL,
    tagged_at    timestamptz NOT NULL,
    score        float8 NOT NULL,
    version      integer NOT NULL,
    rule         text,
    source       text NOT NULL,
    PRIMARY KEY (profile_id, contact_key, tag)
);
SELECT pg_catalog.pg_extension_config_dump('lead_score.tag_store', '');

-- Lead routing (the "routing" setting): each profile's next turn, counted up for ever
-- (the owner of turn n is owners[n mod the list's length], so changing the list at
-- publish keeps the count). The row lock of its UPDATE serialises concurrent taggers
-- until they commit: turns go in commit order, and a rollback gives its turns back.
-- Written by the triggers and rescoring only (as the extension's owner).
CREATE TABLE lead_score.routing_turns (
    profile_id  bigint PRIMARY KEY REFERENCES lead_score.profile_store ON DELETE CASCADE,
    next_turn   bigint NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('lead_score.routing_turns', '');

CREATE TABLE lead_score.transitions (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    profile    text NOT NULL,
    version    integer,
    -- NULL only on the record of an erasure, which keeps no key.
    contact    text,
    kind       text NOT NULL
               CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['tagged', 'tag_cleared', 'disqualified', 'requalified', 'erased',
                                                     'stage_changed', 'stage_set', 'routed', 'routing_failed', 'account_tagged'])),
    tag        text,
    old_state  text,
    new_state  text,
    score      float8,
    reason     text,
    -- What did it: event, contact, account, publish, attach, rescore, tick, adjustment, clear_tag, forget, set_stage.
    source     text NOT NULL,
    -- The role calling (see lead_score.acting_role()); every writer names it, and the
    -- default is the same, never the session's role.
    actor      text NOT NULL DEFAULT lead_score.acting_role(),
    -- The contacts table and key column `contact` is a key of: the profile's attachment
    -- when the row was written. The same key in another table (the profile detached and
    -- attached elsewhere) is another contact, whose erasure leaves this row alone. A
    -- regclass, so pg_dump writes the table's name. '-' (oid 0, no table): written while
    -- the profile was not attached, or before 0.3.0 for a profile not attached at the
    -- update. NULL only in rows restored from an older dump, until
    -- lead_score.upgrade_attachments() records them as the update does.
    contacts   regclass,
    key_column name
);
CREATE INDEX ON lead_score.transitions (profile, contact);
SELECT pg_catalog.pg_extension_config_dump('lead_score.transitions', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.transitions_id_seq', '');
COMMENT ON TABLE lead_score.transitions IS
    'One row per qualification event (tagged, tag cleared, disqualified, requalified, erased, stage changed or set, routed or routing failed, account tagged); append-only';

-- The one payload format of pg_notify('lead_score', ...), for the triggers and the admin
-- functions alike. Any role may LISTEN, so a payload carries nothing a listener could
-- not read anyway: the transition's id and its profile (whose name the catalog views
-- show everyone). Consumers read the transition from lead_score.transitions under
-- their own grants.
CREATE FUNCTION lead_score.announce(t lead_score.transitions)
RETURNS void LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT pg_catalog.pg_notify('lead_score',
        pg_catalog.json_build_object('id', t.id, 'profile', t.profile)::pg_catalog.text)
$$;
REVOKE ALL ON FUNCTION lead_score.announce(lead_score.transitions) FROM PUBLIC;

-- lead_score.mirror_tags(profile_id, contact), defined in Rust (src/pg/api/qualification.rs),
-- brings a state row's copy of the contact's tags in line with lead_score.tag_store.
-- lead_score.stored_key(profile_id, contact) spells a key as the key type prints it.
-- lead_score.check_routing(profile, settings, contacts, contact_key) checks the routing
-- setting against the contacts table, for publish and attach.
REVOKE ALL ON FUNCTION lead_score.mirror_tags(bigint, text), lead_score.stored_key(bigint, text),
                       lead_score.check_routing(text, jsonb, oid, text) FROM PUBLIC;

-- The one privileged way to take a sticky tag away (all of the contact's tags when
-- `tag` is NULL). Logged as a 'tag_cleared' transition naming who did it. The contact
-- may then cross again.
CREATE FUNCTION lead_score.clear_tag_for_caller(profile text, contact text, tag text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    att lead_score.attachment_store;
    cleared lead_score.tag_store;
    logged lead_score.transitions;
    count integer := 0;
BEGIN
    -- (Tags are kept only while the profile is attached: detach clears them.)
    SELECT * INTO att FROM lead_score.attachment_store a WHERE a.profile_id = target.id;
    -- As the profile's key type spells it: '007' is contact 7, stored as '7'.
    contact := lead_score.stored_key(target.id, contact);
    FOR cleared IN
        DELETE FROM lead_score.tag_store t
         WHERE t.profile_id = target.id AND t.contact_key = contact AND (tag IS NULL OR t.tag = tag)
        RETURNING *
    LOOP
        INSERT INTO lead_score.transitions (at, profile, version, contact, kind, tag, old_state,
                                            new_state, score, reason, source, actor, contacts, key_column)
        VALUES (lead_score.now(), target.name, target.active_version, contact, 'tag_cleared',
                cleared.tag, 'tagged', 'untagged', lead_score.score(target.name, contact),
                format('cleared by %s', lead_score.acting_role()), 'clear_tag', lead_score.acting_role(),
                att.contacts, att.contact_key)
        RETURNING * INTO logged;
        PERFORM lead_score.announce(logged);
        count := count + 1;
    END LOOP;
    PERFORM lead_score.mirror_tags(target.id, contact);
    RETURN count;
END
$$;

CREATE FUNCTION lead_score.clear_tag(profile text, contact text, tag text DEFAULT NULL)
RETURNS integer LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

CREATE FUNCTION lead_score.clear_tag(profile text, contact anyelement, tag text DEFAULT NULL)
RETURNS integer LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT lead_score.clear_tag(profile, contact::text, tag) $$;

-- The one privileged way to move a contact between stages (back down, most often):
-- logged as a 'stage_set' transition naming who did it. The contact enters `stage` now
-- (its stage_score starts from 0); its next write moves it up again if it meets a
-- higher stage, as a cleared tag is given again. Returns the stage it was in ('none'
-- for none).
CREATE FUNCTION lead_score.set_stage_for_caller(profile text, contact text, stage text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    att lead_score.attachment_store;
    listed text[];
    previous text;
    logged lead_score.transitions;
BEGIN
    IF contact IS NULL OR stage IS NULL THEN
        RAISE EXCEPTION 'set_stage needs a contact and a stage' USING ERRCODE = '22004';
    END IF;
    SELECT * INTO att FROM lead_score.attachment_store a WHERE a.profile_id = target.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" is not attached', target.name USING ERRCODE = '55000';
    END IF;
    SELECT array_agg(s.value ->> 'name' ORDER BY s.n) INTO listed
      FROM lead_score.version_store v,
           LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v.settings -> 'stages') = 'array'
                                             THEN v.settings -> 'stages' ELSE '[]' END)
                   WITH ORDINALITY AS s(value, n)
     WHERE v.profile_id = target.id AND v.version = target.active_version;
    IF NOT stage = ANY (coalesce(listed, '{}')) THEN
        RAISE EXCEPTION 'profile "%" has no stage "%"', target.name, stage
            USING ERRCODE = '22023',
                  DETAIL = CASE WHEN listed IS NULL THEN 'Its active version lists no stages.'
                                ELSE format('Its stages: %s.', array_to_string(listed, ', ')) END;
    END IF;
    -- As the profile's key type spells it: '007' is contact 7, stored as '7'.
    contact := lead_score.stored_key(target.id, contact);
    EXECUTE format('SELECT coalesce(s.stage, ''none'') FROM lead_score.%I s
                     WHERE s.contact_key = $1::%s FOR UPDATE', att.state_table, att.key_type)
       INTO previous USING contact;
    IF previous IS NULL THEN
        RAISE EXCEPTION 'profile "%" has no score for contact "%"', target.name, contact
            USING ERRCODE = '42704';
    END IF;
    EXECUTE format('UPDATE lead_score.%I s SET stage = $2, stage_entered_at = lead_score.now(),
                                              stage_base = s.engagement
                     WHERE s.contact_key = $1::%s', att.state_table, att.key_type)
       USING contact, stage;
    INSERT INTO lead_score.transitions (at, profile, version, contact, kind, tag, old_state,
                                        new_state, score, reason, source, actor, contacts, key_column)
    VALUES (lead_score.now(), target.name, target.active_version, contact, 'stage_set', NULL,
            previous, stage, lead_score.score(target.name, contact),
            format('set by %s', lead_score.acting_role()), 'set_stage', lead_score.acting_role(),
            att.contacts, att.contact_key)
    RETURNING * INTO logged;
    PERFORM lead_score.announce(logged);
    RETURN previous;
END
$$;

CREATE FUNCTION lead_score.set_stage(profile text, contact text, stage text)
RETURNS text LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

CREATE FUNCTION lead_score.set_stage(profile text, contact anyelement, stage text)
RETURNS text LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT lead_score.set_stage(profile, contact::text, stage) $$;

-- Data-erasure requests: the contact's tags, transitions and manual adjustments go; one
-- 'erased' row without the key records that an erasure happened, when and by whom. A
-- contact that had adjustments is rescored without them at once.
--
-- The contact is the key's row of the table the profile is attached to: its transitions
-- and adjustments are those recorded for that table and key column, and those recorded
-- for no known table ('-', or NULL before upgrade_attachments()), which cannot be told
-- apart and which an erasure must not miss. Those recorded for another table the profile
-- was attached to before are another contact's, and stay. A profile that is not
-- attached has no table to read the key in: the key's rows of every table go.
CREATE FUNCTION lead_score.forget_for_caller(profile text, contact text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    target lead_score.profile_store := lead_score.locked_profile(profile);
    att lead_score.attachment_store;
    attached boolean;
    tags_erased bigint;
    rows_erased bigint;
    adjustments_erased bigint;
BEGIN
    SELECT * INTO att FROM lead_score.attachment_store a WHERE a.profile_id = target.id;
    attached := FOUND;
    contact := lead_score.stored_key(target.id, contact);
    DELETE FROM lead_score.tag_store t WHERE t.profile_id = target.id AND t.contact_key = contact;
    GET DIAGNOSTICS tags_erased = ROW_COUNT;
    DELETE FROM lead_score.transitions t WHERE t.profile = target.name AND t.contact = contact
       AND (NOT attached OR t.contacts IS NULL OR t.contacts::oid = 0
            OR (t.contacts = att.contacts AND t.key_column = att.contact_key));
    GET DIAGNOSTICS rows_erased = ROW_COUNT;
    DELETE FROM lead_score.adjustment_store a WHERE a.profile_id = target.id AND a.contact_key = contact
       AND (NOT attached OR a.contacts IS NULL OR a.contacts::oid = 0
            OR (a.contacts = att.contacts AND a.key_column = att.contact_key));
    GET DIAGNOSTICS adjustments_erased = ROW_COUNT;
    INSERT INTO lead_score.transitions (at, profile, version, contact, kind, reason, source, actor,
                                        contacts, key_column)
    VALUES (lead_score.now(), target.name, target.active_version, NULL, 'erased',
            format('a contact''s %s tags, %s transitions and %s adjustments erased on request',
                   tags_erased, rows_erased, adjustments_erased),
            'forget', lead_score.acting_role(),
            CASE WHEN attached THEN att.contacts ELSE 0::oid::regclass END, att.contact_key);
    PERFORM lead_score.mirror_tags(target.id, contact);
    IF adjustments_erased > 0
       AND EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = target.id) THEN
        PERFORM lead_score.rescore_for_caller(target.name, contact);
    END IF;
    RETURN tags_erased + rows_erased + adjustments_erased;
END
$$;

CREATE FUNCTION lead_score.forget(profile text, contact text)
RETURNS bigint LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

CREATE FUNCTION lead_score.forget(profile text, contact anyelement)
RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT lead_score.forget(profile, contact::text) $$;

REVOKE ALL ON FUNCTION lead_score.clear_tag(text, text, text), lead_score.clear_tag(text, anyelement, text),
                       lead_score.forget(text, text), lead_score.forget(text, anyelement),
                       lead_score.set_stage(text, text, text), lead_score.set_stage(text, anyelement, text),
                       lead_score.clear_tag_for_caller(text, text, text),
                       lead_score.forget_for_caller(text, text),
                       lead_score.set_stage_for_caller(text, text, text)
    FROM PUBLIC;

-- The pg_cron expression running every `every`: a number of minutes that divides an
-- hour, of hours that divides a day, or one day. 22023 otherwise.
CREATE FUNCTION lead_score.cron_expression(every interval)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    seconds numeric := extract(epoch FROM every);
BEGIN
    IF seconds = 60 THEN
        RETURN '* * * * *';
    ELSIF seconds > 60 AND seconds < 3600 AND seconds % 60 = 0 AND 60 % (seconds / 60) = 0 THEN
        RETURN format('*/%s * * * *', (seconds / 60)::integer);
    ELSIF seconds = 3600 THEN
        RETURN '0 * * * *';
    ELSIF seconds > 3600 AND seconds < 86400 AND seconds % 3600 = 0 AND 24 % (seconds / 3600) = 0 THEN
        RETURN format('0 */%s * * *', (seconds / 3600)::integer);
    ELSIF seconds = 86400 THEN
        RETURN '0 0 * * *';
    END IF;
    RAISE EXCEPTION 'cannot run every %: pg_cron runs jobs at whole minutes', every
        USING ERRCODE = '22023',
              HINT = 'Use a number of minutes that divides an hour, of hours that divides a day, or 1 day.';
END
$$;

-- Register tick() with pg_cron (job "lead_score.tick"; scheduling again replaces it).
CREATE FUNCTION lead_score.schedule(every interval DEFAULT '1 minute')
RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database'
            USING ERRCODE = '55000',
                  HINT = 'Install postgresql-15-cron, add pg_cron to shared_preload_libraries, '
                         'set cron.database_name, and CREATE EXTENSION pg_cron; or run '
                         'SELECT lead_score.tick() from any scheduler.';
    END IF;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
        USING 'lead_score.tick', lead_score.cron_expression(every), 'SELECT lead_score.tick()';
    RETURN job;
END
$$;

CREATE FUNCTION lead_score.unschedule()
RETURNS boolean LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    removed boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT cron.unschedule($1)' INTO removed USING 'lead_score.tick';
    RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION lead_score.schedule(interval), lead_score.unschedule() FROM PUBLIC;
