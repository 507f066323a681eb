-- Attaching a profile to a CRM's own tables.
--
-- attach() checks every option against the catalog, creates the profile's state table
-- (keyed by the contacts' own key type, so joins are index joins), the readable
-- relation lead_score."<profile>_scores", and statement-level triggers on the CRM's
-- tables; then it scores every contact. Nothing else of the CRM's tables is altered.
-- detach() removes all of it. DROP EXTENSION ... CASCADE removes it too: the state
-- tables and views live in schema lead_score and the triggers call its functions.

CREATE TABLE lead_score.attachment_store (
    profile_id       bigint PRIMARY KEY REFERENCES lead_score.profile_store ON DELETE CASCADE,
    contacts         regclass NOT NULL,
    contact_key      name NOT NULL,
    key_type         regtype NOT NULL,
    events           regclass NOT NULL,
    event_contact    name NOT NULL,
    event_type       name NOT NULL,
    event_time       name NOT NULL,
    event_props      name,
    accounts         regclass,
    contact_account  name,
    account_key      name,
    state_table      name NOT NULL UNIQUE,
    view_name        name NOT NULL UNIQUE,
    scored_version   integer,
    -- From the scored version's settings, for the scores view's one-row join.
    pql_tag          text,
    score_100_curve  text,
    score_100_scale  float8,
    attached_at      timestamptz NOT NULL,
    attached_by      text NOT NULL,
    -- The layout of the objects attach() made for the profile (state table, policy,
    -- scores view, triggers): 1 as 0.1.0 made them, 2 since 0.2.0, 3 since 0.3.0. attach() writes the
    -- current one; a row restored from a 0.1.0 dump has none and reads 1, and
    -- lead_score.upgrade_attachments() brings such objects up to date.
    objects_version  integer NOT NULL DEFAULT 1,
    -- From the scored version's settings too, for the view's likelihood: the log-odds at
    -- a score of 0, and the points that double the odds (NULL without a likelihood).
    likelihood_intercept            float8,
    likelihood_points_per_doubling  float8,
    -- And for the view's grade and priority: the grades' names and fit minimums, best
    -- first, and the engagement bands' minimums (NULL without grades, or without bands).
    grade_names                     text[],
    grade_minimums                  float8[],
    engagement_bands                float8[],
    -- The account scores view (attached with accounts; its table is accounts_<id>),
    -- and from the scored version's settings its account_score and whether it has
    -- buying_roles.
    account_view                    name UNIQUE,
    account_scoring                 text,
    account_roles                   boolean,
    CHECK ((accounts IS NULL) OPERATOR(pg_catalog.=) (contact_account IS NULL)
           AND (accounts IS NULL) OPERATOR(pg_catalog.=) (account_key IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('lead_score.attachment_store', '');

CREATE VIEW lead_score.attachments AS
SELECT p.name AS profile, a.contacts, a.contact_key, a.key_type, a.events, a.event_contact,
       a.event_type, a.event_time, a.event_props, a.accounts, a.contact_account, a.account_key,
       (SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c
         WHERE c.relname OPERATOR(pg_catalog.=) a.view_name
           AND c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace) AS scores,
       a.scored_version, a.attached_at, a.attached_by
  FROM lead_score.attachment_store a
  JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) a.profile_id;
COMMENT ON VIEW lead_score.attachments IS 'Which tables each profile scores, and where its scores are';
GRANT SELECT ON lead_score.attachments TO PUBLIC;

-- The column `name` of `relation`, or 42703 naming the option that asked for it.
CREATE FUNCTION lead_score.attached_column(relation regclass, column_name text, option text)
RETURNS regtype LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    found_type regtype;
BEGIN
    SELECT a.atttypid::regtype INTO found_type
      FROM pg_attribute a
     WHERE a.attrelid = relation AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist (option "%")', column_name, relation, option
            USING ERRCODE = '42703';
    END IF;
    RETURN found_type;
END
$$;

-- Raise 42804 unless `actual` is one of `expected`.
CREATE FUNCTION lead_score.expect_type(relation regclass, column_name text, option text,
                                       actual regtype, expected regtype[])
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
BEGIN
    IF NOT actual = ANY (expected) THEN
        RAISE EXCEPTION 'column "%" of relation % has type %, but option "%" needs %',
            column_name, relation, actual, option, array_to_string(expected, ' or ')
            USING ERRCODE = '42804';
    END IF;
END
$$;

-- The single-column primary key of `relation`, or NULL.
CREATE FUNCTION lead_score.primary_key_column(relation regclass)
RETURNS name LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT a.attname
      FROM pg_index i
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = relation AND i.indisprimary AND i.indnkeyatts = 1
$$;

-- Every unique index that can keep a column a key: on the column alone, checked at once
-- (a deferred check lets a statement's triggers see two rows with one key) and valid,
-- with no predicate or expression (INCLUDE columns may ride along). Score rows are keyed
-- by the contacts' key, and a contact is scored with the account row its reference
-- names: two rows sharing a key would make a write touching them fail (21000). attach()
-- requires one for both keys (has_unique_index); the schema guard refuses DDL that
-- drops the last. (A view of pg_index alone, by column number: the guard's look before
-- every DDL command reads it per key column at the cost of an index lookup.)
CREATE VIEW lead_score.unique_key_indexes AS
    SELECT i.indrelid AS relation, i.indkey[0] AS attnum, i.indexrelid AS index_oid
      FROM pg_catalog.pg_index i
     WHERE i.indisunique AND i.indimmediate AND i.indisvalid AND i.indnkeyatts OPERATOR(pg_catalog.=) 1
       AND i.indpred IS NULL AND i.indexprs IS NULL;
REVOKE ALL ON lead_score.unique_key_indexes FROM PUBLIC;

CREATE FUNCTION lead_score.has_unique_index(relation regclass, column_name name)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM lead_score.unique_key_indexes u
                     JOIN pg_attribute a ON a.attrelid = u.relation AND a.attnum = u.attnum
                    WHERE u.relation = has_unique_index.relation AND a.attname = has_unique_index.column_name)
$$;

-- Problems of the active (or draft) rules and settings (the stages' conditions) against
-- the attached tables: a field that names no column. Empty when every field exists.
-- rule_name is NULL for the settings, whose problems say 'settings: ' and the path.
CREATE FUNCTION lead_score.field_problems(profile_id bigint, draft boolean)
RETURNS TABLE(rule_name text, problem text) LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    att lead_score.attachment_store;
BEGIN
    SELECT * INTO att FROM lead_score.attachment_store s WHERE s.profile_id = field_problems.profile_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT f.rule_name, CASE WHEN f.rule_name IS NULL THEN 'settings: ' ELSE '' END || CASE
             WHEN f.source = 'accounts' THEN
                 format('%s: account settings need account scores; attach with the "accounts" option and "account_scores": true', f.path)
             WHEN f.source = 'account' AND att.accounts IS NULL THEN
                 format('%s: field "account.%s" needs an accounts table; attach with the "accounts" option', f.path, f.column_name)
             WHEN f.source = 'props' AND att.event_props IS NULL THEN
                 format('%s: field "props.%s" needs an event properties column; attach with the "event_props" option', f.path, f.column_name)
             ELSE format('%s: field "%s" names no column of %s', f.path, f.field,
                         CASE f.source WHEN 'contact' THEN att.contacts
                                       WHEN 'account' THEN att.accounts
                                       ELSE att.events END)
           END
      FROM (SELECT r.name AS rule_name, '$.when' AS path, rf.source, rf.field, rf.column_name
              FROM lead_score.rule_store r
             CROSS JOIN LATERAL lead_score.rule_fields(r.body) rf
             WHERE r.profile_id = field_problems.profile_id
               AND (CASE WHEN draft THEN r.version IS NULL
                         ELSE r.version = (SELECT p.active_version FROM lead_score.profile_store p
                                            WHERE p.id = field_problems.profile_id) END)
            UNION ALL
            SELECT NULL, sf.path, sf.source, sf.field, sf.column_name
              FROM (SELECT CASE WHEN draft THEN p.settings ELSE v.settings END AS settings
                      FROM lead_score.profile_store p
                      LEFT JOIN lead_score.version_store v
                             ON v.profile_id = p.id AND v.version = p.active_version
                     WHERE p.id = field_problems.profile_id) s
             CROSS JOIN LATERAL lead_score.settings_fields(s.settings) sf) f
     WHERE CASE f.source
             WHEN 'contact' THEN NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = att.contacts
                                              AND a.attname = f.column_name AND a.attnum > 0 AND NOT a.attisdropped)
             WHEN 'account' THEN att.accounts IS NULL
                              OR NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = att.accounts
                                              AND a.attname = f.column_name AND a.attnum > 0 AND NOT a.attisdropped)
             WHEN 'accounts' THEN att.account_view IS NULL
             WHEN 'event' THEN NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = att.events
                                            AND a.attname = f.column_name AND a.attnum > 0 AND NOT a.attisdropped)
             ELSE att.event_props IS NULL
           END
     ORDER BY 1, 2;
END
$$;

REVOKE ALL ON FUNCTION lead_score.attached_column(regclass, text, text),
                       lead_score.expect_type(regclass, text, text, regtype, regtype[]),
                       lead_score.primary_key_column(regclass),
                       lead_score.has_unique_index(regclass, name)
    FROM PUBLIC;

-- pg_lead_score's triggers, known by what they are, never by name (a table's owner may
-- rename one, ALTER TRIGGER ... RENAME, or create another with one of their names):
-- our trigger function for the table it watches (events, contacts or accounts), the
-- profile's id as its one argument (profile_id; NULL for an argument that is no id),
-- and the kind create_statement_triggers makes for one operation: AFTER ... FOR EACH
-- STATEMENT with its transition tables for the CRM's writes (insert, update, delete,
-- truncate), and AFTER ... FOR EACH ROW for replicated ones (insert_replicated, ...:
-- a logical-replication apply worker fires row triggers only); no WHEN condition, no
-- column list. The one place that says which triggers are ours: the schema guard,
-- attach(), detach() and verify() read it. enabled: whether it fires for the CRM's own
-- writes, as the statement kinds must (not DISABLE TRIGGER, nor ENABLE REPLICA
-- TRIGGER); replicated: whether it fires under session_replication_role = replica, as
-- the row kinds and truncate must (ENABLE REPLICA or ENABLE ALWAYS TRIGGER);
-- inherited: a row trigger a partition has from its parent (Postgres clones those,
-- and drops them with the parent's). Only the catalog.
CREATE VIEW lead_score.profile_triggers AS
    SELECT t.tgrelid AS relation, t.tgname AS trigger_name, k.watched, o.operation,
           pg_catalog.substring(pg_catalog.encode(t.tgargs, 'escape'), '^([1-9][0-9]{0,17})\\000$')::pg_catalog.int8
               AS profile_id,
           o.per_row OR t.tgenabled OPERATOR(pg_catalog.=) ANY (ARRAY['O', 'A']::pg_catalog."char"[]) AS enabled,
           NOT (o.per_row OR o.operation OPERATOR(pg_catalog.=) 'truncate')
               OR t.tgenabled OPERATOR(pg_catalog.=) ANY (ARRAY['R', 'A']::pg_catalog."char"[]) AS replicated,
           t.tgparentid OPERATOR(pg_catalog.<>) '0'::pg_catalog.oid AS inherited
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) t.tgfoid
                               AND f.pronamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
      -- (tgtype: ROW 1, and INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32; AFTER is no bit.
      -- The transition tables' names, '' for none.)
      JOIN (VALUES ('insert', 4, false, '', 'changed'),
                   ('update', 16, false, 'before_change', 'changed'),
                   ('delete', 8, false, 'before_change', ''),
                   ('truncate', 32, false, '', ''),
                   ('insert_replicated', 5, true, '', ''),
                   ('update_replicated', 17, true, '', ''),
                   ('delete_replicated', 9, true, '', '')) AS o(operation, tgtype, per_row, old_table, new_table)
        ON t.tgtype OPERATOR(pg_catalog.=) o.tgtype
       AND pg_catalog.concat(t.tgoldtable::pg_catalog.text) OPERATOR(pg_catalog.=) o.old_table
       AND pg_catalog.concat(t.tgnewtable::pg_catalog.text) OPERATOR(pg_catalog.=) o.new_table
     CROSS JOIN LATERAL (SELECT pg_catalog.substring(f.proname::pg_catalog.text, '^on_(events|contacts|accounts)_change$')
                             AS watched) k
     WHERE k.watched IS NOT NULL
       AND t.tgnargs OPERATOR(pg_catalog.=) 1 AND NOT t.tgisinternal AND t.tgqual IS NULL
       AND pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) OPERATOR(pg_catalog.=) 0;
REVOKE ALL ON lead_score.profile_triggers FROM PUBLIC;

-- The tables under `root` in its partition tree, at every level (level 1: its own
-- partitions), each with the path to it from `root` (both ends included) and whether
-- it is detach pending. Read from pg_inherits, not pg_partition_tree(), which locks
-- every partition (AccessShareLock until the transaction ends): the schema guard reads
-- this on anybody's DDL, and a lock any reader of a partition may hold would make
-- every such command wait. A detach-pending partition (an interrupted DETACH ...
-- CONCURRENTLY) is here, as it keeps the profile's triggers until FINALIZE.
CREATE FUNCTION lead_score.partitions_under(root regclass)
RETURNS TABLE(relation oid, level integer, path oid[], detach_pending boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    WITH RECURSIVE tree(relation, level, path, detach_pending) AS (
        SELECT h.inhrelid, 1, ARRAY[root::oid, h.inhrelid], h.inhdetachpending
          FROM pg_inherits h WHERE h.inhparent = root
        UNION ALL
        SELECT h.inhrelid, t.level + 1, t.path || h.inhrelid, h.inhdetachpending
          FROM tree t JOIN pg_inherits h ON h.inhparent = t.relation
    )
    SELECT tree.relation, tree.level, tree.path, tree.detach_pending FROM tree
$$;

-- The events table and, when it is partitioned, every partition under it (at every
-- level): the tables whose statements the profile's events triggers must see. A
-- statement naming a partition fires the partition's statement triggers only, and one
-- naming its parent the parent's only (with every partition's rows in its transition
-- tables), so each of them has its own. Read from pg_inherits (partitions_under), so a
-- partition left detach pending counts: it keeps the triggers until FINALIZE.
CREATE FUNCTION lead_score.events_tables(events regclass)
RETURNS SETOF regclass LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT events WHERE EXISTS (SELECT FROM pg_class c WHERE c.oid = events)
    UNION
    SELECT t.relation::regclass FROM lead_score.partitions_under(events) t
$$;

-- Whether `relation` holds rows itself (not a partitioned table), and so gets the
-- profile's row triggers for replicated writes besides the statement ones: how many
-- triggers of a profile such a table has, 7, or 4.
CREATE FUNCTION lead_score.holds_rows_itself(relation regclass)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT c.relkind <> 'p' FROM pg_class c WHERE c.oid = relation
$$;

CREATE FUNCTION lead_score.profile_trigger_count(relation regclass)
RETURNS integer LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT CASE WHEN lead_score.holds_rows_itself(relation) THEN 7 ELSE 4 END
$$;

-- The profile's triggers on `relation`, its `watched` table (events, contacts or
-- accounts) or a partition of its events table. For the CRM's writes, statement-level
-- ones: one call per statement, the rows it touched in the transition tables `changed`
-- (new rows) and `before_change` (old rows); the truncate one ENABLE ALWAYS. For
-- replicated writes (a logical-replication apply worker, or anybody writing under
-- session_replication_role = replica), row-level ones, ENABLE REPLICA: the apply
-- worker fires no statement trigger but truncate's, and under that role the statement
-- ones leave the rows to them (see statement.rs). A partitioned table has no row
-- triggers (Postgres would clone them onto every partition, as the role creating or
-- attaching it, which may not execute our trigger functions): its partitions have
-- their own. Ours are known by what they are (profile_triggers), not by name: those
-- already there stay, whatever their names (a partition that lost one gets only what
-- it lacks); another trigger with the name one would take (somebody else's, or a
-- look-alike of another kind or profile) is refused (42710), since it would stand in
-- for ours.
CREATE FUNCTION lead_score.create_statement_triggers(profile_id bigint, relation regclass, watched text)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    trigger_row record;
    modes text[] := '{}';
BEGIN
    FOR trigger_row IN
        SELECT format('lead_score_%s_%s_%s', profile_id, watched, o.operation) AS trigger_name,
               o.operation, o.timing, o.referencing, o.mode,
               EXISTS (SELECT FROM lead_score.profile_triggers g
                        WHERE g.relation = create_statement_triggers.relation
                          AND g.profile_id = create_statement_triggers.profile_id
                          AND g.watched = create_statement_triggers.watched
                          AND g.operation = o.operation) AS present,
               EXISTS (SELECT FROM pg_trigger g
                        WHERE g.tgrelid = create_statement_triggers.relation
                          AND g.tgname = format('lead_score_%s_%s_%s', profile_id, watched, o.operation)) AS name_taken
          FROM (VALUES ('insert', 'INSERT', 'REFERENCING NEW TABLE AS changed FOR EACH STATEMENT', NULL),
                       ('update', 'UPDATE', 'REFERENCING OLD TABLE AS before_change NEW TABLE AS changed FOR EACH STATEMENT', NULL),
                       ('delete', 'DELETE', 'REFERENCING OLD TABLE AS before_change FOR EACH STATEMENT', NULL),
                       ('truncate', 'TRUNCATE', 'FOR EACH STATEMENT', 'ALWAYS'),
                       ('insert_replicated', 'INSERT', 'FOR EACH ROW', 'REPLICA'),
                       ('update_replicated', 'UPDATE', 'FOR EACH ROW', 'REPLICA'),
                       ('delete_replicated', 'DELETE', 'FOR EACH ROW', 'REPLICA')) AS o(operation, timing, referencing, mode)
         WHERE o.referencing NOT LIKE '%ROW'
            OR lead_score.holds_rows_itself(create_statement_triggers.relation)
    LOOP
        IF trigger_row.present THEN
            CONTINUE;
        ELSIF trigger_row.name_taken THEN
            RAISE EXCEPTION 'trigger "%" on % is not pg_lead_score''s, but has the name of a trigger of profile %',
                trigger_row.trigger_name, relation, profile_id
                USING ERRCODE = '42710',
                      HINT = 'pg_lead_score names its triggers lead_score_<profile id>_...; rename or drop that trigger.';
        END IF;
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s %s EXECUTE FUNCTION lead_score.%I(%L)',
                       trigger_row.trigger_name, trigger_row.timing, relation, trigger_row.referencing,
                       'on_' || watched || '_change', profile_id);
        IF trigger_row.mode IS NOT NULL THEN
            modes := modes || format('ENABLE %s TRIGGER %I', trigger_row.mode, trigger_row.trigger_name);
        END IF;
    END LOOP;
    -- (One ALTER TABLE: the schema guard fires once. On a partitioned table it reaches
    -- the row triggers' clones on its partitions too.)
    IF cardinality(modes) > 0 THEN
        EXECUTE format('ALTER TABLE %s %s', relation, array_to_string(modes, ', '));
    END IF;
END
$$;

-- The triggers a profile attached by an older version lacks (objects version 4, from
-- upgrade_attachments): each of its tables' row triggers for replicated writes (ENABLE
-- REPLICA), and its truncate triggers ENABLE ALWAYS. Only tables that still exist and
-- carry the profile's triggers (a dropped table leaves its attachment broken).
CREATE FUNCTION lead_score.complete_triggers(profile_id bigint)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT t.relation, t.watched
          FROM lead_score.attachment_store a
         CROSS JOIN LATERAL (VALUES (a.contacts::regclass, 'contacts'), (a.events::regclass, 'events'),
                                    (a.accounts::regclass, 'accounts')) AS t(relation, watched)
         WHERE a.profile_id = complete_triggers.profile_id AND t.relation IS NOT NULL
           AND EXISTS (SELECT FROM pg_class c WHERE c.oid = t.relation)
           AND EXISTS (SELECT FROM lead_score.profile_triggers g
                        WHERE g.relation = t.relation AND g.profile_id = complete_triggers.profile_id)
         ORDER BY t.watched
    LOOP
        PERFORM lead_score.create_statement_triggers(profile_id, found.relation, found.watched);
    END LOOP;
    FOR found IN
        SELECT g.relation::regclass AS relation, g.trigger_name
          FROM lead_score.profile_triggers g
          JOIN pg_trigger t ON t.tgrelid = g.relation AND t.tgname = g.trigger_name
         WHERE g.profile_id = complete_triggers.profile_id AND g.operation = 'truncate' AND t.tgenabled = 'O'
         ORDER BY 1, 2
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', found.relation, found.trigger_name);
    END LOOP;
END
$$;

-- Drop the profile's statement triggers from `relation` (a table that stopped being a
-- partition of its events table): only ours (see profile_triggers), whatever their
-- names; a renamed trigger of another profile, or one merely named like ours, stays.
CREATE FUNCTION lead_score.drop_statement_triggers(profile_id bigint, relation regclass, watched text)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    trigger_name name;
BEGIN
    FOR trigger_name IN
        SELECT g.trigger_name FROM lead_score.profile_triggers g
         WHERE g.relation = drop_statement_triggers.relation
           AND g.profile_id = drop_statement_triggers.profile_id
           AND g.watched = drop_statement_triggers.watched
           -- (A clone goes with its parent's trigger, and cannot be dropped alone.)
           AND NOT g.inherited
         ORDER BY g.trigger_name
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, relation);
    END LOOP;
END
$$;

-- Refuse a partition of an attached events table that pg_lead_score cannot keep
-- current or must not read: a foreign table (its writes happen elsewhere, and it takes
-- no trigger with transition tables), or one with another owner than the events table
-- (the triggers on it read what it holds as the CRM tables' one owner), or one with
-- row security forced (its policies would hide rows from that owner's reads, which
-- queries through the parent, whose policies apply, see).
CREATE FUNCTION lead_score.check_events_partition(events regclass, partition regclass)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    member pg_class;
    root_owner oid := (SELECT c.relowner FROM pg_class c WHERE c.oid = events);
BEGIN
    SELECT * INTO member FROM pg_class c WHERE c.oid = partition;
    IF member.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is a partition of % that is not a table, which pg_lead_score cannot keep current',
            partition, events
            USING ERRCODE = '0A000',
                  HINT = 'Only plain tables (and partitioned tables of them) can be partitions of an attached events table.';
    END IF;
    IF member.relowner <> root_owner THEN
        RAISE EXCEPTION 'partition % of % must have the same owner as its parent table, %',
            partition, events, root_owner::regrole
            USING ERRCODE = '55000',
                  HINT = format('Scoring reads the events as their owner; ALTER TABLE %s OWNER TO %s, or create its partitions as that role.',
                                partition, quote_ident(root_owner::regrole::text));
    END IF;
    IF member.relforcerowsecurity THEN
        RAISE EXCEPTION 'partition % of % has row security forced, which pg_lead_score cannot keep current',
            partition, events
            USING ERRCODE = '55000',
                  HINT = format('Scoring reads the events as their owner, whom forced policies would hide rows from; ALTER TABLE %s NO FORCE ROW LEVEL SECURITY.',
                                partition);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION lead_score.events_tables(regclass),
                       lead_score.partitions_under(regclass),
                       lead_score.holds_rows_itself(regclass),
                       lead_score.profile_trigger_count(regclass),
                       lead_score.complete_triggers(bigint),
                       lead_score.create_statement_triggers(bigint, regclass, text),
                       lead_score.drop_statement_triggers(bigint, regclass, text),
                       lead_score.check_events_partition(regclass, regclass)
    FROM PUBLIC;

-- Each score row's ceiling: a score it cannot exceed from its last write on
-- (lead_score.score_ceiling: its fit plus its engagement's positive terms, capped as the
-- engagement is), on a coarse grid so that most writes leave it as it is and its
-- update stays HOT; the index reads rows in descending ceiling order for
-- lead_score.top(). +Infinity, always read, until a write sets it. Every ceiling is
-- computed as of the earlier of the extension's clock and the transaction's start (a
-- clock set ahead would otherwise give ceilings below what the live clock reads).
-- (attach, and the update for a state table made before 0.3.0.)
CREATE FUNCTION lead_score.add_score_ceiling(state_table name)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
BEGIN
    EXECUTE format('ALTER TABLE lead_score.%I ADD COLUMN IF NOT EXISTS ceiling float8 NOT NULL DEFAULT ''Infinity''',
                   state_table);
    EXECUTE format('UPDATE lead_score.%I SET ceiling = lead_score.score_ceiling(fit, engagement, least(lead_score.now(), transaction_timestamp()))',
                   state_table);
    -- (With the key: top() reads it in pages, each after the last row read. The work
    -- queue, PQLs only, reads the tagged contacts' alone: sticky tags bound no score.)
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON lead_score.%I (ceiling, contact_key)', state_table || '_ceiling',
                   state_table);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON lead_score.%I (ceiling, contact_key) WHERE cardinality(tags) > 0',
                   state_table || '_ceiling_tagged', state_table);
END
$$;
REVOKE ALL ON FUNCTION lead_score.add_score_ceiling(name) FROM PUBLIC;

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
                                           'event_props', 'accounts', 'contact_account', 'account_key', 'view',
                                           'account_scores', 'account_view'];
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
    account_view text := coalesce(options ->> 'account_view', target.name || '_account_scores');
    -- Account scores are opt-in: each write then also updates its contacts' accounts.
    scoring_accounts boolean;
    state_table name := 'state_' || target.id;
    problem record;
    relation regclass;
    parent regclass;
    events_table regclass;
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

    IF options ? 'account_scores' AND jsonb_typeof(options -> 'account_scores') <> 'boolean' THEN
        RAISE EXCEPTION 'option "account_scores" must be true or false, got %', options -> 'account_scores'
            USING ERRCODE = '22023';
    END IF;
    scoring_accounts := coalesce((options ->> 'account_scores')::boolean, options ? 'account_view');
    IF scoring_accounts AND NOT options ? 'accounts' THEN
        RAISE EXCEPTION 'option "%" needs the "accounts" option',
                        CASE WHEN options ? 'account_scores' THEN 'account_scores' ELSE 'account_view' END
            USING ERRCODE = '22023';
    END IF;
    IF scoring_accounts THEN
        IF octet_length(account_view) > 63 THEN
            RAISE EXCEPTION 'the account scores relation name "%" is longer than 63 bytes', account_view
                USING ERRCODE = '42622', HINT = 'Name it with the "account_view" option.';
        END IF;
        IF to_regclass('lead_score.' || quote_ident(account_view)) IS NOT NULL OR account_view = view_name THEN
            RAISE EXCEPTION 'relation lead_score.% already exists', quote_ident(account_view)
                USING ERRCODE = '42P07', HINT = 'Name the account scores relation with the "account_view" option.';
        END IF;
    ELSE
        -- Account settings need account scores.
        SELECT f.path INTO unknown
          FROM lead_score.version_store v CROSS JOIN LATERAL lead_score.settings_fields(v.settings) f
         WHERE v.profile_id = target.id AND v.version = target.active_version AND f.source = 'accounts';
        IF FOUND THEN
            RAISE EXCEPTION 'profile "%", settings: %: account settings need account scores', target.name, unknown
                USING ERRCODE = '22023',
                      HINT = 'Attach with the "accounts" option and "account_scores": true, or publish settings without them.';
        END IF;
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
        -- partition takes rows written through its parent without firing them. A
        -- partitioned events table is followed: each of its partitions gets the
        -- triggers too (a statement naming a partition fires the partition's only).
        -- Partitioned contacts and accounts tables are not (yet).
        IF (SELECT c.relkind FROM pg_class c WHERE c.oid = relation) = 'p' AND relation <> events THEN
            RAISE EXCEPTION '% is a partitioned table, which pg_lead_score cannot keep current', relation
                USING ERRCODE = '0A000',
                      HINT = 'Only the events table may be partitioned. Attach an unpartitioned contacts (and accounts) table.';
        END IF;
        IF (SELECT c.relispartition FROM pg_class c WHERE c.oid = relation) THEN
            RAISE EXCEPTION '% is a partition, which pg_lead_score cannot keep current', relation
                USING ERRCODE = '0A000',
                      HINT = CASE WHEN relation = events THEN 'Writes through its parent table would not be scored. Attach its partitioned parent table as the events table.'
                                  ELSE 'Writes through its parent table would not be scored. Attach an unpartitioned table.' END;
        END IF;
        -- Nor are a table's inheritance parents': UPDATE and DELETE on a parent reach
        -- the rows of the tables inheriting from it, firing their row triggers only.
        -- (Its own children do not matter: the scoring reads ONLY the attached table.)
        SELECT h.inhparent::regclass INTO parent FROM pg_inherits h
         WHERE h.inhrelid = relation ORDER BY h.inhseqno LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION '% inherits from %, which pg_lead_score cannot keep current', relation, parent
                USING ERRCODE = '0A000',
                      HINT = 'UPDATE and DELETE through its parent table would not be scored. Attach a table that inherits from no other.';
        END IF;
        IF (SELECT c.relkind FROM pg_class c WHERE c.oid = relation) NOT IN ('r', 'p') THEN
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
    -- (Every partition of the events table: a table, with the events table's owner.)
    PERFORM lead_score.check_events_partition(events, t.relid)
       FROM pg_partition_tree(events) t WHERE t.relid <> events
      ORDER BY t.level, t.relid::regclass::text;
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
    IF NOT lead_score.has_unique_index(contacts, contact_key) THEN
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
        -- A contact is scored with its account's row: two accounts sharing a key would
        -- give it two, and a write touching it would fail (21000).
        IF NOT lead_score.has_unique_index(accounts, account_key) THEN
            RAISE EXCEPTION 'column "%" of % is not unique', account_key, accounts
                USING ERRCODE = '42P10',
                      HINT = 'Name a column with a unique index on it alone as "account_key".';
        END IF;
    ELSIF options ?| ARRAY['contact_account', 'account_key'] THEN
        RAISE EXCEPTION 'options "contact_account" and "account_key" need the "accounts" option'
            USING ERRCODE = '22023';
    END IF;

    -- CREATE TRIGGER locks each table in SHARE ROW EXCLUSIVE mode, which waits for its
    -- writers. Taken one table after the other, a writer holding one of them (a
    -- transaction that wrote a contact, then writes an event) would deadlock with it:
    -- all of them together or none, first.
    -- (A partition's too: a writer naming it locks it, not its parent.)
    PERFORM lead_score.lock_together(ARRAY[events, contacts, accounts]::oid[]
                                     || ARRAY(SELECT t::oid FROM lead_score.events_tables(events) t WHERE t <> events),
                                     'SHARE ROW EXCLUSIVE');

    INSERT INTO lead_score.attachment_store
           (profile_id, contacts, contact_key, key_type, events, event_contact, event_type, event_time,
            event_props, accounts, contact_account, account_key, state_table, view_name, attached_at, attached_by,
            objects_version, account_view)
    VALUES (target.id, contacts, contact_key, key_type, events, event_contact, event_type, event_time,
            event_props, accounts, contact_account, account_key, state_table, view_name, now(), actor,
            lead_score.objects_version(), CASE WHEN scoring_accounts THEN account_view END);

    -- Every rule field must name a column of the attached tables.
    SELECT * INTO problem FROM lead_score.field_problems(target.id, false) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'profile "%", %', target.name,
                        CASE WHEN problem.rule_name IS NULL THEN ''
                             ELSE format('rule "%s": ', problem.rule_name) END || problem.problem
            USING ERRCODE = '42703';
    END IF;

    -- So must the active version's routing (a profile published before it was attached).
    PERFORM lead_score.check_routing(target.name, v.settings, contacts::oid, contact_key::text)
       FROM lead_score.version_store v
      WHERE v.profile_id = target.id AND v.version = target.active_version;

    IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = events
                      AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a
                                          WHERE a.attrelid = events AND a.attname = event_contact)) THEN
        RAISE NOTICE '% has no index on %: each change rereads the contact''s events with a full scan',
            events, quote_ident(event_contact)
            USING HINT = format('CREATE INDEX ON %s (%I, %I);', events, event_contact, event_time);
    END IF;

    -- The columns src/pg/base/state_table.rs lists, spelled the same (a test compares them).
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
            pql_at           timestamptz,
            -- The contact's lifecycle stage (sticky: stage_changed transitions record each
            -- move), when it entered it, and its engagement then: the scores view's
            -- stage_score is the engagement gained since (the difference, both decayed).
            stage            text,
            stage_entered_at timestamptz,
            stage_base       lead_score.decayed,
            -- Which stages' conditions held at its last full computation (bit i: stage
            -- i), so that new events send it to a full computation only when it can
            -- enter one.
            stages_met       bigint
        ) WITH (fillfactor = 70)$ddl$, state_table, key_type);
    -- (Room on each page lets a new event's update stay a HOT update: no index write.)
    EXECUTE format('CREATE INDEX ON lead_score.%I (next_due) WHERE next_due IS NOT NULL', state_table);
    PERFORM lead_score.add_score_ceiling(state_table);
    EXECUTE format('ALTER TABLE lead_score.%I ENABLE ROW LEVEL SECURITY', state_table);
    PERFORM lead_score.create_visibility_policy(state_table, contacts, contact_key);
    EXECUTE format('GRANT SELECT ON lead_score.%I TO PUBLIC', state_table);
    PERFORM lead_score.create_scores_view(view_name, contact_key, state_table, target.id);
    EXECUTE format('GRANT SELECT ON lead_score.%I TO PUBLIC', view_name);
    IF scoring_accounts THEN
        PERFORM lead_score.create_account_objects(target.id, account_view, account_key, accounts,
                                                  lead_score.attached_column(accounts, account_key, 'account_key'));
    END IF;

    -- Statement-level triggers on each table (and on every partition of the events
    -- table: the schema guard gives those created or attached later theirs).
    -- (The partitions first, the events table last: each ALTER TABLE that enables
    -- triggers fires the schema guard, which acts for an attachment once its events
    -- table has the triggers, and must then find every partition with them.)
    FOR events_table IN
        SELECT t FROM lead_score.events_tables(events) t ORDER BY t OPERATOR(pg_catalog.=) events
    LOOP
        PERFORM lead_score.create_statement_triggers(target.id, events_table, 'events');
    END LOOP;
    PERFORM lead_score.create_statement_triggers(target.id, contacts, 'contacts');
    IF accounts IS NOT NULL THEN
        PERFORM lead_score.create_statement_triggers(target.id, accounts, 'accounts');
    END IF;

    PERFORM lead_score.invalidate_scoring_cache();
    PERFORM lead_score.rescore_for(target.name, 'attach');
    PERFORM lead_score.log_change(target.name, 'attach', NULL, target.active_version, NULL,
        jsonb_build_object('contacts', contacts::text, 'events', events::text, 'options', options));
END
$$;

CREATE FUNCTION lead_score.attach(profile text, contacts regclass, events regclass,
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
    partitions oid[];
BEGIN
    SELECT * INTO att FROM lead_score.attachment_store s WHERE s.profile_id = target.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" is not attached', target.name USING ERRCODE = '42704';
    END IF;
    -- DROP TRIGGER locks each table in ACCESS EXCLUSIVE mode, and DROP TABLE and DROP
    -- VIEW the scores: taken one after the other, they would deadlock with writers
    -- (whose triggers read the other tables) and readers holding one and waiting for
    -- the next. First the writers are let finish, all tables together (SHARE), then
    -- everything is taken together; see lead_score.lock_together().
    -- (The events table's partitions too: each has the profile's triggers.)
    partitions := ARRAY(SELECT t::oid FROM lead_score.events_tables(att.events) t WHERE t <> att.events);
    PERFORM lead_score.lock_together(ARRAY[att.events, att.contacts, att.accounts]::oid[] || partitions, 'SHARE');
    PERFORM lead_score.lock_together(
        ARRAY[to_regclass('lead_score.' || quote_ident(att.state_table)),
              to_regclass('lead_score.' || quote_ident(att.view_name)),
              to_regclass('lead_score.' || quote_ident('accounts_' || target.id)),
              to_regclass('lead_score.' || quote_ident(att.account_view)),
              att.events, att.contacts, att.accounts]::oid[] || partitions, 'ACCESS EXCLUSIVE');
    -- Its triggers on its tables, on the events table's partitions, and on any table
    -- that stopped being one while the schema guard was disabled.
    FOR trigger_row IN
        SELECT g.trigger_name, g.relation::regclass AS relation FROM lead_score.profile_triggers g
         -- (Ours by what they are, whatever their names: a trigger of somebody else's
         -- named like them stays, and so does another profile's renamed to their names.)
         WHERE g.profile_id = target.id AND NOT g.inherited
           AND (g.relation IN (att.contacts, att.events, coalesce(att.accounts, 0))
                OR g.relation = ANY (partitions)
                OR g.watched = 'events')
         ORDER BY g.relation, g.trigger_name
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', trigger_row.trigger_name, trigger_row.relation);
    END LOOP;
    EXECUTE format('DROP VIEW IF EXISTS lead_score.%I', att.view_name);
    EXECUTE format('DROP TABLE IF EXISTS lead_score.%I', att.state_table);
    IF att.account_view IS NOT NULL THEN
        EXECUTE format('DROP VIEW IF EXISTS lead_score.%I', att.account_view);
        EXECUTE format('DROP TABLE IF EXISTS lead_score.%I', 'accounts_' || target.id);
    END IF;
    -- The profile's tags go with its score rows: they are the detached table's contacts'
    -- (a tag is kept only for a contact with a score row), and kept they would be given
    -- to the contacts with the same keys of whatever table the profile is attached to
    -- next. (After the state table, whose lock every writer of them holds.) Their
    -- transitions stay, naming that table.
    DELETE FROM lead_score.tag_store t WHERE t.profile_id = target.id;
    DELETE FROM lead_score.attachment_store s WHERE s.profile_id = target.id;
    PERFORM lead_score.invalidate_scoring_cache();
    PERFORM lead_score.log_change(target.name, 'detach', NULL, NULL,
        jsonb_build_object('contacts', att.contacts::text, 'events', att.events::text), NULL);
END
$$;

CREATE FUNCTION lead_score.detach(profile text)
RETURNS void LANGUAGE c
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';

REVOKE ALL ON FUNCTION lead_score.attach(text, regclass, regclass, jsonb),
                       lead_score.detach(text),
                       lead_score.attach_for_caller(text, regclass, regclass, jsonb),
                       lead_score.detach_for_caller(text)
    FROM PUBLIC;
