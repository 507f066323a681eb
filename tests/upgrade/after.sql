-- After the update (or a restore into the new version): the database works. verify()
-- is empty for every profile; writes, publish and tick() keep scores current. Prints
-- one line per check: the check, then 't' when it holds.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SET lead_score.now = '2024-06-01 00:00:00+00';
SELECT 'version is 0.2.0', extversion = '0.2.0' FROM pg_extension WHERE extname = 'pg_lead_score';
SELECT 'attachments at the current layout', bool_and(objects_version = lead_score.objects_version())
  FROM lead_score.attachment_store;
SELECT 'verify is empty for ' || p.name, NOT EXISTS (SELECT FROM lead_score.verify(p.name))
  FROM lead_score.profile_store p ORDER BY p.name;
-- The 0.2.0 policy: the key is qualified (one policy per state table, naming ONLY).
SELECT 'policies rewritten', bool_and(pg_get_expr(p.polqual, p.polrelid) LIKE '%pg_has_role%')
  FROM pg_policy p JOIN lead_score.attachment_store a ON p.polrelid = format('lead_score.%I', a.state_table)::regclass;
-- New writes score in the same transaction.
SELECT lead_score.score('Sales', 20::bigint) AS before \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (20, 'demo', '2024-06-01');
SELECT 'a write scores', lead_score.score('Sales', 20::bigint) > :before;
INSERT INTO crm.activity (email, kind, at) VALUES ('bob@example.com', 'login', '2024-06-01');
SELECT 'a text-keyed write scores', score > 0 FROM lead_score."People_scores" WHERE email = 'bob@example.com';
-- Publishing the draft rescores everyone.
SELECT 'publish', lead_score.publish('Sales') = 3;
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (21, 'webinar', '2024-06-01');
SELECT 'the published draft scores', engagement_score >= 8 FROM lead_score."Sales_scores" WHERE id = 21;
-- tick() applies what came due.
SET lead_score.now = '2024-06-20 00:00:00+00';
SELECT 'tick', (SELECT count(*) FROM lead_score.tick()) = 2;
SELECT 'verify is empty after writes for ' || p.name, NOT EXISTS (SELECT FROM lead_score.verify(p.name))
  FROM lead_score.profile_store p ORDER BY p.name;
-- clear_tag and the new 0.2.0 behaviour.
SELECT 'clear_tag reads the key as its type', lead_score.clear_tag('Sales', '0' || min(contact_key), NULL) > 0
  FROM lead_score.tag_store WHERE profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Sales');
-- Manual adjustments, new in 0.2.0: counted at once, listed, recomputed by verify().
SELECT 'adjust', lead_score.adjust('Sales', 21::bigint, 4, 'after the update') > 0;
SELECT 'the adjustment is listed', count(*) = 1 FROM lead_score.adjustments WHERE reason = 'after the update';
SELECT 'verify is empty after adjusting', NOT EXISTS (SELECT FROM lead_score.verify('Sales'));
-- Scores views made by 0.1.0 are rebuilt with the likelihood column, stay outside the
-- extension (pg_dump keeps them), and keep their privileges.
SELECT 'scores views rebuilt with likelihood, not members, readable by PUBLIC',
       bool_and(EXISTS (SELECT FROM pg_attribute x WHERE x.attrelid = v.oid AND x.attname = 'likelihood')
                AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                   AND d.objid = v.oid AND d.deptype = 'e')
                AND EXISTS (SELECT FROM aclexplode(v.relacl) p WHERE p.grantee = 0 AND p.privilege_type = 'SELECT'))
  FROM lead_score.attachment_store a
  JOIN pg_class v ON v.oid = format('lead_score.%I', a.view_name)::regclass;
