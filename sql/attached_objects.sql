-- The objects attach() makes for each profile, beside its state table: the row-level
-- policy and the scores view (created, and rebuilt for a newer layout), and
-- upgrade_attachments(), which brings those an older version made up to date. Used by
-- attach() (sql/attach.sql), by ALTER EXTENSION ... UPDATE and after a restore.

-- The layout of per-profile objects this version's attach() makes (see
-- attachment_store.objects_version).
CREATE FUNCTION lead_score.objects_version()
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT 4 $$;

-- Readers see a contact's score only when they may see the contact. The owner of the
-- contacts table (and its members) sees every row: the scoring reads score rows beside
-- the contacts as that role, and the ownership test is an InitPlan, run once per query,
-- not a per-row check. (Both named by the table, so the policy follows a change of
-- owner and survives dump and restore.)
CREATE FUNCTION lead_score.create_visibility_policy(state_table name, contacts regclass, contact_key name)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
BEGIN
    EXECUTE format('CREATE POLICY visible_contacts ON lead_score.%1$I FOR SELECT USING ('
                   '(SELECT pg_catalog.pg_has_role(o.relowner, ''USAGE'') FROM pg_catalog.pg_class o '
                   '  WHERE o.oid OPERATOR(pg_catalog.=) %2$L::pg_catalog.regclass) '
                   'OR EXISTS (SELECT FROM ONLY %2$s c WHERE c.%3$I OPERATOR(pg_catalog.=) %1$I.contact_key))',
                   state_table, contacts, contact_key);
END
$$;
REVOKE ALL ON FUNCTION lead_score.create_visibility_policy(name, regclass, name) FROM PUBLIC;

-- The profile's scores view, over its state table, made by attach() (and by
-- rebuild_scores_view() for views an older version made).
CREATE FUNCTION lead_score.create_scores_view(view_name name, contact_key name, state_table name,
                                              profile_id bigint)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $fn$
BEGIN
    EXECUTE format($ddl$
        CREATE OR REPLACE VIEW lead_score.%1$I WITH (security_invoker = true) AS
        SELECT s.contact_key AS %2$I,
               s.fit + lead_score.value_at(s.engagement, lead_score.now()) AS score,
               s.fit AS fit_score,
               lead_score.value_at(s.engagement, lead_score.now()) AS engagement_score,
               lead_score.dimension_scores(s.dimensions, lead_score.now()) AS dimension_scores,
               s.disqualified_by,
               coalesce(m.pql_tag = ANY (s.tags), false) AS is_pql,
               s.pql_at,
               cardinality(s.disqualified_by) > 0 AS disqualified,
               nullif(array_to_string(s.disqualified_by, ', '), '') AS disqualified_reason,
               lead_score.score_100(s.fit + lead_score.value_at(s.engagement, lead_score.now()),
                                    m.score_100_curve, m.score_100_scale) AS score_100,
               lead_score.stars(s.fit + lead_score.value_at(s.engagement, lead_score.now()),
                                m.score_100_curve, m.score_100_scale) AS stars,
               s.tags,
               m.scored_version AS version,
               s.scored_at,
               CASE WHEN m.likelihood_points_per_doubling IS NOT NULL
                    THEN lead_score.likelihood(s.fit + lead_score.value_at(s.engagement, lead_score.now()),
                                               m.likelihood_intercept, m.likelihood_points_per_doubling)
               END AS likelihood,
               s.stage,
               s.stage_entered_at,
               CASE WHEN s.stage IS NOT NULL
                    THEN lead_score.value_at(s.engagement, lead_score.now())
                         - coalesce(lead_score.value_at(s.stage_base, lead_score.now()), 0)
               END AS stage_score,
               lead_score.grade(s.fit, m.grade_names, m.grade_minimums) AS grade,
               lead_score.priority(s.fit, lead_score.value_at(s.engagement, lead_score.now()),
                                   m.grade_names, m.grade_minimums, m.engagement_bands) AS priority,
               lead_score.priority_rank(s.fit, lead_score.value_at(s.engagement, lead_score.now()),
                                        m.grade_names, m.grade_minimums, m.engagement_bands) AS priority_rank
          FROM lead_score.%3$I s
         CROSS JOIN (SELECT a.pql_tag, a.score_100_curve, a.score_100_scale, a.scored_version,
                            a.likelihood_intercept, a.likelihood_points_per_doubling,
                            a.grade_names, a.grade_minimums, a.engagement_bands
                       FROM lead_score.attachment_store a WHERE a.profile_id = %4$s) m$ddl$,
        view_name, contact_key, state_table, profile_id);
END
$fn$;
REVOKE ALL ON FUNCTION lead_score.create_scores_view(name, name, name, bigint) FROM PUBLIC;

-- A profile's account scores (attach with an accounts table): the account table, one
-- row per account its contacts name, keeping its members' score parts (each contact's
-- fit and decayed engagement, in key order: an account's score decays as its members'
-- do, so it is computed from them at every read, never kept as one sum), whether each
-- is a PQL, their buying roles and the account's sticky tags; the writes keep it
-- current (src/pg/write/accounts.rs). Its policy shows an account to those who may
-- see it in the CRM's accounts table (and every account to that table's owner, as the
-- state table's policy does for contacts). The view reads account rows only.
CREATE FUNCTION lead_score.create_account_objects(profile_id bigint, view_name name, account_key name,
                                                  accounts regclass, key_type regtype)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $fn$
DECLARE
    account_table name := 'accounts_' || profile_id;
BEGIN
    -- The columns src/pg/write/accounts.rs writes.
    EXECUTE format($ddl$
        CREATE TABLE lead_score.%1$I (
            account_key  %2$s PRIMARY KEY,
            contact_keys text[] NOT NULL,
            fits         float8[] NOT NULL,
            engagements  lead_score.decayed[] NOT NULL,
            pql          boolean[] NOT NULL,
            roles        text[] NOT NULL,
            tags         text[] NOT NULL DEFAULT '{}'
        ) WITH (fillfactor = 70, toast_tuple_target = 8160)$ddl$, account_table, key_type);
    -- (toast_tuple_target: a row up to a page stays inline and uncompressed. Each event
    -- rewrites its account's row, and compressing a few kilobytes of members on every
    -- write cost more than the space saved.)
    -- (A contact's account is found by its key: a write of several contacts, and a
    -- contact deleted or moved, look it up here. No pending list: each lookup would
    -- scan it whole.)
    EXECUTE format('CREATE INDEX ON lead_score.%I USING gin (contact_keys) WITH (fastupdate = off)', account_table);
    -- Each score row keeps its contact's account key (as text; NULL: none), set where
    -- contacts are placed in accounts: a single event's write finds the account row
    -- by its primary key, in the statement that adds its points.
    EXECUTE format('ALTER TABLE lead_score.%I ADD COLUMN IF NOT EXISTS account_key text',
                   (SELECT a.state_table FROM lead_score.attachment_store a
                     WHERE a.profile_id OPERATOR(pg_catalog.=) create_account_objects.profile_id));
    EXECUTE format('ALTER TABLE lead_score.%I ENABLE ROW LEVEL SECURITY', account_table);
    EXECUTE format('CREATE POLICY visible_accounts ON lead_score.%1$I FOR SELECT USING ('
                   '(SELECT pg_catalog.pg_has_role(o.relowner, ''USAGE'') FROM pg_catalog.pg_class o '
                   '  WHERE o.oid OPERATOR(pg_catalog.=) %2$L::pg_catalog.regclass) '
                   'OR EXISTS (SELECT FROM ONLY %2$s a WHERE a.%3$I OPERATOR(pg_catalog.=) %1$I.account_key))',
                   account_table, accounts, account_key);
    EXECUTE format('GRANT SELECT ON lead_score.%I TO PUBLIC', account_table);
    EXECUTE format($ddl$
        CREATE VIEW lead_score.%1$I WITH (security_invoker = true) AS
        SELECT a.account_key AS %2$I,
               cardinality(a.contact_keys) AS contacts,
               lead_score.engaged_contacts(n.scores) AS engaged_contacts,
               lead_score.account_score(n.scores, coalesce(m.account_scoring, 'sum')) AS score,
               cardinality(array_positions(a.pql, true)) AS pql_contacts,
               lead_score.best_contact(a.contact_keys, n.scores) AS best_contact,
               CASE WHEN m.account_roles THEN lead_score.engaged_roles(a.roles, n.scores) END AS roles,
               a.tags
          FROM lead_score.%3$I a
         CROSS JOIN LATERAL (SELECT ARRAY(SELECT u.fit + lead_score.value_at(u.engagement, lead_score.now())
                                            FROM unnest(a.fits, a.engagements) WITH ORDINALITY AS u(fit, engagement, n)
                                           ORDER BY u.n) AS scores) n
         CROSS JOIN (SELECT s.account_scoring, s.account_roles FROM lead_score.attachment_store s
                      WHERE s.profile_id = %4$s) m$ddl$,
        view_name, account_key, account_table, profile_id);
    EXECUTE format('GRANT SELECT ON lead_score.%I TO PUBLIC', view_name);
    -- Made inside ALTER EXTENSION ... UPDATE (upgrade_attachments), they would be the
    -- extension's members: kept out, like the state tables, so pg_dump keeps them.
    IF EXISTS (SELECT FROM pg_catalog.pg_depend d
                WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                  AND d.objid OPERATOR(pg_catalog.=) format('lead_score.%I', account_table)::pg_catalog.regclass
                  AND d.deptype OPERATOR(pg_catalog.=) 'e') THEN
        EXECUTE format('ALTER EXTENSION pg_lead_score DROP TABLE lead_score.%I', account_table);
        EXECUTE format('ALTER EXTENSION pg_lead_score DROP VIEW lead_score.%I', view_name);
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION lead_score.create_account_objects(bigint, name, name, regclass, regtype) FROM PUBLIC;

-- Rebuild a scores view made by an older version with this version's columns. Not
-- CREATE OR REPLACE: inside ALTER EXTENSION ... UPDATE an extension may not replace an
-- object it does not own, and the views attach() makes are not the extension's members
-- (pg_dump keeps them with the state tables). So: drop it and create it again, keeping
-- its owner and privileges, and keep it out of the extension. A view of the user's
-- built on it would be dropped with it: refused instead (2BP01), naming them.
CREATE FUNCTION lead_score.rebuild_scores_view(view_name name, contact_key name, state_table name,
                                               profile_id bigint)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    old_view oid := pg_catalog.to_regclass(pg_catalog.format('lead_score.%I', view_name));
    new_view oid;
    owner oid;
    privileges aclitem[];
    dependents text;
    granted record;
BEGIN
    IF old_view IS NOT NULL THEN
        SELECT c.relowner, c.relacl INTO owner, privileges FROM pg_catalog.pg_class c
         WHERE c.oid OPERATOR(pg_catalog.=) old_view;
        SELECT pg_catalog.string_agg(DISTINCT r.ev_class::pg_catalog.regclass::pg_catalog.text, ', ')
          INTO dependents
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid
         WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
           AND d.refobjid OPERATOR(pg_catalog.=) old_view
           AND r.ev_class OPERATOR(pg_catalog.<>) old_view;
        IF dependents IS NOT NULL THEN
            RAISE EXCEPTION 'the scores view lead_score.% cannot gain its new columns: % depend on it',
                            pg_catalog.quote_ident(view_name), dependents
                USING ERRCODE = '2BP01',
                      HINT = 'Drop those views, run the update again, then create them again.';
        END IF;
        EXECUTE pg_catalog.format('DROP VIEW lead_score.%I', view_name);
    END IF;
    PERFORM lead_score.create_scores_view(view_name, contact_key, state_table, profile_id);
    new_view := pg_catalog.format('lead_score.%I', view_name)::pg_catalog.regclass;
    IF EXISTS (SELECT FROM pg_catalog.pg_depend d
                WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                  AND d.objid OPERATOR(pg_catalog.=) new_view AND d.deptype OPERATOR(pg_catalog.=) 'e') THEN
        EXECUTE pg_catalog.format('ALTER EXTENSION pg_lead_score DROP VIEW lead_score.%I', view_name);
    END IF;
    IF owner IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER VIEW lead_score.%I OWNER TO %I', view_name,
                                  pg_catalog.pg_get_userbyid(owner));
    END IF;
    FOR granted IN SELECT * FROM pg_catalog.aclexplode(privileges) a
                    WHERE a.grantee OPERATOR(pg_catalog.<>) owner LOOP
        EXECUTE pg_catalog.format('GRANT %s ON lead_score.%I TO %s%s', granted.privilege_type, view_name,
                                  CASE WHEN granted.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                       ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(granted.grantee)) END,
                                  CASE WHEN granted.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION lead_score.rebuild_scores_view(name, name, name, bigint) FROM PUBLIC;

-- Bring the objects attach() made in an older version up to this version's layout:
-- run by ALTER EXTENSION ... UPDATE, and by hand after restoring a dump taken from an
-- older version. Returns how many profiles it changed.
CREATE FUNCTION lead_score.upgrade_attachments()
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
        -- 2 -> 3: state tables gain the lifecycle stage (first: the views below read it).
        IF att.objects_version OPERATOR(pg_catalog.<) 3 THEN
            EXECUTE format('ALTER TABLE lead_score.%I ADD COLUMN IF NOT EXISTS stage text, '
                           'ADD COLUMN IF NOT EXISTS stage_entered_at timestamptz, '
                           'ADD COLUMN IF NOT EXISTS stage_base lead_score.decayed, '
                           'ADD COLUMN IF NOT EXISTS stages_met bigint', att.state_table);
        END IF;
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
        END IF;
        -- (Account scores are opt-in, at attach: an attachment an older version made
        -- has none until it is attached again with "account_scores".)
        -- The scores view gains its likelihood column (2), and grade, priority,
        -- priority_rank, stage, stage_entered_at and stage_score (3): made again as this
        -- version makes it.
        IF att.objects_version OPERATOR(pg_catalog.<) 3 THEN
            PERFORM lead_score.rebuild_scores_view(att.view_name, att.contact_key, att.state_table, att.profile_id);
        END IF;
        -- 3 -> 4: state tables gain the score ceiling (lead_score.top), and the tables
        -- the triggers for replicated writes (a logical-replication subscriber's).
        IF att.objects_version OPERATOR(pg_catalog.<) 4 THEN
            PERFORM lead_score.add_score_ceiling(att.state_table);
            PERFORM lead_score.complete_triggers(att.profile_id);
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
    -- So do transitions restored from an older dump (by the profile's name, which they
    -- keep). Those of a profile not attached, or dropped, and such adjustments, get '-'
    -- (no table), as the update gives them: never bound to a later attachment.
    UPDATE lead_score.transitions t
       SET contacts = s.contacts, key_column = s.contact_key
      FROM lead_score.attachment_store s
      JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) s.profile_id
     WHERE p.name OPERATOR(pg_catalog.=) t.profile AND t.contacts IS NULL;
    UPDATE lead_score.transitions t SET contacts = 0::pg_catalog.oid::pg_catalog.regclass WHERE t.contacts IS NULL;
    UPDATE lead_score.adjustment_store a SET contacts = 0::pg_catalog.oid::pg_catalog.regclass WHERE a.contacts IS NULL;
    -- Tags are kept only for the contacts of the table their profile is attached to:
    -- those of a profile not attached (0.2.0's detach kept them) would be given to the
    -- contacts with the same keys of whatever table it is attached to next.
    DELETE FROM lead_score.tag_store g
     WHERE NOT EXISTS (SELECT FROM lead_score.attachment_store s WHERE s.profile_id OPERATOR(pg_catalog.=) g.profile_id);
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION lead_score.upgrade_attachments() FROM PUBLIC;
