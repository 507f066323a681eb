-- pg_lead_score 0.2.0 -> 0.3.0, run by ALTER EXTENSION pg_lead_score UPDATE.
-- What the update changes by hand (tables, data, objects made from Rust, grants);
-- each `-- @definitions FILE: names` line becomes the current definitions of those
-- functions and views from the file the install script uses, as CREATE OR REPLACE
-- (build.rs assembles sql/pg_lead_score--0.2.0--0.3.0.sql from this file). Frozen once
-- 0.3.0 is released; until then every change to the SQL surface lands here too, and
-- tests/upgrade proves that a database updated from 0.1.0 or 0.2.0 equals a fresh 0.3.0
-- install. The shared library keeps every C symbol 0.2.0's script names, so 0.2.0's
-- SQL works with the new library until this runs.
\echo Use "ALTER EXTENSION pg_lead_score UPDATE" to load this file. \quit

-- Issue 26, item 4: manual adjustments stay with the contacts table (and key column)
-- they were made on. 0.2.0 kept them by profile and contact key only: a profile
-- detached and attached to other tables gave their points and reasons to the contacts
-- of those tables with the same key, and a table keyed by another type made the
-- policy's cast fail (22P02) for every role but the owner.
--
-- The columns, as sql/adjustments.sql has them (last, as ADD COLUMN puts them).
ALTER TABLE lead_score.adjustment_store ADD COLUMN contacts regclass, ADD COLUMN key_column name;
-- Tags and transitions stay with their table too: each transition names the contacts
-- table and key column its contact key belongs to (as sql/qualification.sql has them,
-- last), so that forget() erases the contact of the table the profile is attached to
-- and leaves another table's contact with the same key alone. upgrade_attachments()
-- below records the current attachment for the transitions of attached profiles, '-'
-- (no table) for the others; detach() now clears the profile's tags (see below).
ALTER TABLE lead_score.transitions ADD COLUMN contacts regclass, ADD COLUMN key_column name;
-- The actor's default: the role calling, as every writer records it (0.2.0: session_user).
ALTER TABLE lead_score.transitions ALTER COLUMN actor SET DEFAULT lead_score.acting_role();
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
-- Issue 28: lifecycle stages. Transitions gain the kinds stage_changed and stage_set (and
-- routed, for lead routing below) (as
-- sql/qualification.sql has the constraint); settings_fields() lists the fields the
-- stages' conditions read, which publish, attach and the schema guard check like the
-- rules' (field_problems here, read_columns below); set_stage() is the one privileged
-- way to move a contact between stages. The state tables gain their stage columns, and
-- the scores views show them, in upgrade_attachments() below (objects version 3).
ALTER TABLE lead_score.transitions DROP CONSTRAINT transitions_kind_check,
    ADD CONSTRAINT transitions_kind_check
        CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['tagged', 'tag_cleared', 'disqualified', 'requalified', 'erased',
                                                     'stage_changed', 'stage_set', 'routed', 'routing_failed', 'account_tagged']));
COMMENT ON TABLE lead_score.transitions IS
    'One row per qualification event (tagged, tag cleared, disqualified, requalified, erased, stage changed or set, routed or routing failed, account tagged); append-only';
CREATE  FUNCTION lead_score."settings_fields"(
	"settings" jsonb /* AnyJsonb */
) RETURNS TABLE (
	"path" TEXT,  /* String */
	"source" TEXT,  /* String */
	"field" TEXT,  /* String */
	"column_name" TEXT  /* String */
)
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'settings_fields_wrapper';
-- @definitions sql/attach.sql: field_problems
-- @definitions sql/qualification.sql: set_stage_for_caller, set_stage
REVOKE ALL ON FUNCTION lead_score.set_stage(text, text, text), lead_score.set_stage(text, anyelement, text),
                       lead_score.set_stage_for_caller(text, text, text)
    FROM PUBLIC;

-- Fit grades and the priority matrix: the scores views gain grade, priority and
-- priority_rank, read from the scored version's grades kept here (as sql/attach.sql
-- has them, last) and computed by the three functions below (objects_version 3:
-- upgrade_attachments() below rebuilds every view with them).
ALTER TABLE lead_score.attachment_store ADD COLUMN grade_names text[],
    ADD COLUMN grade_minimums float8[], ADD COLUMN engagement_bands float8[];
-- 0.2.0's SQL refused settings with grades, but 0.3.0's library, once installed, checks
-- settings for 0.2.0's SQL too: a version published between installing it and this
-- update may have grades (already validated), which the view shows from now on. Best
-- grade first, as publish stores them.
UPDATE lead_score.attachment_store a
   SET grade_names = g.names, grade_minimums = g.minimums, engagement_bands = b.bands
  FROM lead_score.version_store v,
       LATERAL (SELECT pg_catalog.array_agg(e.key ORDER BY e.value::pg_catalog.float8 DESC) AS names,
                       pg_catalog.array_agg(e.value::pg_catalog.float8 ORDER BY e.value::pg_catalog.float8 DESC) AS minimums
                  FROM pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof(v.settings OPERATOR(pg_catalog.->) 'grades')
                                                       OPERATOR(pg_catalog.=) 'object'
                                                  THEN v.settings OPERATOR(pg_catalog.->) 'grades' END) e) g,
       LATERAL (SELECT pg_catalog.array_agg(e.value::pg_catalog.float8 ORDER BY e.n) AS bands
                  FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(v.settings OPERATOR(pg_catalog.->) 'engagement_bands')
                                                                 OPERATOR(pg_catalog.=) 'array'
                                                            THEN v.settings OPERATOR(pg_catalog.->) 'engagement_bands' END)
                       WITH ORDINALITY e(value, n)) b
 WHERE v.profile_id OPERATOR(pg_catalog.=) a.profile_id AND v.version OPERATOR(pg_catalog.=) a.scored_version
   AND g.names IS NOT NULL;
CREATE  FUNCTION lead_score."grade"(
	"fit" double precision, /* f64 */
	"names" TEXT[], /* Vec < Option < String > > */
	"minimums" double precision[] /* Vec < Option < f64 > > */
) RETURNS TEXT /* Option < String > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'grade_wrapper';
CREATE  FUNCTION lead_score."priority"(
	"fit" double precision, /* f64 */
	"engagement" double precision, /* f64 */
	"names" TEXT[], /* Vec < Option < String > > */
	"minimums" double precision[], /* Vec < Option < f64 > > */
	"bands" double precision[] /* Vec < Option < f64 > > */
) RETURNS TEXT /* Option < String > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'priority_wrapper';
CREATE  FUNCTION lead_score."priority_rank"(
	"fit" double precision, /* f64 */
	"engagement" double precision, /* f64 */
	"names" TEXT[], /* Vec < Option < String > > */
	"minimums" double precision[], /* Vec < Option < f64 > > */
	"bands" double precision[] /* Vec < Option < f64 > > */
) RETURNS INT /* Option < i32 > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'priority_rank_wrapper';
-- (objects_version() and create_scores_view() come with upgrade_attachments(), below.)

-- Bring the objects attach() made in an older version up to this version's layout:
-- run by ALTER EXTENSION ... UPDATE, and by hand after restoring a dump taken from an
-- older version. Returns how many profiles it changed. (Issue 26, item 5: it writes no
-- policy for an attachment whose contacts table was dropped, as the 0.1.0--0.2.0 script
-- now does too. From 0.2.0 nothing here reads an attached table: an attachment that
-- lost its contacts or events table keeps its oid, in the adjustments too, and stays
-- broken, 55000 when used, until detached; tests/upgrade shows both.)
-- Account scores: each attachment with accounts gets an account table and view
-- (create_account_objects, from upgrade_attachments() below, objects version 3),
-- read by the view through the four functions here; attachment_store names the view
-- and keeps the scored version's account_score and whether it has buying_roles (as
-- sql/attach.sql has them, last). Transitions gain the kind account_tagged (above).
ALTER TABLE lead_score.attachment_store ADD COLUMN account_view name UNIQUE,
    ADD COLUMN account_scoring text, ADD COLUMN account_roles boolean;
CREATE  FUNCTION lead_score."account_score"(
	"scores" double precision[], /* Vec < Option < f64 > > */
	"scoring" TEXT /* & str */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_score_wrapper';
CREATE  FUNCTION lead_score."engaged_roles"(
	"roles" TEXT[], /* Vec < Option < String > > */
	"scores" double precision[] /* Vec < Option < f64 > > */
) RETURNS TEXT[] /* Vec < String > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'engaged_roles_wrapper';
CREATE  FUNCTION lead_score."engaged_contacts"(
	"scores" double precision[] /* Vec < Option < f64 > > */
) RETURNS INT /* i32 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'engaged_contacts_wrapper';
CREATE  FUNCTION lead_score."best_contact"(
	"contact_keys" TEXT[], /* Vec < Option < String > > */
	"scores" double precision[] /* Vec < Option < f64 > > */
) RETURNS TEXT /* Option < String > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'best_contact_wrapper';
-- Account rows keep each member's engagement settled (worth the same from the write
-- on, without the caps that can no longer bind); verify() compares them by worth.
CREATE  FUNCTION lead_score."settled"(
	"sum" lead_score.Decayed, /* Decayed */
	"at" timestamp with time zone /* TimestampWithTimeZone */
) RETURNS lead_score.Decayed /* Decayed */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'settled_wrapper';
CREATE  FUNCTION lead_score."same_worth"(
	"a" lead_score.Decayed, /* Decayed */
	"b" lead_score.Decayed, /* Decayed */
	"at" timestamp with time zone /* TimestampWithTimeZone */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'same_worth_wrapper';
-- The top of the list from an index (issue 29): each score row keeps a ceiling
-- (score_ceiling), read in descending order by top(); add_score_ceiling gives a state
-- table made before 0.3.0 its column and index, with each row's ceiling as of now
-- (from upgrade_attachments(), objects version 4, at the end of this script).
CREATE  FUNCTION lead_score."score_ceiling"(
	"fit" double precision, /* f64 */
	"engagement" lead_score.Decayed, /* Decayed */
	"at" timestamp with time zone /* TimestampWithTimeZone */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'score_ceiling_wrapper';
CREATE  FUNCTION lead_score."top"(
	"profile" TEXT, /* Option < & str > */
	"n" INT DEFAULT 100, /* Option < i32 > */
	"min_score" double precision DEFAULT NULL, /* Option < f64 > */
	"pql" bool DEFAULT NULL, /* Option < bool > */
	"disqualified" bool DEFAULT NULL /* Option < bool > */
) RETURNS TABLE (
	"contact" TEXT,  /* String */
	"score" double precision  /* f64 */
)
STABLE
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'top_wrapper';
-- @definitions sql/attach.sql: add_score_ceiling
REVOKE ALL ON FUNCTION lead_score.add_score_ceiling(name) FROM PUBLIC;
-- @definitions sql/attached_objects.sql: create_account_objects
REVOKE ALL ON FUNCTION lead_score.create_account_objects(bigint, name, name, regclass, regtype) FROM PUBLIC;
-- (objects_version() and create_scores_view() first: issue 28's grades and stages.)
-- @definitions sql/attached_objects.sql: objects_version, create_scores_view, upgrade_attachments
-- (upgrade_attachments() runs at the end of this script, once everything it calls is
-- this version's.)
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
-- @definitions sql/adjustments.sql: may_see_contact

-- Everyone may read the adjustments of the contacts they may see.
CREATE POLICY visible_contacts ON lead_score.adjustment_store FOR SELECT
    USING (lead_score.may_see_contact(profile_id, contacts, key_column, contact_key));
-- Backends holding an attachment loaded under 0.2.0's SQL load it again, and with it
-- the readers of the new columns.
SELECT lead_score.invalidate_scoring_cache();

-- Issue 26, item 8: renaming a profile renames the transitions recorded under its old
-- name, so forget() (which erases by the current name) misses none. (The transitions
-- keep the name, not the id: consumers and notifications read it.)
-- (update_profile's new body, update_profile_for_caller, is defined with the other
-- editing functions' below.)

-- Issue 26, item 5: attach refuses a contacts key or events contact column under a
-- non-deterministic collation (0A000): under it the CRM's = makes one contact of keys
-- scoring tells apart, and that contact's events were lost silently.
-- (attach_for_caller, attach()'s body, is defined below.)

-- Issue 26, item 1 (in part): nothing changes profiles, versions, rules, attachments or
-- adjustments inside a security-restricted operation (see sql/finalize.sql).
CREATE  FUNCTION lead_score."in_restricted_operation"() RETURNS bool /* bool */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'in_restricted_operation_wrapper';
-- @definitions sql/finalize.sql: refuse_restricted_writes
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
-- @definitions sql/profiles.sql: locked_profile

-- Tags and transitions stay with the contacts table they were recorded for (the bug
-- class of issue 26, item 4): detach() clears the profile's tags with its score rows
-- (0.2.0 kept them, and the next attachment gave contact 3's tags to the contact 3 of
-- another table); clear_tag() and forget() record the table in the transitions they
-- write, and forget() erases only the transitions and adjustments of the table the
-- profile is attached to (and those of no known table).
-- (Their bodies, detach_for_caller, clear_tag_for_caller and forget_for_caller, are
-- defined with the other editing functions' below.)

-- Issue 26, item 1: the role calling is authorised and recorded (GetUserId()), not the
-- session's. 0.2.0's editing functions were SECURITY DEFINER, where only the session's
-- role is left to see: an editor's SECURITY DEFINER function run by a superuser attached
-- the superuser's tables. Each is now an entry (a C function, SECURITY INVOKER, keeping
-- the function's oid and the GRANTs DBAs made on it) that notes the calling role and
-- calls <name>_for_caller, which holds the body and runs as the owner, executable by
-- nobody else (src/pg/api/rights.rs, `lead_score_for_caller`).

-- The accounts' key must have a unique index on it alone, as the contacts' key must:
-- 0.2.0 attached any column of the key type, and once two accounts shared a value every
-- write touching one of their contacts failed (21000). attach() (below) checks both
-- keys with this function, and the schema guard refuses DDL that drops the last such
-- index. (Attachments made by 0.2.0 are kept as they are.)
-- @definitions sql/attach.sql: unique_key_indexes, has_unique_index
REVOKE ALL ON lead_score.unique_key_indexes FROM PUBLIC;
REVOKE ALL ON FUNCTION lead_score.has_unique_index(regclass, name) FROM PUBLIC;

-- @definitions sql/profiles.sql: create_profile_for_caller, create_profile, update_profile_for_caller, update_profile, drop_profile_for_caller, drop_profile, add_rule_for_caller, add_rule, update_rule_for_caller, update_rule, remove_rule_for_caller, remove_rule, publish_for_caller, publish, revert_draft_for_caller, revert_draft
-- (Issue 29, in part: a partitioned events table. attach() gives each partition the
-- profile's triggers, detach() drops them, through these; see the schema guard below.)
-- (Ours are known by what they are, profile_triggers; partition trees read from
-- pg_inherits, partitions_under, by the schema guard and verify().)
-- @definitions sql/attach.sql: profile_triggers, partitions_under
REVOKE ALL ON lead_score.profile_triggers FROM PUBLIC;
-- @definitions sql/attach.sql: events_tables, holds_rows_itself, profile_trigger_count, create_statement_triggers, complete_triggers, drop_statement_triggers, check_events_partition
REVOKE ALL ON FUNCTION lead_score.events_tables(regclass),
                       lead_score.partitions_under(regclass),
                       lead_score.holds_rows_itself(regclass),
                       lead_score.profile_trigger_count(regclass),
                       lead_score.complete_triggers(bigint),
                       lead_score.create_statement_triggers(bigint, regclass, text),
                       lead_score.drop_statement_triggers(bigint, regclass, text),
                       lead_score.check_events_partition(regclass, regclass)
    FROM PUBLIC;
-- @definitions sql/attach.sql: attach_for_caller, attach, detach_for_caller, detach
-- @definitions sql/qualification.sql: clear_tag_for_caller, clear_tag, forget_for_caller, forget
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
-- the calling role (src/pg/base/rights.rs, `for_caller`): a trigger's transitions name the
-- role that wrote the rows (0.2.0: the login role).
ALTER FUNCTION lead_score.on_events_change() SECURITY INVOKER;
ALTER FUNCTION lead_score.on_contacts_change() SECURITY INVOKER;
ALTER FUNCTION lead_score.on_accounts_change() SECURITY INVOKER;
ALTER FUNCTION lead_score.tick() SECURITY INVOKER;
ALTER FUNCTION lead_score.verify(text) SECURITY INVOKER;
-- acting_role() reads this backend's call in progress, which parallel workers lack.
ALTER FUNCTION lead_score.acting_role() VOLATILE PARALLEL RESTRICTED;

-- Issue 26, item 6: publish, rescore, attach and detach under write load never
-- deadlock. locked_profile() locks the profile FOR NO KEY UPDATE, which lets the
-- writers' foreign key checks through; attach() and detach() take the CRM tables'
-- locks all together or none (their new bodies are among the definitions above); the
-- triggers and rescoring, in the library, take the profile's score table first.
CREATE  FUNCTION lead_score."lock_together"(
	"relations" oid[], /* Vec < Option < pg_sys :: Oid > > */
	"mode" TEXT /* & str */
) RETURNS void
STRICT
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'lock_together_wrapper';
-- It locks any relation, with no privilege check: for attach and detach only.
REVOKE ALL ON FUNCTION lead_score.lock_together(oid[], text) FROM PUBLIC;

-- Issue 26, item 7: the schema guard (see sql/schema_guard.sql). A DDL command that
-- renames, drops or retypes a column an attached profile reads, gives a key column a
-- non-deterministic collation, or drops one of its tables while another keeps its
-- triggers, is refused (2BP01); 0.2.0 let it through, and every later write to the
-- CRM's tables failed until the profile was detached. So is one that gives one of its
-- tables a new owner while the others keep theirs (55000), drops the last unique index
-- on its contacts' or accounts' key (2BP01), or makes one of its tables a partition or
-- an inheritance child (0A000). Created last: the event triggers
-- leave this script's own commands alone, but they need every function they call.
CREATE  FUNCTION lead_score."schema_guard_push"(
	"snapshot" jsonb /* JsonB */
) RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'schema_guard_push_wrapper';
CREATE  FUNCTION lead_score."schema_guard_pop"() RETURNS jsonb /* Option < JsonB > */
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'schema_guard_pop_wrapper';
CREATE  FUNCTION lead_score."in_own_script"() RETURNS bool /* bool */
STRICT STABLE PARALLEL RESTRICTED
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'in_own_script_wrapper';
-- (Issue 29, in part: it also follows the partitions of a partitioned events table,
-- with follow_partitions and the sql_drop trigger partitions_dropped.)
-- @definitions sql/schema_guard.sql: read_columns, attached_columns, guarded_keys, concurrent_drop_target, restore_trigger_modes, follow_partitions, partitions_dropped, schema_guard_before, schema_guard_after

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
-- (follow_partitions rescores the contacts of the partitions that came or went.)
CREATE  FUNCTION lead_score."rescore_events_in"(
	"profile" TEXT, /* & str */
	"tables" oid[] /* Vec < pg_sys :: Oid > */
) RETURNS bigint /* i64 */
STRICT SECURITY DEFINER
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'rescore_events_in_wrapper';
REVOKE ALL ON FUNCTION lead_score.rescore_events_in(text, oid[]) FROM PUBLIC;

-- Lead routing (the "routing" setting): each profile's next turn (as
-- sql/qualification.sql has it), the 'routed' transition kind, and the check publish
-- and attach (above) call. The kind's constraint is the one CREATE TABLE named.
CREATE TABLE lead_score.routing_turns (
    profile_id  bigint PRIMARY KEY REFERENCES lead_score.profile_store ON DELETE CASCADE,
    next_turn   bigint NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('lead_score.routing_turns', '');
-- (The transitions' new kind 'routed' is in the constraint issue 28's stages replace above.)
CREATE  FUNCTION lead_score."check_routing"(
	"profile" TEXT, /* & str */
	"settings" jsonb, /* AnyJsonb */
	"contacts" oid, /* pg_sys :: Oid */
	"contact_key" TEXT /* & str */
) RETURNS void
STRICT
SET search_path TO pg_catalog, lead_score, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'check_routing_wrapper';
REVOKE ALL ON FUNCTION lead_score.check_routing(text, jsonb, oid, text) FROM PUBLIC;

-- Every attachment an older version made brought up to this version's objects
-- (upgrade_attachments(): objects versions 2, 3 and 4).
SELECT lead_score.upgrade_attachments();
