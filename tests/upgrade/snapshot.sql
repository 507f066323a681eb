-- Everything the extension stores, in a canonical order: equal snapshots mean nothing
-- was lost or changed. Reads the base tables (their 0.1.0 columns) and every score row.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT 'profile', p.* FROM lead_score.profile_store p ORDER BY p.id;
SELECT 'version', v.* FROM lead_score.version_store v ORDER BY v.profile_id, v.version;
SELECT 'rule', r.* FROM lead_score.rule_store r ORDER BY r.id;
SELECT 'change', c.* FROM lead_score.change_log c ORDER BY c.id;
-- (Tags of attached profiles: the update to 0.3.0, and upgrade_attachments() after a
-- restore, clear those of a profile not attached, as detach() now does; after.sql
-- checks it.)
SELECT 'tag', t.* FROM lead_score.tag_store t
 WHERE EXISTS (SELECT FROM lead_score.attachment_store a WHERE a.profile_id = t.profile_id)
 ORDER BY t.profile_id, t.contact_key, t.tag;
-- (0.1.0's columns: 0.3.0 adds the contacts table and key column each was recorded for,
-- checked by after.sql.)
SELECT 'transition', t.id, t.at, t.profile, t.version, t.contact, t.kind, t.tag, t.old_state, t.new_state,
       t.score, t.reason, t.source, t.actor
  FROM lead_score.transitions t ORDER BY t.id;
SELECT 'attachment', a.profile_id, a.contacts, a.contact_key, a.key_type, a.events, a.event_contact,
       a.event_type, a.event_time, a.event_props, a.accounts, a.contact_account, a.account_key,
       a.state_table, a.view_name, a.scored_version, a.pql_tag, a.score_100_curve, a.score_100_scale,
       a.attached_at, a.attached_by
  FROM lead_score.attachment_store a ORDER BY a.profile_id;
-- What 0.2.0 added (none of it in a database 0.1.0 made, once updated).
SELECT to_regclass('lead_score.adjustment_store') IS NOT NULL AS since_0_2_0 \gset
\if :since_0_2_0
-- (0.2.0's columns: 0.3.0 adds the contacts table and key column each was made on,
-- checked by after.sql.)
SELECT 'adjustment', a.id, a.profile_id, a.contact_key, a.points, a.half_life, a.reason, a.adjusted_at, a.adjusted_by
  FROM lead_score.adjustment_store a ORDER BY a.id;
SELECT 'likelihood', a.profile_id, a.likelihood_intercept, a.likelihood_points_per_doubling
  FROM lead_score.attachment_store a WHERE a.likelihood_intercept IS NOT NULL ORDER BY a.profile_id;
\endif
-- (A sequence never used holds nothing: one the update adds is no difference.)
SELECT 'sequence', s.sequencename, s.last_value
  FROM pg_catalog.pg_sequences s WHERE s.schemaname = 'lead_score' AND s.last_value IS NOT NULL ORDER BY 2;
-- (0.3.0's state tables add the lifecycle stage's columns, NULL without stages, and
-- the score ceiling, a bound derived from the row as of the update.)
SELECT format('SELECT %L, pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.-) %L::pg_catalog.text[] FROM lead_score.%I s ORDER BY s.contact_key',
              a.state_table, '{stage,stage_entered_at,stage_base,stages_met,ceiling}', a.state_table)
  FROM lead_score.attachment_store a ORDER BY a.profile_id \gexec
-- (The columns 0.1.0's views had: 0.2.0 adds likelihood, NULL without one; 0.3.0
-- grade, priority and priority_rank, NULL without grades, and stage, stage_entered_at
-- and stage_score, NULL without stages.)
SELECT format('SELECT %L, pg_catalog.to_jsonb(v) OPERATOR(pg_catalog.-) %L::pg_catalog.text[] FROM lead_score.%I v ORDER BY 2',
              a.view_name, '{likelihood,grade,priority,priority_rank,stage,stage_entered_at,stage_score}', a.view_name)
  FROM lead_score.attachment_store a ORDER BY a.profile_id \gexec
