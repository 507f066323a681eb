-- After the update (or a restore into the new version): the database works. verify()
-- is empty for every profile; writes, publish and tick() keep scores current. Prints
-- one line per check: the check, then 't' when it holds.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT 'version is ' || :'new_version', extversion = :'new_version' FROM pg_extension WHERE extname = 'pg_lead_score';
SELECT 'attachments at the current layout', bool_and(objects_version = lead_score.objects_version())
  FROM lead_score.attachment_store;
-- Account scores are opt-in at attach: no attachment an older version made has them
-- (no account table, no view, no account update on its writes).
SELECT 'no attachment an older version made has account scores',
       bool_and(a.account_view IS NULL AND to_regclass('lead_score.accounts_' || a.profile_id) IS NULL)
  FROM lead_score.attachment_store a;
-- Each transition names the contacts table and key column its contact belongs to
-- (recorded by the update, or after a restore by upgrade_attachments()): an attached
-- profile's, its attachment's; the others', '-' (no table). The tags of the profile
-- that was not attached ('Left') are cleared, as detach() now clears them.
SELECT 'every transition of an attached profile names its attachment''s contacts table and key column',
       bool_and(t.contacts = s.contacts AND t.key_column = s.contact_key) AND count(*) > 0
  FROM lead_score.transitions t
  JOIN lead_score.profile_store p ON p.name = t.profile
  JOIN lead_score.attachment_store s ON s.profile_id = p.id;
SELECT 'the transitions of the profile not attached name no table',
       bool_and(t.contacts = '-'::regclass AND t.key_column IS NULL) AND count(*) > 0
  FROM lead_score.transitions t WHERE t.profile = 'Left';
SELECT 'no transition lacks a table', NOT EXISTS (SELECT FROM lead_score.transitions WHERE contacts IS NULL);
SELECT 'the tags of the profile not attached are cleared',
       NOT EXISTS (SELECT FROM lead_score.tag_store g JOIN lead_score.profile_store p ON p.id = g.profile_id
                    WHERE p.name = 'Left');
-- Two attachments lost a table before the update (tests/upgrade/before.sql): 'Gone'
-- its contacts table, 'NoEvents' its events table. The update finished all the same
-- (the version above), and each is broken the documented way: using it raises 55000
-- (its score, a write to its table that is left), tick() reports it with NULL counts and
-- sweeps the others, and detach removes it, after which that table takes writes again.
CREATE FUNCTION pg_temp.sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
SELECT 'a profile whose contacts table was dropped: score() fails with 55000',
       pg_temp.sqlstate_of($$SELECT lead_score.score('Gone', 1::bigint)$$) = '55000';
SELECT 'and so does a write to its events table',
       pg_temp.sqlstate_of($$INSERT INTO crm.gone_contact_events (contact_id, event_type, occurred_at)
                             VALUES (1, 'call', '2024-06-02')$$) = '55000';
SELECT 'a profile whose events table was dropped: score() fails with 55000',
       pg_temp.sqlstate_of($$SELECT lead_score.score('NoEvents', 1::bigint)$$) = '55000';
SELECT 'and so does a write to its contacts table',
       pg_temp.sqlstate_of($$UPDATE crm.partners SET role = 'seller' WHERE id = 1$$) = '55000';
SELECT 'the adjustments of the broken profile name its (dropped) contacts table',
       NOT EXISTS (SELECT FROM lead_score.adjustment_store a JOIN lead_score.attachment_store s ON s.profile_id = a.profile_id
                    JOIN lead_score.profile_store p ON p.id = s.profile_id
                   WHERE p.name = 'Gone' AND a.contacts IS DISTINCT FROM s.contacts);
SELECT 'tick() reports both broken profiles with NULL counts and sweeps the other three',
       count(*) = 5 AND count(*) FILTER (WHERE checked IS NULL) = 2
       AND bool_and(profile IN ('Gone', 'NoEvents')) FILTER (WHERE checked IS NULL)
       AND bool_and(profile NOT IN ('Gone', 'NoEvents')) FILTER (WHERE checked IS NOT NULL)
  FROM lead_score.tick();
SELECT 'each kept its tag through the update', count(*) = 2
  FROM lead_score.tag_store g JOIN lead_score.profile_store p ON p.id = g.profile_id WHERE p.name IN ('Gone', 'NoEvents');
SELECT 'detach removes each', pg_temp.sqlstate_of($$SELECT lead_score.detach('Gone')$$) = 'no error'
       AND pg_temp.sqlstate_of($$SELECT lead_score.detach('NoEvents')$$) = 'no error';
SELECT 'nothing of them is left attached', NOT EXISTS (SELECT FROM lead_score.attachments WHERE profile IN ('Gone', 'NoEvents'))
       AND to_regclass('lead_score."Gone_scores"') IS NULL AND to_regclass('lead_score."NoEvents_scores"') IS NULL;
SELECT 'and clears its tags', NOT EXISTS (SELECT FROM lead_score.tag_store g JOIN lead_score.profile_store p
                                           ON p.id = g.profile_id WHERE p.name IN ('Gone', 'NoEvents'));
SELECT 'the tables left take writes again',
       pg_temp.sqlstate_of($$INSERT INTO crm.gone_contact_events (contact_id, event_type, occurred_at)
                             VALUES (1, 'call', '2024-06-02')$$) = 'no error'
       AND pg_temp.sqlstate_of($$UPDATE crm.partners SET role = 'seller' WHERE id = 1$$) = 'no error';
SELECT 'verify is empty for ' || p.name, NOT EXISTS (SELECT FROM lead_score.verify(p.name))
  FROM lead_score.profile_store p JOIN lead_score.attachment_store a ON a.profile_id = p.id ORDER BY p.name;
-- The state tables' policies let a reader see only the contacts they may see: the
-- representative sees the 2 score rows of their contacts keyed by contact_key, where
-- 0.1.0 showed all 10 (tests/upgrade/run.sh shows the leak before the update).
SET ROLE lead_score_upgrade_rep;
SELECT 'the representative sees only their 2 contacts', array_agg(contact_key ORDER BY contact_key) = '{1,2}'
  FROM lead_score."Leads_scores";
RESET ROLE;
SELECT 'everyone sees 10 there', count(*) = 10 FROM lead_score."Leads_scores";
-- New writes score in the same transaction.
SELECT lead_score.score('Sales', 20::bigint) AS before \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (20, 'demo', '2024-06-02');
SELECT 'a write scores', lead_score.score('Sales', 20::bigint) > :before;
SELECT lead_score.score('People', 'bob@example.com'::text) AS before \gset
INSERT INTO crm.activity (email, kind, at) VALUES ('bob@example.com', 'login', '2024-06-02');
SELECT 'a text-keyed write scores', abs(lead_score.score('People', 'bob@example.com'::text) - :before - 2) < 1e-9;
-- Publishing the draft rescores everyone.
SELECT max(version) AS last_version FROM lead_score.version_store v
  JOIN lead_score.profile_store p ON p.id = v.profile_id WHERE p.name = 'Sales' \gset
SELECT 'publish', lead_score.publish('Sales') = :last_version + 1;
SELECT lead_score.score('Sales', 22::bigint) AS before \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (22, 'webinar', '2024-06-02');
SELECT 'the published draft scores', abs(lead_score.score('Sales', 22::bigint) - :before - 8) < 1e-9;
-- tick() applies what came due: on June 20th the May visits (points within 14 days)
-- no longer count, so Sales contacts change.
SET lead_score.now = '2024-06-20 00:00:00+00';
CREATE TEMP TABLE ticked AS SELECT * FROM lead_score.tick();
SELECT 'tick checks every attached profile', count(*) = 3 FROM ticked;
SELECT 'tick changes Sales contacts', changed > 0 FROM ticked WHERE profile = 'Sales'
UNION ALL SELECT 'tick changed Sales contacts', false WHERE NOT EXISTS (SELECT FROM ticked WHERE profile = 'Sales');
SELECT 'tick finds nothing more to do', bool_and(changed = 0) FROM lead_score.tick();
SELECT 'verify is empty after writes for ' || p.name, NOT EXISTS (SELECT FROM lead_score.verify(p.name))
  FROM lead_score.profile_store p JOIN lead_score.attachment_store a ON a.profile_id = p.id ORDER BY p.name;
-- clear_tag and the new 0.2.0 behaviour.
SELECT 'clear_tag reads the key as its type', lead_score.clear_tag('Sales', '0' || min(contact_key), NULL) > 0
  FROM lead_score.tag_store WHERE profile_id = (SELECT id FROM lead_score.profile_store WHERE name = 'Sales');
-- Manual adjustments, new in 0.2.0: counted at once, listed, recomputed by verify().
SELECT 'adjust', lead_score.adjust('Sales', 21::bigint, 4, 'after the update') > 0;
SELECT 'the adjustment is listed', count(*) = 1 FROM lead_score.adjustments WHERE reason = 'after the update';
SELECT 'verify is empty after adjusting', NOT EXISTS (SELECT FROM lead_score.verify('Sales'));
-- Each adjustment names the contacts table and key column it was made on (recorded by
-- the update, or after a restore by upgrade_attachments(), for 0.2.0's): the ones its
-- profile is attached to.
SELECT 'every adjustment names its attachment''s contacts table and key column',
       bool_and(a.contacts = s.contacts AND a.key_column = s.contact_key) AND count(*) >= 1
  FROM lead_score.adjustment_store a JOIN lead_score.attachment_store s ON s.profile_id = a.profile_id;
SELECT 'no adjustment of an attached profile lacks them', NOT EXISTS (SELECT FROM lead_score.adjustment_store WHERE contacts IS NULL);
-- Scores views made by 0.1.0 are rebuilt with the likelihood column (and those of
-- 0.2.0 with grade, priority and priority_rank), stay outside the extension (pg_dump
-- keeps them), and keep their privileges.
SELECT 'scores views rebuilt with likelihood and priority_rank, not members, readable by PUBLIC',
       bool_and(EXISTS (SELECT FROM pg_attribute x WHERE x.attrelid = v.oid AND x.attname = 'likelihood')
                AND EXISTS (SELECT FROM pg_attribute x WHERE x.attrelid = v.oid AND x.attname = 'priority_rank')
                AND EXISTS (SELECT FROM pg_attribute x WHERE x.attrelid = v.oid AND x.attname = 'stage_score')
                AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                   AND d.objid = v.oid AND d.deptype = 'e')
                AND EXISTS (SELECT FROM aclexplode(v.relacl) p WHERE p.grantee = 0 AND p.privilege_type = 'SELECT'))
  FROM lead_score.attachment_store a
  JOIN pg_class v ON v.oid = format('lead_score.%I', a.view_name)::regclass;
