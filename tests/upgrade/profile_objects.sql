-- The objects attach() made for each attached profile whose tables all still exist:
-- its state table (columns, constraints, indexes, row-level security, policies,
-- privileges), its scores view (definition, options, owner) and its triggers on the
-- CRM's tables, one block each. An updated database's must equal what a fresh attach()
-- makes (tests/upgrade/run.sh detaches and attaches each profile again, then compares).
-- The view's privileges are left out: they are the user's grants, which a new attach
-- does not repeat.
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog;
WITH attached AS (
    SELECT a.*, p.name AS profile
      FROM lead_score.attachment_store a JOIN lead_score.profile_store p ON p.id = a.profile_id
     WHERE to_regclass(a.contacts::oid::regclass::text) IS NOT NULL
       AND to_regclass(a.events::oid::regclass::text) IS NOT NULL
       AND (a.accounts IS NULL OR to_regclass(a.accounts::oid::regclass::text) IS NOT NULL)
),
state AS (
    SELECT a.profile, c.oid, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.reloptions
      FROM attached a JOIN pg_class c ON c.oid = ('lead_score.' || quote_ident(a.state_table))::regclass
),
scores_view AS (
    SELECT a.profile, c.oid, c.relowner, c.reloptions
      FROM attached a JOIN pg_class c ON c.oid = ('lead_score.' || quote_ident(a.view_name))::regclass
)
SELECT format(E'== %s\n%s', profile, description)
  FROM (
    SELECT s.profile, concat_ws(E'\n',
               format('state table owner %s acl %s rls %s/%s options %s', s.relowner::regrole, s.relacl,
                      s.relrowsecurity, s.relforcerowsecurity, s.reloptions),
               (SELECT string_agg(format('column %s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                         CASE WHEN a.attnotnull THEN ' NOT NULL' END,
                                         ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid)), E'\n' ORDER BY a.attnum)
                  FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                 WHERE a.attrelid = s.oid AND a.attnum > 0 AND NOT a.attisdropped),
               (SELECT string_agg(format('constraint %s', pg_get_constraintdef(k.oid)), E'\n'
                                  ORDER BY pg_get_constraintdef(k.oid))
                  FROM pg_constraint k WHERE k.conrelid = s.oid),
               (SELECT string_agg(format('index %s', regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \S+ ON', 'INDEX ON')),
                                  E'\n' ORDER BY pg_get_indexdef(i.indexrelid))
                  FROM pg_index i WHERE i.indrelid = s.oid),
               (SELECT string_agg(format('policy %s %s %s %s roles %s', p.polname, p.polcmd,
                                         pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
                                         p.polroles::regrole[]), E'\n' ORDER BY p.polname)
                  FROM pg_policy p WHERE p.polrelid = s.oid),
               (SELECT format(E'view owner %s options %s\n%s', v.relowner::regrole, v.reloptions, pg_get_viewdef(v.oid))
                  FROM scores_view v WHERE v.profile = s.profile),
               (SELECT string_agg(format('trigger %s', pg_get_triggerdef(t.oid)), E'\n' ORDER BY t.tgname)
                  FROM pg_trigger t JOIN pg_proc f ON f.oid = t.tgfoid
                 WHERE f.pronamespace = 'lead_score'::regnamespace AND f.proname LIKE 'on\_%\_change'
                   AND t.tgargs = convert_to((SELECT a.profile_id FROM attached a WHERE a.profile = s.profile)::text || E'\\000', 'UTF8')),
               -- With accounts: the account table (as the state table above) and view.
               (SELECT concat_ws(E'\n',
                           format('account table owner %s acl %s rls %s/%s options %s', c.relowner::regrole, c.relacl,
                                  c.relrowsecurity, c.relforcerowsecurity, c.reloptions),
                           (SELECT string_agg(format('column %s %s%s%s', t.attname, format_type(t.atttypid, t.atttypmod),
                                                     CASE WHEN t.attnotnull THEN ' NOT NULL' END,
                                                     ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid)), E'\n' ORDER BY t.attnum)
                              FROM pg_attribute t LEFT JOIN pg_attrdef ad ON ad.adrelid = t.attrelid AND ad.adnum = t.attnum
                             WHERE t.attrelid = c.oid AND t.attnum > 0 AND NOT t.attisdropped),
                           (SELECT string_agg(format('index %s', regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \S+ ON', 'INDEX ON')),
                                              E'\n' ORDER BY pg_get_indexdef(i.indexrelid))
                              FROM pg_index i WHERE i.indrelid = c.oid),
                           (SELECT string_agg(format('policy %s %s %s', p.polname, p.polcmd, pg_get_expr(p.polqual, p.polrelid)),
                                              E'\n' ORDER BY p.polname)
                              FROM pg_policy p WHERE p.polrelid = c.oid),
                           (SELECT format(E'account view %s owner %s options %s\n%s', v.relname, v.relowner::regrole,
                                          v.reloptions, pg_get_viewdef(v.oid))
                              FROM attached a JOIN pg_class v ON v.oid = ('lead_score.' || quote_ident(a.account_view))::regclass
                             WHERE a.profile = s.profile))
                  FROM attached a JOIN pg_class c ON c.oid = to_regclass('lead_score.accounts_' || a.profile_id)
                 WHERE a.profile = s.profile)
           ) AS description
      FROM state s
  ) d
 ORDER BY profile;
