-- pg_lead_score 0.1.0 -> 0.2.0, run by ALTER EXTENSION pg_lead_score UPDATE.
-- Frozen since 0.2.0 was released (a database it updates gets the objects
-- sql/pg_lead_score--0.2.0.sql creates), with one fix since: every later package ships this script again, and an
-- update from 0.1.0 runs the copy of the package installed, so a fix made here reaches
-- anyone updating from 0.1.0 with that package (0.2.0's own package keeps the script
-- without it). The fix, in 0.3.0: upgrade_attachments() below writes no policy for an
-- attachment whose contacts table was dropped (0.2.0's copy wrote `FROM ONLY <oid>`,
-- a syntax error that failed the update and left the extension at 0.1.0); such an
-- attachment stays broken, 55000 when used, until detached. Its body differs from the
-- 0.2.0 install script's by that branch only; 0.2.0--0.3.0 replaces it in any case.
-- tests/upgrade proves that a database updated from 0.1.0 equals a fresh install.
-- The shared library keeps every C symbol 0.1.0's script names, so 0.1.0's SQL works
-- with the new library until this runs.
\echo Use "ALTER EXTENSION pg_lead_score UPDATE" to load this file. \quit

-- Each attachment records the layout of the objects attach() made for it.
ALTER TABLE lead_score.attachment_store ADD COLUMN objects_version integer NOT NULL DEFAULT 1,
    -- The link from score to probability, for the scores view's likelihood column.
    ADD COLUMN likelihood_intercept float8,
    ADD COLUMN likelihood_points_per_doubling float8;

-- New internal functions.
CREATE FUNCTION lead_score."stored_key"(
	"profile_id" bigint, /* i64 */
	"contact" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'stored_key_wrapper';
-- lead_score.stored_key(profile_id, contact) spells a key as the key type prints it.
REVOKE ALL ON FUNCTION lead_score.stored_key(bigint, text) FROM PUBLIC;

CREATE FUNCTION lead_score.objects_version()
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT 2 $$;

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

-- likelihood(): a score's probability of converting, for the scores views.
CREATE  FUNCTION lead_score."likelihood"(
	"score" double precision, /* f64 */
	"intercept" double precision, /* f64 */
	"points_per_doubling" double precision /* f64 */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'likelihood_wrapper';

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
               END AS likelihood
          FROM lead_score.%3$I s
         CROSS JOIN (SELECT a.pql_tag, a.score_100_curve, a.score_100_scale, a.scored_version,
                            a.likelihood_intercept, a.likelihood_points_per_doubling
                       FROM lead_score.attachment_store a WHERE a.profile_id = %4$s) m$ddl$,
        view_name, contact_key, state_table, profile_id);
END
$fn$;
REVOKE ALL ON FUNCTION lead_score.create_scores_view(name, name, name, bigint) FROM PUBLIC;

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
    RETURN changed;
END
$$;

REVOKE ALL ON FUNCTION lead_score.upgrade_attachments() FROM PUBLIC;

-- verify() names what differs: a fourth column, so a new return type.
DROP FUNCTION lead_score.verify(text);
CREATE FUNCTION lead_score."verify"(
	"profile" TEXT /* & str */
) RETURNS TABLE (
	"contact" TEXT,  /* String */
	"stored" double precision,  /* Option < f64 > */
	"recomputed" double precision,  /* Option < f64 > */
	"difference" TEXT  /* String */
)
STRICT SECURITY DEFINER
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'verify_wrapper';
REVOKE ALL ON FUNCTION lead_score.verify(text) FROM PUBLIC;

-- stats() runs as its caller, who must be able to read every attached table.
ALTER FUNCTION lead_score.stats(text) SECURITY INVOKER;

-- score() with a time recomputes from history, which a parallel worker cannot do.
ALTER FUNCTION lead_score.score(text, text, timestamp with time zone) PARALLEL RESTRICTED;
ALTER FUNCTION lead_score.score(text, anyelement, timestamp with time zone) PARALLEL RESTRICTED;

-- score() and score_record() pin their search_path.
ALTER FUNCTION lead_score.score(text, text, timestamp with time zone) SET search_path = pg_catalog, lead_score, pg_temp;
ALTER FUNCTION lead_score.score_record(text, jsonb, jsonb, timestamp with time zone, boolean)
    SET search_path = pg_catalog, lead_score, pg_temp;

-- Functions whose bodies changed.
CREATE OR REPLACE FUNCTION lead_score.attach(profile text, contacts regclass, events regclass,
                                  options jsonb DEFAULT '{}')
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

CREATE OR REPLACE FUNCTION lead_score.detach(profile text)
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

CREATE OR REPLACE FUNCTION lead_score.announce(t lead_score.transitions)
RETURNS void LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT pg_catalog.pg_notify('lead_score',
        pg_catalog.json_build_object('id', t.id, 'profile', t.profile)::pg_catalog.text)
$$;

CREATE OR REPLACE FUNCTION lead_score.clear_tag(profile text, contact text, tag text DEFAULT NULL)
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
                format('cleared by %s', session_user), 'clear_tag', session_user)
        RETURNING * INTO logged;
        PERFORM lead_score.announce(logged);
        count := count + 1;
    END LOOP;
    PERFORM lead_score.mirror_tags(target.id, contact);
    RETURN count;
END
$$;

CREATE OR REPLACE FUNCTION lead_score.forget(profile text, contact text)
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
            'forget', session_user);
    PERFORM lead_score.mirror_tags(target.id, contact);
    IF adjustments_erased > 0
       AND EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = target.id) THEN
        PERFORM lead_score.rescore(target.name, contact);
    END IF;
    RETURN tags_erased + rows_erased + adjustments_erased;
END
$$;

CREATE OR REPLACE FUNCTION lead_score.cron_expression(every interval)
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
    -- name must reach them.
    IF new_name IS NOT NULL AND new_name IS DISTINCT FROM target.name THEN
        PERFORM lead_score.invalidate_scoring_cache();
    END IF;
END
$$;

-- Views whose definitions changed (same columns).
CREATE OR REPLACE VIEW lead_score.attachments AS
SELECT p.name AS profile, a.contacts, a.contact_key, a.key_type, a.events, a.event_contact,
       a.event_type, a.event_time, a.event_props, a.accounts, a.contact_account, a.account_key,
       (SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c
         WHERE c.relname OPERATOR(pg_catalog.=) a.view_name
           AND c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace) AS scores,
       a.scored_version, a.attached_at, a.attached_by
  FROM lead_score.attachment_store a
  JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) a.profile_id;

CREATE OR REPLACE VIEW lead_score.profiles AS
SELECT p.name,
       p.description,
       CASE WHEN p.active_version IS NULL THEN 'draft' ELSE 'published' END AS status,
       p.active_version,
       -- Compared, not tracked: reverting a draft to the active version clears it.
       (p.active_version IS NULL
        -- (v.settings is NULL only without an active version, caught above.)
        OR (p.settings OPERATOR(pg_catalog.=) v.settings) IS NOT TRUE
        OR (coalesce((SELECT pg_catalog.jsonb_object_agg(r.name, r.body) FROM lead_score.rule_store r
                       WHERE r.profile_id OPERATOR(pg_catalog.=) p.id AND r.version IS NULL), '{}')
            OPERATOR(pg_catalog.=)
            coalesce((SELECT pg_catalog.jsonb_object_agg(r.name, r.body) FROM lead_score.rule_store r
                       WHERE r.profile_id OPERATOR(pg_catalog.=) p.id
                         AND r.version OPERATOR(pg_catalog.=) p.active_version), '{}')) IS NOT TRUE)
       AS has_unpublished_changes,
       (SELECT pg_catalog.count(*) FROM lead_score.rule_store r
         WHERE r.profile_id OPERATOR(pg_catalog.=) p.id AND r.version IS NULL) AS draft_rules,
       p.settings AS draft_settings,
       v.published_at,
       v.published_by,
       p.created_at,
       p.created_by,
       p.updated_at,
       p.updated_by
  FROM lead_score.profile_store p
  LEFT JOIN lead_score.version_store v ON v.profile_id OPERATOR(pg_catalog.=) p.id AND v.version OPERATOR(pg_catalog.=) p.active_version;

-- explain(): the rules behind a contact's score.
CREATE FUNCTION lead_score."explain"(
	"profile" TEXT, /* Option < & str > */
	"contact" TEXT, /* Option < & str > */
	"at" timestamp with time zone DEFAULT NULL /* Option < TimestampWithTimeZone > */
) RETURNS TABLE (
	"rule_name" TEXT,  /* String */
	"kind" TEXT,  /* String */
	"dimension" TEXT,  /* Option < String > */
	"events" bigint,  /* Option < i64 > */
	"points" double precision  /* Option < f64 > */
)
STABLE
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'explain_wrapper';

-- explain() with the contact's key in its own type.
CREATE FUNCTION lead_score.explain(profile text, contact anyelement, at timestamptz DEFAULT NULL)
RETURNS TABLE(rule_name text, kind text, dimension text, events bigint, points float8)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT e.rule_name, e.kind, e.dimension, e.events, e.points FROM lead_score.explain(profile, contact::text, at) AS e $$;

-- preview() and preview_summary(): what publishing a draft or another version would change.
CREATE FUNCTION lead_score."preview"(
	"profile" TEXT, /* Option < & str > */
	"version" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"contact" TEXT,  /* String */
	"active_score" double precision,  /* Option < f64 > */
	"new_score" double precision,  /* f64 */
	"active_rank" bigint,  /* Option < i64 > */
	"new_rank" bigint,  /* i64 */
	"change" TEXT  /* Option < String > */
)
SECURITY DEFINER
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'preview_wrapper';

-- preview() scores every contact with a draft or another version: an editing function,
-- like publish (see the GRANT in docs/reference.md, "Who may edit").
REVOKE ALL ON FUNCTION lead_score.preview(text, integer) FROM PUBLIC;

-- What publishing the draft (or `version`) would change, in numbers: contacts whose
-- score moves, newly tagged per tag, newly disqualified and requalified, the mean
-- absolute change, and Spearman's rank correlation between the two orders (ranks of
-- tied scores averaged).
CREATE FUNCTION lead_score.preview_summary(profile text, version integer DEFAULT NULL)
RETURNS TABLE(metric text, value float8)
LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    WITH p AS (SELECT * FROM lead_score.preview(profile, version)),
    scored AS (
        SELECT p.active_score, p.new_score,
               pg_catalog.rank() OVER (ORDER BY p.active_score DESC)
               OPERATOR(pg_catalog.+) (pg_catalog.count(*) OVER (PARTITION BY p.active_score)
                                       OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog./) 2.0 AS active_rank,
               pg_catalog.rank() OVER (ORDER BY p.new_score DESC)
               OPERATOR(pg_catalog.+) (pg_catalog.count(*) OVER (PARTITION BY p.new_score)
                                       OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog./) 2.0 AS new_rank
          FROM p WHERE p.active_score IS NOT NULL),
    changes AS (
        SELECT c AS change FROM p, pg_catalog.unnest(pg_catalog.string_to_array(p.change, ', ')) AS c)
    SELECT m.metric, m.value FROM (
        SELECT 1 AS n, 'contacts' AS metric, pg_catalog.count(*)::float8 AS value FROM p
        UNION ALL
        SELECT 2, 'score changes',
               pg_catalog.count(*) FILTER (WHERE p.active_score IS NULL
                   OR pg_catalog.abs(p.new_score OPERATOR(pg_catalog.-) p.active_score) OPERATOR(pg_catalog.>) 1e-9)::float8
          FROM p
        UNION ALL
        SELECT 3, 'mean absolute change',
               coalesce(pg_catalog.avg(pg_catalog.abs(s.new_score OPERATOR(pg_catalog.-) s.active_score)), 0)
          FROM scored s
        UNION ALL
        SELECT 4, 'rank correlation',
               pg_catalog.corr(s.active_rank::float8, s.new_rank::float8) FROM scored s
        UNION ALL
        SELECT 5, 'disqualified', pg_catalog.count(*) FILTER (WHERE c.change OPERATOR(pg_catalog.=) 'disqualified')::float8
          FROM changes c
        UNION ALL
        SELECT 6, 'requalified', pg_catalog.count(*) FILTER (WHERE c.change OPERATOR(pg_catalog.=) 'requalified')::float8
          FROM changes c
        UNION ALL
        SELECT 7, c.change, pg_catalog.count(*)::float8 FROM changes c
         WHERE pg_catalog.starts_with(c.change, 'tagged ') GROUP BY c.change
    ) m ORDER BY m.n, m.metric
$$;
REVOKE ALL ON FUNCTION lead_score.preview_summary(text, integer) FROM PUBLIC;

-- next_actions(): what a contact could do next.
CREATE FUNCTION lead_score."next_actions"(
	"profile" TEXT, /* Option < & str > */
	"contact" TEXT, /* Option < & str > */
	"n" INT DEFAULT 3 /* Option < i32 > */
) RETURNS TABLE (
	"rule_name" TEXT,  /* String */
	"event" TEXT,  /* String */
	"points" double precision,  /* f64 */
	"crosses" TEXT  /* Option < String > */
)
STABLE
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'next_actions_wrapper';

-- next_actions() with the contact's key in its own type.
CREATE FUNCTION lead_score.next_actions(profile text, contact anyelement, n integer DEFAULT 3)
RETURNS TABLE(rule_name text, event text, points float8, crosses text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT a.rule_name, a.event, a.points, a.crosses FROM lead_score.next_actions(profile, contact::text, n) AS a $$;

-- scores_at(): every contact as it stood at another time.
CREATE FUNCTION lead_score."scores_at"(
	"profile" TEXT, /* & str */
	"at" timestamp with time zone /* TimestampWithTimeZone */
) RETURNS TABLE (
	"contact" TEXT,  /* String */
	"score" double precision,  /* f64 */
	"fit_score" double precision,  /* f64 */
	"engagement_score" double precision,  /* f64 */
	"disqualified" bool  /* bool */
)
STRICT SECURITY DEFINER
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'scores_at_wrapper';

-- scores_at() shows every contact's score, whoever may see which: for roles granted it.
REVOKE ALL ON FUNCTION lead_score.scores_at(text, timestamptz) FROM PUBLIC;

-- score_history(): a contact's score at each step.
CREATE FUNCTION lead_score."score_history"(
	"profile" TEXT, /* Option < & str > */
	"contact" TEXT, /* Option < & str > */
	"since" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"until" timestamp with time zone DEFAULT NULL, /* Option < TimestampWithTimeZone > */
	"step" interval DEFAULT '1 day' /* Option < Interval > */
) RETURNS TABLE (
	"at" timestamp with time zone,  /* TimestampWithTimeZone */
	"score" double precision,  /* f64 */
	"fit_score" double precision,  /* f64 */
	"engagement_score" double precision  /* f64 */
)
STABLE PARALLEL RESTRICTED
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'score_history_wrapper';

-- score_history() with the contact's key in its own type.
CREATE FUNCTION lead_score.score_history(profile text, contact anyelement, since timestamptz,
                                         until timestamptz DEFAULT NULL, step interval DEFAULT '1 day')
RETURNS TABLE(at timestamptz, score float8, fit_score float8, engagement_score float8)
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT h.at, h.score, h.fit_score, h.engagement_score
      FROM lead_score.score_history(profile, contact::text, since, until, step) AS h
$$;

-- Manual adjustments (sql/adjustments.sql).
-- Manual adjustments: points a person gives a contact by hand ("met at the trade show:
-- +10"), through lead_score.adjust(profile, contact, points, reason, half_life), defined
-- in Rust (src/pg/adjustments.rs). Scoring folds them into the contact's engagement like
-- an event that always counts: from their own time on, decaying with their own
-- half-life (never, without one). Every recomputation (publish, rescore, tick, verify,
-- explain, preview, scores at another time) reads them from here.
--
-- They cannot be recomputed from the CRM's data, so the table and its sequence are
-- registered with pg_extension_config_dump. Only lead_score.adjust() writes it (as the
-- extension's owner); lead_score.forget() erases a contact's adjustments with the rest.

CREATE TABLE lead_score.adjustment_store (
    id            bigserial PRIMARY KEY,
    profile_id    bigint NOT NULL REFERENCES lead_score.profile_store ON DELETE CASCADE,
    -- As the contacts' key type prints it (see lead_score.stored_key).
    contact_key   text NOT NULL,
    points        float8 NOT NULL,
    -- NULL: the points never decay.
    half_life     interval,
    reason        text NOT NULL,
    adjusted_at   timestamptz NOT NULL,
    adjusted_by   text NOT NULL,
    -- Finite, and small enough that no sum of them overflows a stored score.
    CONSTRAINT adjustment_points_are_bounded
        CHECK (pg_catalog.abs(points) OPERATOR(pg_catalog.<=) 1e9),
    -- Measured as the scoring measures it: extract(epoch from ...).
    CONSTRAINT adjustment_half_life_is_positive
        CHECK (pg_catalog.date_part('epoch', half_life) OPERATOR(pg_catalog.>) 0),
    CONSTRAINT adjustment_reason_is_trimmed_and_short
        CHECK (reason OPERATOR(pg_catalog.<>) '' AND reason OPERATOR(pg_catalog.=) pg_catalog.btrim(reason)
               AND pg_catalog.octet_length(reason) OPERATOR(pg_catalog.<=) 500)
);
CREATE INDEX ON lead_score.adjustment_store (profile_id, contact_key);
SELECT pg_catalog.pg_extension_config_dump('lead_score.adjustment_store', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.adjustment_store_id_seq', '');
COMMENT ON TABLE lead_score.adjustment_store IS
    'Manual score adjustments (written by lead_score.adjust only); read them through lead_score.adjustments';

-- Whether the calling role may see the contact `contact_key` of a profile, as the
-- profile's scores view decides: the contacts table's owner (and its members) sees
-- every contact; others see the contacts they may SELECT, under the table's row-level
-- security. A profile that is not attached shows its contacts to nobody but the owner
-- of the adjustments. Runs as the caller (never as the extension's owner, which is not
-- subject to the policy below): the key is compared in its own type, a built-in one.
CREATE FUNCTION lead_score.may_see_contact(profile_id bigint, contact_key text)
RETURNS boolean LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    att lead_score.attachment_store;
    seen boolean;
BEGIN
    SELECT * INTO att FROM lead_score.attachment_store a WHERE a.profile_id OPERATOR(pg_catalog.=) profile_id;
    IF NOT FOUND THEN
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
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM ONLY %s c WHERE c.%I OPERATOR(pg_catalog.=) $1::%s)',
                              att.contacts, att.contact_key, att.key_type)
       INTO seen USING contact_key;
    RETURN seen;
END
$$;

-- Everyone may read the adjustments of the contacts they may see.
ALTER TABLE lead_score.adjustment_store ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible_contacts ON lead_score.adjustment_store FOR SELECT
    USING (lead_score.may_see_contact(profile_id, contact_key));
GRANT SELECT ON lead_score.adjustment_store TO PUBLIC;

CREATE VIEW lead_score.adjustments WITH (security_invoker = true) AS
SELECT a.id,
       p.name AS profile,
       a.contact_key AS contact,
       a.points,
       a.half_life,
       -- What the adjustment is worth now (by the extension's clock): nothing before
       -- its time, then its points, halving every half_life.
       CASE WHEN a.adjusted_at OPERATOR(pg_catalog.>) lead_score.now() THEN 0::pg_catalog.float8
            WHEN a.half_life IS NULL THEN a.points
            ELSE lead_score.decay(a.points, lead_score.now() OPERATOR(pg_catalog.-) a.adjusted_at, a.half_life)
       END AS points_now,
       a.reason,
       a.adjusted_at,
       a.adjusted_by
  FROM lead_score.adjustment_store a
  JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) a.profile_id;
COMMENT ON VIEW lead_score.adjustments IS
    'Manual score adjustments: who gave which contact how many points, when and why (contacts you may see)';
GRANT SELECT ON lead_score.adjustments TO PUBLIC;

-- adjust(): manual adjustments.
CREATE FUNCTION lead_score."adjust"(
	"profile" TEXT, /* Option < & str > */
	"contact" TEXT, /* Option < & str > */
	"points" double precision, /* Option < f64 > */
	"reason" TEXT, /* Option < & str > */
	"half_life" interval DEFAULT NULL /* Option < Interval > */
) RETURNS bigint /* i64 */
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'adjust_wrapper';

-- adjust() with the contact's key in its own type.
CREATE FUNCTION lead_score.adjust(profile text, contact anyelement, points float8, reason text,
                                  half_life interval DEFAULT NULL)
RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT lead_score.adjust(profile, contact::pg_catalog.text, points, reason, half_life) $$;

-- Adjusting is its own right, apart from editing profiles: GRANT EXECUTE on both
-- overloads to the roles that may adjust (see docs/reference.md, "Manual adjustments").
REVOKE ALL ON FUNCTION lead_score.adjust(text, text, float8, text, interval),
                       lead_score.adjust(text, anyelement, float8, text, interval)
    FROM PUBLIC;

-- evaluate() and evaluate_bands(): a profile against outcomes.
CREATE  FUNCTION lead_score."evaluate"(
	"profile" TEXT, /* & str */
	"outcomes" regclass, /* PgRelation */
	"options" jsonb DEFAULT '{}' /* JsonB */
) RETURNS TABLE (
	"metric" TEXT,  /* String */
	"value" double precision  /* Option < f64 > */
)
STRICT STABLE PARALLEL RESTRICTED
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'evaluate_wrapper';

CREATE  FUNCTION lead_score."evaluate_bands"(
	"profile" TEXT, /* & str */
	"outcomes" regclass, /* PgRelation */
	"options" jsonb DEFAULT '{}' /* JsonB */
) RETURNS TABLE (
	"band" TEXT,  /* String */
	"low" double precision,  /* Option < f64 > */
	"high" double precision,  /* Option < f64 > */
	"contacts" bigint,  /* i64 */
	"positives" bigint,  /* i64 */
	"rate" double precision  /* Option < f64 > */
)
STRICT STABLE PARALLEL RESTRICTED
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'evaluate_bands_wrapper';

-- train(): learning a profile's draft from outcomes.
CREATE  FUNCTION lead_score."train"(
	"profile" TEXT, /* & str */
	"outcomes" regclass, /* PgRelation */
	"options" jsonb DEFAULT '{}' /* JsonB */
) RETURNS TABLE (
	"metric" TEXT,  /* String */
	"value" double precision  /* Option < f64 > */
)
STRICT
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'train_wrapper';
-- It writes a profile's draft (through the editing functions, as the caller): for
-- editors, like publish (see the GRANT in docs/reference.md, "Who may edit").
REVOKE ALL ON FUNCTION lead_score.train(text, regclass, jsonb) FROM PUBLIC;

-- Every attached profile's objects to the 0.2.0 layout.
SELECT lead_score.upgrade_attachments();
