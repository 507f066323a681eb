-- The rows an install script leaves in the extension's own tables, one line per table
-- (its name, row count and a digest of its rows in a canonical order). With
-- describe.sql, what an install script gives a database (tests/upgrade/run.sh compares
-- a release's frozen script with the one its build generates this way).
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog;
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %s t',
              'rows of ' || c.oid::regclass::text, c.oid::regclass)
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
  JOIN pg_class c ON c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'pg_lead_score' AND d.deptype = 'e'
   AND d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p')
 ORDER BY c.oid::regclass::text \gexec
