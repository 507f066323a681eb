-- Runs last, once every function exists.

-- The triggers write the profiles' state tables whoever writes the CRM's tables, so
-- they act as the extension's owner, with a pinned search_path: SECURITY INVOKER, they
-- switch to it themselves once they have noted the role that wrote the rows (see
-- src/pg/base/rights.rs, `for_caller`), which their transitions name. Their statements are
-- prepared once per backend and always run with the generic plan: a custom plan would
-- be planned again on every call (for array parameters it always looks cheaper).
ALTER FUNCTION lead_score.on_events_change()
    SET search_path = pg_catalog, lead_score, pg_temp SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION lead_score.on_contacts_change()
    SET search_path = pg_catalog, lead_score, pg_temp SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION lead_score.on_accounts_change()
    SET search_path = pg_catalog, lead_score, pg_temp SET plan_cache_mode = force_generic_plan;
REVOKE ALL ON FUNCTION lead_score.on_events_change(), lead_score.on_contacts_change(),
                       lead_score.on_accounts_change() FROM PUBLIC;

-- Rescoring writes state tables as the owner: for editors only (see the GRANT in
-- docs/reference.md, "Who may edit"). Its entries record the calling role, then call
-- rescore_for_caller (src/pg/api/rights.rs, `lead_score_for_caller`).
CREATE FUNCTION lead_score.rescore(profile text)
RETURNS bigint LANGUAGE c STRICT
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';
CREATE FUNCTION lead_score.rescore(profile text, contact text)
RETURNS bigint LANGUAGE c STRICT
SET search_path = pg_catalog, lead_score, pg_temp
AS 'MODULE_PATHNAME', 'lead_score_for_caller';
REVOKE ALL ON FUNCTION lead_score.rescore(text), lead_score.rescore(text, text),
                       lead_score.rescore_for_caller(text), lead_score.rescore_for_caller(text, text),
                       lead_score.rescore_for(text, text) FROM PUBLIC;
-- (The schema guard's rescore of the contacts in partitions that came or went.)
REVOKE ALL ON FUNCTION lead_score.rescore_events_in(text, oid[]) FROM PUBLIC;

-- Called by attach, detach and publish only.
REVOKE ALL ON FUNCTION lead_score.invalidate_scoring_cache() FROM PUBLIC;
-- It locks any relation, with no privilege check: for attach and detach only.
REVOKE ALL ON FUNCTION lead_score.lock_together(oid[], text) FROM PUBLIC;

-- Run by the sweep (pg_cron or a DBA), not by every role.
REVOKE ALL ON FUNCTION lead_score.tick(), lead_score.verify(text) FROM PUBLIC;

-- score() reads the attachment catalog as the caller (so row-level security on the
-- state tables applies); the catalog holds nothing the views do not already show.
GRANT SELECT ON lead_score.attachment_store, lead_score.profile_store TO PUBLIC;

-- score() with the contact's key in its own type: 42, a uuid, ... (an untyped literal
-- goes to the text version).
CREATE FUNCTION lead_score.score(profile text, contact anyelement, at timestamptz DEFAULT NULL)
RETURNS float8 LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT lead_score.score(profile, contact::text, at) $$;

CREATE FUNCTION lead_score.rescore(profile text, contact anyelement)
RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT lead_score.rescore(profile, contact::text) $$;
REVOKE ALL ON FUNCTION lead_score.rescore(text, anyelement) FROM PUBLIC;

-- explain() with the contact's key in its own type.
CREATE FUNCTION lead_score.explain(profile text, contact anyelement, at timestamptz DEFAULT NULL)
RETURNS TABLE(rule_name text, kind text, dimension text, events bigint, points float8)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT e.rule_name, e.kind, e.dimension, e.events, e.points FROM lead_score.explain(profile, contact::text, at) AS e $$;

-- preview() scores every contact with a draft or another version: an editing function,
-- like publish (see the GRANT in docs/reference.md, "Who may edit").
REVOKE ALL ON FUNCTION lead_score.preview(text, integer) FROM PUBLIC;

-- What publishing the draft (or `version`) would change, in numbers: contacts whose
-- score moves, newly tagged per tag, newly disqualified and requalified, the mean
-- absolute change, and Spearman's rank correlation between the two orders (ranks of
-- tied scores averaged).
CREATE FUNCTION lead_score.preview_summary(profile text, version integer DEFAULT NULL)
RETURNS TABLE(metric text, value float8)
LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    WITH p AS (SELECT * FROM lead_score.preview(profile, version)),
    scored AS (
        SELECT p.active_score, p.new_score,
               pg_catalog.rank() OVER (ORDER BY p.active_score DESC)
               OPERATOR(pg_catalog.+) (pg_catalog.count(*) OVER (PARTITION BY p.active_score)
                                       OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog./) 2.0 AS active_rank,
               pg_catalog.rank() OVER (ORDER BY p.new_score DESC)
               OPERATOR(pg_catalog.+) (pg_catalog.count(*) OVER (PARTITION BY p.new_score)
                                       OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog./) 2.0 AS new_rank
          FROM p WHERE p.active_score IS NOT NULL),
    changes AS (
        SELECT c AS change FROM p, pg_catalog.unnest(pg_catalog.string_to_array(p.change, ', ')) AS c)
    SELECT m.metric, m.value FROM (
        SELECT 1 AS n, 'contacts' AS metric, pg_catalog.count(*)::float8 AS value FROM p
        UNION ALL
        SELECT 2, 'score changes',
               pg_catalog.count(*) FILTER (WHERE p.active_score IS NULL
                   OR pg_catalog.abs(p.new_score OPERATOR(pg_catalog.-) p.active_score) OPERATOR(pg_catalog.>) 1e-9)::float8
          FROM p
        UNION ALL
        SELECT 3, 'mean absolute change',
               coalesce(pg_catalog.avg(pg_catalog.abs(s.new_score OPERATOR(pg_catalog.-) s.active_score)), 0)
          FROM scored s
        UNION ALL
        SELECT 4, 'rank correlation',
               pg_catalog.corr(s.active_rank::float8, s.new_rank::float8) FROM scored s
        UNION ALL
        SELECT 5, 'disqualified', pg_catalog.count(*) FILTER (WHERE c.change OPERATOR(pg_catalog.=) 'disqualified')::float8
          FROM changes c
        UNION ALL
        SELECT 6, 'requalified', pg_catalog.count(*) FILTER (WHERE c.change OPERATOR(pg_catalog.=) 'requalified')::float8
          FROM changes c
        UNION ALL
        SELECT 7, c.change, pg_catalog.count(*)::float8 FROM changes c
         WHERE pg_catalog.starts_with(c.change, 'tagged ') GROUP BY c.change
    ) m ORDER BY m.n, m.metric
$$;
REVOKE ALL ON FUNCTION lead_score.preview_summary(text, integer) FROM PUBLIC;

-- next_actions() with the contact's key in its own type.
CREATE FUNCTION lead_score.next_actions(profile text, contact anyelement, n integer DEFAULT 3)
RETURNS TABLE(rule_name text, event text, points float8, crosses text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT a.rule_name, a.event, a.points, a.crosses FROM lead_score.next_actions(profile, contact::text, n) AS a $$;

-- scores_at() shows every contact's score, whoever may see which: for roles granted it.
REVOKE ALL ON FUNCTION lead_score.scores_at(text, timestamptz) FROM PUBLIC;

-- score_history() with the contact's key in its own type.
CREATE FUNCTION lead_score.score_history(profile text, contact anyelement, since timestamptz,
                                         until timestamptz DEFAULT NULL, step interval DEFAULT '1 day')
RETURNS TABLE(at timestamptz, score float8, fit_score float8, engagement_score float8)
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
    SELECT h.at, h.score, h.fit_score, h.engagement_score
      FROM lead_score.score_history(profile, contact::text, since, until, step) AS h
$$;

-- train() writes a profile's draft (through the editing functions, as the caller): for
-- editors, like publish (see the GRANT in docs/reference.md, "Who may edit").
REVOKE ALL ON FUNCTION lead_score.train(text, regclass, jsonb) FROM PUBLIC;

-- Nothing changes profiles, versions, rules, attachments or adjustments inside a
-- security-restricted operation. There code runs as a table's owner (an index
-- expression evaluated by ANALYZE, CREATE INDEX or autovacuum, a materialized view's
-- query on REFRESH) while the session, perhaps a superuser's, is unchanged: a function
-- an editor planted there would act with whatever the session may do. Postgres refuses
-- SET ROLE there for the same reason. One guard on each catalog table covers every
-- function that writes it.
CREATE FUNCTION lead_score.refuse_restricted_writes() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
BEGIN
    IF lead_score.in_restricted_operation() THEN
        RAISE EXCEPTION 'pg_lead_score: % on lead_score.% is not allowed within a security-restricted operation',
                        TG_OP, TG_TABLE_NAME
            USING ERRCODE = '42501',
                  HINT = 'Index expressions, ANALYZE, autovacuum and REFRESH MATERIALIZED VIEW run functions this way; call the extension''s functions directly.';
    END IF;
    RETURN NULL;
END
$$;
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
