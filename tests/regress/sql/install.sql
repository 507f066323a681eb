-- CREATE EXTENSION puts everything in schema lead_score, which is a member of the
-- extension; DROP EXTENSION ... CASCADE leaves the database exactly as it was.
\set SHOW_CONTEXT never

-- Everything a database-level install could add, minus this session's temp objects.
CREATE FUNCTION pg_temp.catalog_snapshot()
RETURNS TABLE(kind text, name text) LANGUAGE sql AS $$
    SELECT 'schema', nspname::text FROM pg_namespace
     WHERE nspname !~ '^pg_(toast_)?temp_'
    UNION ALL
    SELECT 'relation', c.oid::regclass::text FROM pg_class c WHERE c.relpersistence <> 't'
    UNION ALL
    SELECT 'function', p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace::regnamespace::text !~ '^pg_temp_'
    UNION ALL
    SELECT 'type', t.oid::regtype::text FROM pg_type t
     WHERE t.typnamespace::regnamespace::text !~ '^pg_(toast_)?temp_'
    UNION ALL
    SELECT 'role', rolname::text FROM pg_roles
    UNION ALL
    SELECT 'event trigger', evtname::text FROM pg_event_trigger
    UNION ALL
    SELECT 'cast', castsource::regtype || ' -> ' || casttarget::regtype FROM pg_cast
$$;
CREATE TEMP TABLE before_install AS SELECT * FROM pg_temp.catalog_snapshot();

CREATE EXTENSION pg_lead_score;
SELECT extname, extnamespace::regnamespace AS extension_schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_lead_score';

-- The extension's members: this list is its whole SQL surface. (PostgreSQL 17 and later
-- also record the row types of tables and views, and array types, as members; they come
-- with their relation or element type and are left out, so one list holds for all.)
SELECT pg_describe_object(classid, objid, objsubid) AS member
  FROM pg_depend d
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_lead_score')
   AND NOT (classid = 'pg_type'::regclass
            AND EXISTS (SELECT FROM pg_type t WHERE t.oid = d.objid
                           AND (t.typrelid <> 0 OR EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid))))
 ORDER BY 1;

-- Everything the install added, by kind (TOAST tables have OID-based names: counted apart).
CREATE TEMP TABLE added AS
    SELECT * FROM pg_temp.catalog_snapshot() EXCEPT SELECT * FROM before_install;
SELECT kind, name LIKE 'pg_toast.%' AS toast, count(*) FROM added GROUP BY 1, 2 ORDER BY 1, 2;
-- Nothing cluster-wide (no roles) and nothing outside schema lead_score. (Event
-- triggers belong to the database and have no schema: the schema guard's two are
-- named lead_score_*.)
SELECT kind, name FROM added
 WHERE kind = 'role' OR NOT (name = 'lead_score' OR name LIKE 'lead_score.%' OR name LIKE 'pg_toast.%'
                             OR (kind = 'event trigger' AND name LIKE 'lead\_score\_%'));

-- Installing twice is an error, not a silent no-op.
CREATE EXTENSION pg_lead_score;
\echo :LAST_ERROR_SQLSTATE

DROP EXTENSION pg_lead_score CASCADE;
-- Nothing left behind, the schema included; nothing taken away.
SELECT 'left behind' AS problem, * FROM (
    SELECT * FROM pg_temp.catalog_snapshot() EXCEPT SELECT * FROM before_install) added
UNION ALL
SELECT 'removed', * FROM (
    SELECT * FROM before_install EXCEPT SELECT * FROM pg_temp.catalog_snapshot()) removed;

-- A lead_score schema that somebody else created is never adopted.
CREATE SCHEMA lead_score;
CREATE EXTENSION pg_lead_score;
\echo :LAST_ERROR_SQLSTATE
DROP SCHEMA lead_score;

-- The extension stays installed for the tests that follow.
CREATE EXTENSION pg_lead_score;
