-- The schema guard: a DDL command that would make an attached profile's triggers fail
-- on the CRM's next write, or let writes go unscored, is refused, as PostgreSQL refuses
-- to drop a column a view uses. The triggers read the attached tables' columns by name
-- and type (the options' columns and those the published rules name); renamed, dropped
-- or retyped, every write to the tables would fail from then on (42703, 42883, 55000)
-- until somebody detached the profile. So the command fails instead, at once, naming
-- the profile and what reads the column (2BP01, dependent_objects_still_exist, as for a
-- view).
--
-- Just before each DDL command (ddl_command_start) the guard notes the attached tables
-- as the catalog has them: their columns, owners, inheritance parents and the unique
-- indexes of their keys (only the catalog: about half a millisecond a command); just
-- after (ddl_command_end, before the command commits) it compares, and only when one
-- of those changed does it look at what each attachment reads (its options' columns
-- and its active rules' fields). Refused, for an attachment whose triggers are still on
-- one of its tables:
--   * a column it reads that is gone (dropped, or renamed: the message says to what)
--     or replaced (another column of the same name), or whose type changed (even to a
--     type the rules could read: the stored scores were computed from the old values);
--   * a key column (contact_key, event_contact) given a non-deterministic collation;
--   * one of its tables dropped while another still has its triggers (DROP TABLE of
--     every table it reads, DROP SCHEMA ... CASCADE, are allowed, as before: no write
--     is left to fail, and the attachment stays until detached);
--   * a new owner for one of its tables while the others keep theirs (55000, as attach
--     refuses tables with different owners: the scoring reads them as their one owner,
--     and every write would fail). REASSIGN OWNED fires no event trigger, and keeps one
--     owner for the tables of a role;
--   * the last unique index on its contacts' or accounts' key column gone (DROP INDEX,
--     DROP CONSTRAINT, the drop of a column the index INCLUDEs): two rows could then
--     share a key, and a write touching them would fail (21000). DROP INDEX
--     CONCURRENTLY commits before it ends, so it is judged before it starts, by the
--     index its statement names (see concurrent_drop_target);
--   * one of its tables made a partition (ATTACH PARTITION) or an inheritance child
--     (INHERIT): writes through the parent would not be scored (0A000, as attach
--     refuses such tables).
-- A partitioned events table is followed rather than guarded (see follow_partitions
-- and partitions_dropped): a partition created or attached under it gets the
-- profile's triggers, one detached loses them, and when one that holds events comes
-- or goes (ATTACH, DETACH), the contacts of its events are rescored in the same
-- transaction (after a DROP, whose rows are gone, the whole profile).
-- Whatever the command: ALTER TABLE on the table or on an inheritance parent, DROP
-- TYPE ... CASCADE, DROP EXTENSION ... CASCADE. Only what the command changed is
-- refused: an attachment broken before (by DDL run while a superuser had disabled the
-- guard) does not block other DDL, and a key column may go back to the attachment's
-- key type. JSON keys the rules read under props are data, not columns: no DDL changes
-- them. Drafts are not guarded: publish() checks a draft's fields against the tables.
--
-- The event trigger functions run for every DDL command of every role (event triggers
-- run as the role running the command): SECURITY DEFINER, with a pinned search_path,
-- they read only the catalog and the extension's tables and run no code of anybody's.
-- (Following a partitioned events table, they also create and drop the profile's own
-- triggers and rescore, which reads the CRM tables, and sees whether one holds a row,
-- as their one owner in a security-restricted operation, as every scoring does: no
-- query on a CRM table is planned with the extension's rights, since planning one runs
-- its owner's code (index and statistics expressions). Within a security-restricted
-- operation they refuse instead.)
-- pg_lead_score's own install and update scripts are left alone (see in_own_script).
-- A superuser may still bypass the guard (ALTER EVENT TRIGGER ... DISABLE, or
-- session_replication_role = replica), as any event trigger; writes then fail as
-- before (55000 or 42703) until the profile is detached.

-- What each attachment reads: one row per table (column_name NULL; reader 'its events
-- table', say) and per column an option or a published rule reads (reader
-- 'option "event_time"', 'rule "US"'). key_type: the keys' type, for the key columns.
CREATE FUNCTION lead_score.read_columns()
RETURNS TABLE(profile_id bigint, profile text, relation oid, reader text, column_name name, key_type oid)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    WITH read AS (
        SELECT a.profile_id, o.relation, o.reader, o.column_name, o.key_type
          FROM lead_score.attachment_store a
         CROSS JOIN LATERAL (VALUES
             (a.contacts::oid, 'its contacts table', NULL::name, NULL::oid),
             (a.events::oid, 'its events table', NULL, NULL),
             (a.accounts::oid, 'its accounts table', NULL, NULL),
             (a.contacts::oid, 'option "contact_key"', a.contact_key, a.key_type::oid),
             (a.events::oid, 'option "event_contact"', a.event_contact, a.key_type::oid),
             (a.events::oid, 'option "event_type"', a.event_type, NULL),
             (a.events::oid, 'option "event_time"', a.event_time, NULL),
             (a.events::oid, 'option "event_props"', a.event_props, NULL),
             (a.contacts::oid, 'option "contact_account"', a.contact_account, NULL),
             (a.accounts::oid, 'option "account_key"', a.account_key, NULL)
         ) AS o(relation, reader, column_name, key_type)
         WHERE o.relation IS NOT NULL AND (o.reader LIKE 'its %' OR o.column_name IS NOT NULL)
        UNION
        SELECT a.profile_id,
               CASE f.source WHEN 'contact' THEN a.contacts::oid
                             WHEN 'account' THEN a.accounts::oid
                             ELSE a.events::oid END,
               format('rule "%s"', r.name), f.column_name::name, NULL::oid
          FROM lead_score.attachment_store a
          JOIN lead_score.profile_store p ON p.id = a.profile_id
          JOIN lead_score.rule_store r ON r.profile_id = a.profile_id AND r.version = p.active_version
         CROSS JOIN LATERAL lead_score.rule_fields(r.body) f
         WHERE f.source IN ('contact', 'account', 'event')
        UNION
        -- (The stages' conditions, in the active version's settings.)
        SELECT a.profile_id,
               CASE f.source WHEN 'contact' THEN a.contacts::oid
                             WHEN 'account' THEN a.accounts::oid
                             ELSE a.events::oid END,
               format('settings %s', f.path), f.column_name::name, NULL::oid
          FROM lead_score.attachment_store a
          JOIN lead_score.profile_store p ON p.id = a.profile_id
          JOIN lead_score.version_store v ON v.profile_id = a.profile_id AND v.version = p.active_version
         CROSS JOIN LATERAL lead_score.settings_fields(v.settings) f
         WHERE f.source IN ('contact', 'account', 'event')
    )
    SELECT read.profile_id, p.name, read.relation, read.reader, read.column_name, read.key_type
      FROM read JOIN lead_score.profile_store p ON p.id = read.profile_id
     WHERE read.relation IS NOT NULL
$$;

-- The attached tables as the catalog has them now: one row per table (column_name NULL,
-- with its owner, whether it is a partition, and how many tables it inherits from) and
-- per column (for a key column an attachment needs unique, contact_key or account_key,
-- whether it has a unique index on it alone). Only the catalog: cheap enough to read
-- before every DDL command, where read_columns() (which reads every active rule) would
-- not be.
CREATE FUNCTION lead_score.attached_columns()
RETURNS TABLE(relation oid, relation_name text, column_name name, attnum smallint, type_oid oid,
              nondeterministic boolean, owner oid, partition boolean, parents integer, unique_key boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    WITH attached AS (
        SELECT DISTINCT r.relation
          FROM lead_score.attachment_store a
         CROSS JOIN LATERAL (VALUES (a.contacts::oid), (a.events::oid), (a.accounts::oid)) AS r(relation)
         WHERE r.relation IS NOT NULL
    ),
    keys AS (
        SELECT a.contacts::oid AS relation, a.contact_key AS column_name FROM lead_score.attachment_store a
        UNION
        SELECT a.accounts::oid, a.account_key FROM lead_score.attachment_store a WHERE a.accounts IS NOT NULL
    )
    SELECT c.oid, c.oid::regclass::text, NULL::name, NULL::smallint, NULL::oid, NULL::boolean,
           c.relowner, c.relispartition, (SELECT count(*)::integer FROM pg_inherits h WHERE h.inhrelid = c.oid),
           NULL::boolean
      FROM attached JOIN pg_class c ON c.oid = attached.relation
    UNION ALL
    SELECT t.attrelid, NULL, t.attname, t.attnum, t.atttypid, coalesce(NOT l.collisdeterministic, false),
           NULL, NULL, NULL,
           CASE WHEN (t.attrelid, t.attname) IN (SELECT k.relation, k.column_name FROM keys k)
                THEN EXISTS (SELECT FROM lead_score.unique_key_indexes u
                              WHERE u.relation = t.attrelid AND u.attnum = t.attnum) END
      FROM attached
      JOIN pg_attribute t ON t.attrelid = attached.relation AND t.attnum > 0 AND NOT t.attisdropped
      LEFT JOIN pg_collation l ON l.oid = t.attcollation
$$;

-- The key columns attachments in force need unique (contact_key, and account_key), with
-- the unique indexes that keep each so (none: key_index NULL). "In force": one of the
-- profile's triggers is still on one of its tables.
CREATE FUNCTION lead_score.guarded_keys()
RETURNS TABLE(profile text, relation regclass, column_name name, reader text, key_index regclass)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT p.name, k.relation, k.column_name, k.reader, i.index_oid::regclass
      FROM lead_score.attachment_store a
      JOIN lead_score.profile_store p ON p.id = a.profile_id
     CROSS JOIN LATERAL (VALUES (a.contacts, a.contact_key, 'option "contact_key"'),
                                (a.accounts, a.account_key, 'option "account_key"')) AS k(relation, column_name, reader)
      LEFT JOIN pg_attribute ka ON ka.attrelid = k.relation AND ka.attname = k.column_name
      LEFT JOIN lead_score.unique_key_indexes i ON i.relation = k.relation AND i.attnum = ka.attnum
     WHERE k.relation IS NOT NULL
       AND EXISTS (SELECT FROM pg_class c WHERE c.oid = k.relation)
       AND EXISTS (SELECT FROM lead_score.profile_triggers g
                    WHERE g.relation IN (a.contacts, a.events, coalesce(a.accounts, 0))
                      AND g.profile_id = a.profile_id)
$$;

-- The index a DROP INDEX CONCURRENTLY statement names, as parse_ident() splits it
-- (schema and name, or name), or NULL for any other statement. Its ddl_command_end
-- fires in a later transaction than its ddl_command_start, once the index is gone for
-- good, so the guard looks at the statement's text before it starts. That text is the
-- command itself: DROP INDEX CONCURRENTLY runs only as a statement of its own, never in
-- a transaction block or a function. Comments are left out; a name written some other
-- way (U&"..." escapes) gives NULL, and the guard then only warns after the drop.
CREATE FUNCTION lead_score.concurrent_drop_target(statement text)
RETURNS text[] LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT pg_catalog.parse_ident(target)
      FROM pg_catalog.substring(
               pg_catalog.regexp_replace(statement, E'/\\*.*?\\*/|--[^\\n]*', ' ', 'g'),
               E'(?i)^\\s*drop\\s+index\\s+concurrently\\s+(?:if\\s+exists\\s+)?'
               -- (a name, plain or quoted, qualified or not)
               || E'((?:"(?:[^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)(?:\\s*\\.\\s*(?:"(?:[^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*))*)'
           ) AS target
     WHERE target IS NOT NULL
$$;

-- The profile's triggers for replicated writes (ENABLE REPLICA) and its truncate
-- triggers (ENABLE ALWAYS) among `touched` that a command set back to fire for the
-- CRM's own writes alone (ENABLE TRIGGER, ENABLE TRIGGER USER or ALL, as after a bulk
-- load with DISABLE TRIGGER USER): given their modes again, since that state is never
-- one anybody asked for, and in it a logical-replication apply worker's writes would
-- not be scored. A disabled trigger stays disabled (verify() names it).
CREATE FUNCTION lead_score.restore_trigger_modes(touched oid[])
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT g.relation::regclass AS relation,
               string_agg(format('ENABLE %s TRIGGER %I',
                                 CASE WHEN g.operation = 'truncate' THEN 'ALWAYS' ELSE 'REPLICA' END, g.trigger_name),
                          ', ' ORDER BY g.trigger_name) AS subcommands
          FROM lead_score.profile_triggers g
          JOIN pg_trigger t ON t.tgrelid = g.relation AND t.tgname = g.trigger_name
         WHERE g.relation = ANY (touched) AND t.tgenabled = 'O'
           AND (g.operation = 'truncate' OR g.operation LIKE '%\_replicated')
           AND EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = g.profile_id)
         GROUP BY g.relation
         ORDER BY 1
    LOOP
        EXECUTE format('ALTER TABLE %s %s', found.relation, found.subcommands);
    END LOOP;
END
$$;

-- ddl_command_end: keep every partition of each attached partitioned events table
-- under the profile's triggers. Postgres fires no trigger when a table becomes a
-- partition or stops being one, but the rows it holds then come into or leave what the
-- parent reads; and a statement naming a partition fires only the partition's own
-- statement triggers. Whatever the command's tag (a CREATE SCHEMA's CREATE TABLE
-- elements too), for the relations it created or altered (its
-- pg_event_trigger_ddl_commands rows) and the partitions under them:
--   * a partition without all of the profile's triggers (CREATE TABLE ... PARTITION
--     OF, ATTACH PARTITION, at any level, or one that lost one) gets those it lacks;
--     unless the command created it, it may hold events, whose contacts are rescored;
--   * a table with them that is no longer a partition (DETACH PARTITION, which alters
--     its parent) loses them, and the contacts of the events it holds are rescored;
--   * a partition must be a table (0A000) with the events table's owner (55000) and
--     no row security forced (55000): the triggers read what it holds as the CRM
--     tables' owner. ALTER TABLE ... OWNER TO or FORCE ROW LEVEL SECURITY on one is
--     refused the same way.
-- Partitions the command did not touch are left as they are (a broken one elsewhere
-- does not make anybody's DDL fail: verify() reports its stale scores). Ours are
-- known by what they are, not by name (see profile_triggers). The tree is read from
-- pg_inherits (see partitions_under), locking no partition. It creates and
-- drops only its own triggers and reads no CRM table: rescore_events_in reads them as
-- their owner, in a security-restricted operation (whether a table holds a row, too);
-- within a security-restricted operation it refuses (42501) rather than act. An
-- attachment whose events table lost the profile's triggers (not in force) is left
-- alone.
CREATE FUNCTION lead_score.follow_partitions()
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    att record;
    member record;
    touched oid[];
    created oid[];
    -- The tables whose rows may have come into the tree or left it.
    moved oid[];
BEGIN
    SELECT coalesce(array_agg(DISTINCT d.objid), '{}'),
           coalesce(array_agg(DISTINCT d.objid) FILTER (WHERE d.command_tag IN ('CREATE TABLE', 'CREATE FOREIGN TABLE')),
                    '{}')
      INTO touched, created
      FROM pg_event_trigger_ddl_commands() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0;
    IF cardinality(touched) = 0 THEN
        RETURN;
    END IF;
    -- (ENABLE TRIGGER, ENABLE TRIGGER USER or ALL, after a bulk load say, gives every
    -- trigger the mode that fires for the CRM's writes alone.)
    IF NOT lead_score.in_restricted_operation() THEN
        PERFORM lead_score.restore_trigger_modes(touched);
    END IF;
    FOR att IN
        SELECT a.profile_id, p.name AS profile, a.events
          FROM lead_score.attachment_store a
          JOIN lead_score.profile_store p ON p.id = a.profile_id
          JOIN pg_class c ON c.oid = a.events
         WHERE c.relkind = 'p'
           AND EXISTS (SELECT FROM lead_score.profile_triggers g
                        WHERE g.relation = a.events AND g.profile_id = a.profile_id AND g.watched = 'events')
         ORDER BY a.profile_id
    LOOP
        moved := '{}';
        -- (The partitions the command touched, and those under them: by pg_inherits,
        -- see partitions_under. How many of the profile's operations each has a
        -- trigger of ours for.)
        FOR member IN
            SELECT t.relation::regclass AS relation,
                   (SELECT count(DISTINCT g.operation) FROM lead_score.profile_triggers g
                     WHERE g.relation = t.relation AND g.profile_id = att.profile_id
                       AND g.watched = 'events') AS ours
              FROM lead_score.partitions_under(att.events) t
             WHERE t.path && touched
             ORDER BY t.level, t.relation::regclass::text
        LOOP
            PERFORM lead_score.check_events_partition(att.events, member.relation);
            CONTINUE WHEN member.ours = lead_score.profile_trigger_count(member.relation);
            IF lead_score.in_restricted_operation() THEN
                RAISE EXCEPTION 'pg_lead_score: partition % of %, which profile "%" reads, cannot be followed within a security-restricted operation',
                    member.relation, att.events, att.profile
                    USING ERRCODE = '42501',
                          HINT = 'Index expressions, ANALYZE, autovacuum and REFRESH MATERIALIZED VIEW run functions this way; create or attach partitions directly.';
            END IF;
            PERFORM lead_score.create_statement_triggers(att.profile_id, member.relation, 'events');
            -- (One just created holds no row yet.)
            IF member.relation <> ALL (created) THEN
                moved := moved || member.relation::oid;
            END IF;
        END LOOP;
        -- (Tables with its triggers no longer under the events table: detached from a
        -- parent the command altered, or altered themselves.)
        FOR member IN
            SELECT DISTINCT g.relation::regclass AS relation
              -- (Its own by what they are, not by name: a table's owner can rename a
              -- trigger to another profile's name, ALTER TRIGGER ... RENAME.)
              FROM lead_score.profile_triggers g
             WHERE g.profile_id = att.profile_id AND g.watched = 'events'
               AND g.relation <> att.events
               AND g.relation NOT IN (SELECT t.relation FROM lead_score.partitions_under(att.events) t)
               AND (g.relation = ANY (touched) OR att.events = ANY (touched)
                    OR EXISTS (SELECT FROM lead_score.partitions_under(att.events) t WHERE t.relation = ANY (touched)))
             ORDER BY 1
        LOOP
            IF lead_score.in_restricted_operation() THEN
                RAISE EXCEPTION 'pg_lead_score: % was a partition of %, which profile "%" reads, and cannot be followed within a security-restricted operation',
                    member.relation, att.events, att.profile
                    USING ERRCODE = '42501',
                          HINT = 'Index expressions, ANALYZE, autovacuum and REFRESH MATERIALIZED VIEW run functions this way; detach partitions directly.';
            END IF;
            PERFORM lead_score.drop_statement_triggers(att.profile_id, member.relation, 'events');
            moved := moved || member.relation::oid;
        END LOOP;
        -- The contacts with an event in those tables are rescored (as rescore() would,
        -- holding the score table EXCLUSIVE; an empty table, as pg_partman attaches
        -- each month, costs no lock: see rescore_events_in).
        IF cardinality(moved) > 0 THEN
            PERFORM lead_score.rescore_events_in(att.profile, moved);
        END IF;
    END LOOP;
END
$$;

-- sql_drop: a partition of an attached events table dropped (DROP TABLE, DROP SCHEMA
-- ... CASCADE, DROP OWNED) took its events with it, and fired no trigger: the profile
-- is rescored, in the same transaction. A dropped table counts if it was in the
-- profile's tree (or carried its triggers, by the profile id they pass) when the
-- command started (noted by schema_guard_before): not by a dropped trigger's name,
-- which anybody's look-alike (a temp table's) has. A drop of the events table itself
-- does not count.
CREATE FUNCTION lead_score.partitions_dropped()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    att record;
BEGIN
    IF lead_score.in_own_script() OR TG_TAG = 'DROP TRIGGER' THEN
        RETURN;
    END IF;
    FOR att IN
        SELECT p.name AS profile
          FROM lead_score.attachment_store a
          JOIN lead_score.profile_store p ON p.id = a.profile_id
         WHERE EXISTS (SELECT FROM pg_event_trigger_dropped_objects() d
                        WHERE d.object_type IN ('table', 'foreign table')
                          AND format('%s/%s', a.profile_id, d.objid) = ANY (
                                  string_to_array(current_setting('lead_score_guard.dropping_partitions', true), ',')))
           -- (Still in force, its events table partitioned and its contacts still there.)
           AND EXISTS (SELECT FROM pg_class c WHERE c.oid = a.events AND c.relkind = 'p')
           AND EXISTS (SELECT FROM lead_score.profile_triggers g
                        WHERE g.relation = a.events AND g.profile_id = a.profile_id AND g.watched = 'events')
           AND EXISTS (SELECT FROM pg_class c WHERE c.oid = a.contacts)
         ORDER BY a.profile_id
    LOOP
        IF lead_score.in_restricted_operation() THEN
            RAISE EXCEPTION 'pg_lead_score: a partition of the events table of profile "%" cannot be dropped within a security-restricted operation',
                att.profile
                USING ERRCODE = '42501',
                      HINT = 'Index expressions, ANALYZE, autovacuum and REFRESH MATERIALIZED VIEW run functions this way; drop partitions directly.';
        END IF;
        PERFORM lead_score.rescore_for(att.profile, 'rescore');
    END LOOP;
END
$$;

-- ddl_command_start: note the attached tables as they are; refuse a DROP INDEX
-- CONCURRENTLY of the last unique index on a key (see concurrent_drop_target).
CREATE FUNCTION lead_score.schema_guard_before()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    target text[];
    refused record;
BEGIN
    IF lead_score.in_own_script() THEN
        RETURN;
    END IF;
    IF TG_TAG = 'DROP INDEX' THEN
        target := lead_score.concurrent_drop_target(pg_catalog.current_query());
    END IF;
    IF target IS NOT NULL THEN
        -- (An unqualified name is matched by name alone: the session's search_path is
        -- not this function's.)
        FOR refused IN
            SELECT k.* FROM (SELECT g.*, pg_catalog.count(g.key_index) OVER (PARTITION BY g.profile, g.reader) AS indexes
                               FROM lead_score.guarded_keys() g) k
              JOIN pg_class i ON i.oid = k.key_index
              JOIN pg_namespace n ON n.oid = i.relnamespace
             WHERE k.indexes = 1
               AND i.relname = target[pg_catalog.cardinality(target)]
               AND (pg_catalog.cardinality(target) = 1 OR n.nspname = target[pg_catalog.cardinality(target) - 1])
             ORDER BY k.profile, k.reader
        LOOP
            RAISE EXCEPTION 'cannot drop the last unique index on column "%" of table % because profile "%" keys its % by it',
                refused.column_name, refused.relation, refused.profile,
                CASE refused.reader WHEN 'option "contact_key"' THEN 'contacts' ELSE 'accounts' END
                USING ERRCODE = '2BP01',
                      DETAIL = format('Profile "%s" reads column "%s" of table %s (%s); index %s is its only unique index.',
                                      refused.profile, refused.column_name, refused.relation, refused.reader,
                                      refused.key_index),
                      HINT = format('Create the new unique index first (CREATE UNIQUE INDEX CONCURRENTLY ON %s (%I)), or detach the profile (SELECT lead_score.detach(%L)).',
                                    refused.relation, refused.column_name, refused.profile);
        END LOOP;
    END IF;
    PERFORM lead_score.schema_guard_push(
        coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c)) FROM lead_score.attached_columns() c), '[]'));
    -- The tables of the profiles' partition trees a DROP may take (profile id/table
    -- oid, for partitions_dropped: at sql_drop they are out of the catalogs). Set for
    -- every command, so a value the session set itself never reaches it.
    PERFORM pg_catalog.set_config('lead_score_guard.dropping_partitions',
        CASE WHEN pg_catalog.starts_with(TG_TAG, 'DROP ') THEN
            coalesce((SELECT pg_catalog.string_agg(DISTINCT m.profile_id || '/' || m.relation::oid, ',')
                        FROM (-- (partitions_under reads pg_inherits: pg_partition_tree would
                              -- lock every partition for anybody's DROP, until their
                              -- transaction ends.)
                              SELECT a.profile_id, t.relation
                                FROM lead_score.attachment_store a
                                JOIN pg_class c ON c.oid = a.events AND c.relkind = 'p'
                               CROSS JOIN LATERAL lead_score.partitions_under(a.events) t
                              UNION ALL
                              -- (One that carries the profile's triggers too.)
                              SELECT a.profile_id, g.relation
                                FROM lead_score.attachment_store a
                                JOIN lead_score.profile_triggers g ON g.profile_id = a.profile_id
                                                                  AND g.watched = 'events'
                               WHERE g.relation <> a.events) m), '')
        ELSE '' END, true);
END
$$;

-- ddl_command_end: refuse what the command broke (see above).
CREATE FUNCTION lead_score.schema_guard_after()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
DECLARE
    snapshot jsonb;
    refused record;
BEGIN
    IF lead_score.in_own_script() THEN
        RETURN;
    END IF;
    snapshot := lead_score.schema_guard_pop();
    -- A command that committed in the middle (DROP INDEX CONCURRENTLY) left no snapshot
    -- here: what it dropped is gone for good, and refusing now would leave a dead
    -- index, so a key it left without a unique index is only reported.
    IF snapshot IS NULL AND TG_TAG = 'DROP INDEX' THEN
        FOR refused IN
            SELECT g.* FROM lead_score.guarded_keys() g WHERE g.key_index IS NULL ORDER BY g.profile, g.reader
        LOOP
            RAISE WARNING 'column "%" of table % has no unique index, but profile "%" keys its % by it',
                refused.column_name, refused.relation, refused.profile,
                CASE refused.reader WHEN 'option "contact_key"' THEN 'contacts' ELSE 'accounts' END
                USING DETAIL = 'Once two rows share a key, every write touching them fails.',
                      HINT = format('Create a unique index on the column alone (CREATE UNIQUE INDEX CONCURRENTLY ON %s (%I)), or detach the profile (SELECT lead_score.detach(%L)).',
                                    refused.relation, refused.column_name, refused.profile);
        END LOOP;
    END IF;
    PERFORM lead_score.follow_partitions();
    IF snapshot IS NULL OR snapshot = '[]' THEN
        RETURN;
    END IF;
    -- Nothing of the attached tables gone or changed (the usual case: DDL on other
    -- tables, or that only adds to these): nothing to look into.
    IF NOT EXISTS (SELECT w.relation, w.column_name, w.attnum, w.type_oid, w.nondeterministic, w.owner,
                          w.partition, w.parents, w.unique_key
                     FROM pg_catalog.jsonb_to_recordset(snapshot) AS w(
                          relation oid, column_name name, attnum smallint, type_oid oid, nondeterministic boolean,
                          owner oid, partition boolean, parents integer, unique_key boolean)
                   EXCEPT
                   SELECT c.relation, c.column_name, c.attnum, c.type_oid, c.nondeterministic, c.owner,
                          c.partition, c.parents, c.unique_key
                     FROM lead_score.attached_columns() c) THEN
        RETURN;
    END IF;
    FOR refused IN
        WITH was AS (
            SELECT * FROM pg_catalog.jsonb_to_recordset(snapshot) AS w(
                relation oid, relation_name text, column_name name, attnum smallint, type_oid oid,
                nondeterministic boolean, owner oid, partition boolean, parents integer, unique_key boolean)
        ),
        -- What each attachment read before the command: its tables (as they were), and
        -- the columns then present.
        read AS (
            SELECT r.*, t.relation_name, t.owner, t.partition, t.parents,
                   w.attnum, w.type_oid, w.nondeterministic, w.unique_key
              FROM lead_score.read_columns() r
              JOIN was t ON t.relation = r.relation AND t.column_name IS NULL
              LEFT JOIN was w ON w.relation = r.relation AND w.column_name = r.column_name
             WHERE r.column_name IS NULL OR w.attnum IS NOT NULL
        ),
        -- Attachments still in force: one of their triggers is still on one of their tables.
        live AS (
            SELECT DISTINCT r.profile_id FROM read r
             WHERE r.column_name IS NULL
               AND EXISTS (SELECT FROM lead_score.profile_triggers g
                            WHERE g.relation = r.relation AND g.profile_id = r.profile_id)
        ),
        -- How many owners each attachment's tables had before the command and have now
        -- (a dropped table has none), and who owned them.
        owners AS (
            SELECT r.profile_id, pg_catalog.count(DISTINCT r.owner) AS before,
                   pg_catalog.count(DISTINCT c.relowner) AS after, pg_catalog.min(r.owner) AS owner_before,
                   pg_catalog.string_agg(r.relation_name, ', ' ORDER BY pg_catalog.array_position(
                       ARRAY['its contacts table', 'its events table', 'its accounts table'], r.reader)) AS tables
              FROM read r
              LEFT JOIN pg_class c ON c.oid = r.relation
             WHERE r.column_name IS NULL
             GROUP BY r.profile_id
        ),
        after_command AS (
            SELECT r.*, c.oid IS NOT NULL AS table_exists, t.attnum AS now_attnum, t.atttypid AS now_type,
                   coalesce(NOT l.collisdeterministic, false) AS now_nondeterministic, l.oid AS now_collation,
                   -- (The column now at its position: its new name, after a rename.)
                   (SELECT s.attname FROM pg_attribute s WHERE s.attrelid = r.relation
                       AND s.attnum = r.attnum AND NOT s.attisdropped) AS at_position,
                   c.relowner AS now_owner, c.relispartition AS now_partition,
                   (SELECT pg_catalog.count(*)::integer FROM pg_inherits h WHERE h.inhrelid = r.relation) AS now_parents,
                   (SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = r.relation
                     ORDER BY h.inhseqno DESC LIMIT 1) AS now_parent,
                   CASE WHEN r.unique_key THEN lead_score.has_unique_index(r.relation, r.column_name) END AS now_unique,
                   o.before AS owners_before, o.after AS owners_after, o.owner_before, o.tables
              FROM read r
              JOIN live USING (profile_id)
              JOIN owners o USING (profile_id)
              LEFT JOIN pg_class c ON c.oid = r.relation
              LEFT JOIN pg_attribute t ON t.attrelid = r.relation AND t.attname = r.column_name
                                      AND t.attnum > 0 AND NOT t.attisdropped
              LEFT JOIN pg_collation l ON l.oid = t.attcollation
        ),
        judged AS (
            SELECT n.*, CASE
                     WHEN n.column_name IS NULL THEN
                         CASE WHEN NOT n.table_exists THEN 'drop table'
                              WHEN n.now_partition AND NOT n.partition THEN 'partition'
                              WHEN n.now_parents > n.parents THEN 'inherit'
                              WHEN n.now_owner <> n.owner AND n.owners_before = 1 AND n.owners_after > 1 THEN 'owner'
                         END
                     WHEN NOT n.table_exists THEN NULL  -- (its table's row says so)
                     WHEN n.now_attnum IS NULL AND n.at_position IS NOT NULL THEN 'rename'
                     WHEN n.now_attnum IS NULL OR n.now_attnum <> n.attnum THEN 'drop column'
                     -- (A key column may take the type the attachment's keys have: a repair.)
                     WHEN n.now_type <> n.type_oid AND n.now_type IS DISTINCT FROM n.key_type THEN 'type'
                     WHEN n.key_type IS NOT NULL AND n.now_nondeterministic AND NOT n.nondeterministic THEN 'collation'
                     WHEN n.unique_key AND NOT n.now_unique AND n.reader IN ('option "contact_key"', 'option "account_key"')
                         THEN 'unique'
                   END AS kind
              FROM after_command n
        ),
        broken AS (
            SELECT j.*, CASE j.kind
                     WHEN 'drop table' THEN format('cannot drop table %s', j.relation_name)
                     WHEN 'partition' THEN
                         format('cannot attach table %s as a partition of %s', j.relation_name, j.now_parent)
                     WHEN 'inherit' THEN
                         format('cannot make table %s inherit from %s', j.relation_name, j.now_parent)
                     WHEN 'owner' THEN
                         format('cannot change owner of table %s to %s', j.relation_name, j.now_owner::regrole)
                     WHEN 'rename' THEN
                         format('cannot rename column "%s" of table %s to "%s"', j.column_name, j.relation_name,
                                j.at_position)
                     WHEN 'drop column' THEN
                         format('cannot drop column "%s" of table %s', j.column_name, j.relation_name)
                     WHEN 'type' THEN
                         format('cannot alter type of column "%s" of table %s from %s to %s', j.column_name,
                                j.relation_name, pg_catalog.format_type(j.type_oid, NULL),
                                pg_catalog.format_type(j.now_type, NULL))
                     WHEN 'collation' THEN
                         format('cannot give column "%s" of table %s the non-deterministic collation %s',
                                j.column_name, j.relation_name, j.now_collation::regcollation)
                     WHEN 'unique' THEN
                         format('cannot drop the last unique index on column "%s" of table %s', j.column_name,
                                j.relation_name)
                   END || CASE j.kind
                     WHEN 'unique' THEN format(' because profile "%s" keys its %s by it', j.profile,
                                               CASE j.reader WHEN 'option "contact_key"' THEN 'contacts'
                                                             ELSE 'accounts' END)
                     ELSE format(' because profile "%s" reads it', j.profile)
                   END AS message
              FROM judged j
             WHERE j.kind IS NOT NULL
        ),
        -- (The DETAIL lists the first ten of what the command broke, one a line.)
        lines AS (
            SELECT b.*, pg_catalog.count(*) OVER () AS total,
                   pg_catalog.row_number() OVER (ORDER BY b.profile, b.relation_name, b.column_name NULLS FIRST,
                                                          b.reader) AS n,
                   CASE WHEN b.kind = 'owner' THEN
                            format('Profile "%s" reads tables %s as their one owner, %s.', b.profile, b.tables,
                                   b.owner_before::regrole)
                        ELSE
                            format('Profile "%s" reads %s (%s).', b.profile,
                                   CASE WHEN b.column_name IS NULL THEN 'table ' || b.relation_name
                                        ELSE format('column "%s" of table %s', b.column_name, b.relation_name) END,
                                   b.reader)
                   END AS line
              FROM broken b
        )
        SELECT l.message, l.kind, l.profile, l.reader, l.relation_name, l.column_name, l.owner_before, l.now_owner,
               (SELECT pg_catalog.string_agg(x.line, E'\n' ORDER BY x.n) FROM lines x WHERE x.n <= 10)
               || CASE WHEN l.total > 10 THEN format(E'\n(and %s more)', l.total - 10) ELSE '' END AS detail
          FROM lines l
         WHERE l.n = 1
    LOOP
        RAISE EXCEPTION USING
            MESSAGE = refused.message,
            ERRCODE = CASE refused.kind WHEN 'owner' THEN '55000'
                                        WHEN 'partition' THEN '0A000'
                                        WHEN 'inherit' THEN '0A000'
                                        ELSE '2BP01' END,
            DETAIL = refused.detail,
            HINT = CASE
                -- (The bootstrap superuser's objects cannot be reassigned.)
                WHEN refused.kind = 'owner' AND refused.owner_before <> 10 THEN
                    format('Change the owner of all of its tables in one command, REASSIGN OWNED BY %s TO %s (which gives %s everything %s owns in this database), or detach the profile (SELECT lead_score.detach(%L)), change the owners and attach it again.',
                           refused.owner_before::regrole, refused.now_owner::regrole, refused.now_owner::regrole,
                           refused.owner_before::regrole, refused.profile)
                WHEN refused.kind = 'owner' THEN
                    format('Detach the profile (SELECT lead_score.detach(%L)), change the owners of its tables and attach it again.',
                           refused.profile)
                WHEN refused.kind = 'partition' THEN
                    format('Writes through its parent table would not be scored. Detach the profile first (SELECT lead_score.detach(%L)).',
                           refused.profile)
                WHEN refused.kind = 'inherit' THEN
                    format('UPDATE and DELETE through its parent table would not be scored. Detach the profile first (SELECT lead_score.detach(%L)).',
                           refused.profile)
                WHEN refused.kind = 'unique' THEN
                    format('Create the new unique index first (CREATE UNIQUE INDEX CONCURRENTLY ON %s (%I)), or detach the profile (SELECT lead_score.detach(%L)).',
                           refused.relation_name, refused.column_name, refused.profile)
                WHEN refused.column_name IS NULL THEN
                    format('Detach the profile first (SELECT lead_score.detach(%L)), or drop all of its tables in one command.',
                           refused.profile)
                WHEN pg_catalog.starts_with(refused.reader, 'rule ') THEN
                    format('First publish rules that do not read the column, or detach the profile (SELECT lead_score.detach(%L)) and attach it again after the change.',
                           refused.profile)
                ELSE
                    format('Detach the profile first (SELECT lead_score.detach(%L)) and attach it again after the change.',
                           refused.profile)
                END;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION lead_score.read_columns(), lead_score.attached_columns(), lead_score.guarded_keys(),
                       lead_score.concurrent_drop_target(text),
                       lead_score.schema_guard_before(), lead_score.schema_guard_after(),
                       lead_score.schema_guard_push(jsonb), lead_score.schema_guard_pop(),
                       lead_score.follow_partitions(), lead_score.partitions_dropped(),
                       lead_score.restore_trigger_modes(oid[])
    FROM PUBLIC;

CREATE EVENT TRIGGER lead_score_schema_guard_before ON ddl_command_start
    EXECUTE FUNCTION lead_score.schema_guard_before();
CREATE EVENT TRIGGER lead_score_schema_guard_after ON ddl_command_end
    EXECUTE FUNCTION lead_score.schema_guard_after();
CREATE EVENT TRIGGER lead_score_schema_guard_drop ON sql_drop
    EXECUTE FUNCTION lead_score.partitions_dropped();
