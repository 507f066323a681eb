-- Every member object of the extension pg_lead_score, one row each, with everything
-- that defines it: two databases whose outputs are equal have the same extension.
-- (Used by tests/upgrade/run.sh to compare an updated install with a fresh one.)
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog;
WITH members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
     WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'pg_lead_score' AND d.deptype = 'e'
),
described AS (
    SELECT pg_describe_object(m.classid, m.objid, m.objsubid) AS object,
           CASE m.classid
           WHEN 'pg_proc'::regclass THEN
               (SELECT concat_ws(E'\n', pg_get_functiondef(p.oid), 'acl: ' || p.proacl::text,
                                 'cost: ' || p.procost, 'rows: ' || p.prorows, 'leakproof: ' || p.proleakproof)
                  FROM pg_proc p WHERE p.oid = m.objid AND p.prokind <> 'a')
           WHEN 'pg_class'::regclass THEN
               (SELECT concat_ws(E'\n',
                    'kind: ' || c.relkind::text, 'acl: ' || c.relacl::text, 'options: ' || c.reloptions::text,
                    format('rls: %s/%s', c.relrowsecurity, c.relforcerowsecurity),
                    CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END,
                    (SELECT string_agg(format('column %s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                              CASE WHEN a.attnotnull THEN ' NOT NULL' END,
                                              ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid)), E'\n' ORDER BY a.attnum)
                       FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                    (SELECT string_agg(format('constraint %s', pg_get_constraintdef(k.oid)), E'\n' ORDER BY pg_get_constraintdef(k.oid))
                       FROM pg_constraint k WHERE k.conrelid = c.oid),
                    (SELECT string_agg(format('index %s', regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \S+ ON', 'INDEX ON')),
                                       E'\n' ORDER BY pg_get_indexdef(i.indexrelid))
                       FROM pg_index i WHERE i.indrelid = c.oid),
                    (SELECT string_agg(format('trigger %s', pg_get_triggerdef(t.oid)), E'\n' ORDER BY t.tgname)
                       FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
                    (SELECT string_agg(format('policy %s %s %s %s', p.polname, p.polcmd, pg_get_expr(p.polqual, p.polrelid),
                                              pg_get_expr(p.polwithcheck, p.polrelid)), E'\n' ORDER BY p.polname)
                       FROM pg_policy p WHERE p.polrelid = c.oid),
                    (SELECT format('sequence %s %s %s %s', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqcycle)
                       FROM pg_sequence s WHERE s.seqrelid = c.oid))
                  FROM pg_class c WHERE c.oid = m.objid)
           WHEN 'pg_type'::regclass THEN
               (SELECT format('type %s len %s byval %s align %s storage %s in %s out %s recv %s send %s acl %s',
                              t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typinput,
                              t.typoutput, t.typreceive, t.typsend, t.typacl)
                  FROM pg_type t WHERE t.oid = m.objid)
           WHEN 'pg_operator'::regclass THEN
               (SELECT format('operator %s(%s, %s) -> %s by %s', o.oprname, o.oprleft::regtype, o.oprright::regtype,
                              o.oprresult::regtype, o.oprcode)
                  FROM pg_operator o WHERE o.oid = m.objid)
           WHEN 'pg_event_trigger'::regclass THEN
               (SELECT format('event trigger on %s tags %s function %s enabled %s owner %s', t.evtevent, t.evttags,
                              t.evtfoid::regprocedure, t.evtenabled, t.evtowner::regrole)
                  FROM pg_event_trigger t WHERE t.oid = m.objid)
           WHEN 'pg_namespace'::regclass THEN
               (SELECT 'acl: ' || n.nspacl::text FROM pg_namespace n WHERE n.oid = m.objid)
           END AS definition,
           obj_description(m.objid, m.classid::regclass::name) AS comment
      FROM members m
),
aggregates AS (
    SELECT format('aggregate %s', a.aggfnoid::regprocedure) AS object,
           format('transition %s state %s final %s combine %s serial %s deserial %s parallel %s acl %s',
                  a.aggtransfn, a.aggtranstype::regtype, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                  a.aggdeserialfn, p.proparallel, p.proacl) AS definition,
           obj_description(p.oid, 'pg_proc') AS comment
      FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
      JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
),
configuration AS (
    SELECT 'configuration tables' AS object,
           (SELECT string_agg(format('%s %s', c::regclass, coalesce(w, '')), E'\n' ORDER BY c::regclass::text)
              FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w)
             WHERE e.extname = 'pg_lead_score') AS definition,
           NULL AS comment
)
SELECT format(E'== %s\n%s%s', object, coalesce(definition, ''), E'\ncomment: ' || comment)
  FROM (SELECT * FROM described UNION ALL SELECT * FROM aggregates UNION ALL SELECT * FROM configuration) x
 ORDER BY object;
