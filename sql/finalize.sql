-- Runs last, once every function exists.

-- The triggers write the profiles' state tables whoever writes the CRM's tables, so
-- they run as the extension's owner, with a pinned search_path. Their statements are
-- prepared once per backend and always run with the generic plan: a custom plan would
-- be planned again on every call (for array parameters it always looks cheaper).
ALTER FUNCTION lead_score.on_events_change() SECURITY DEFINER
    SET search_path = pg_catalog, lead_score, pg_temp SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION lead_score.on_contacts_change() SECURITY DEFINER
    SET search_path = pg_catalog, lead_score, pg_temp SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION lead_score.on_accounts_change() SECURITY DEFINER
    SET search_path = pg_catalog, lead_score, pg_temp SET plan_cache_mode = force_generic_plan;
REVOKE ALL ON FUNCTION lead_score.on_events_change(), lead_score.on_contacts_change(),
                       lead_score.on_accounts_change() FROM PUBLIC;

-- Rescoring writes state tables as the owner: for editors only (see the GRANT in docs/reference.md, "Who may edit").
REVOKE ALL ON FUNCTION lead_score.rescore(text), lead_score.rescore(text, text), lead_score.rescore_for(text, text) FROM PUBLIC;

-- Called by attach, detach and publish only.
REVOKE ALL ON FUNCTION lead_score.invalidate_scoring_cache() FROM PUBLIC;

-- Run by the sweep (pg_cron or a DBA), not by every role.
REVOKE ALL ON FUNCTION lead_score.tick(), lead_score.verify(text) FROM PUBLIC;

-- score() reads the attachment catalog as the caller (so row-level security on the
-- state tables applies); the catalog holds nothing the views do not already show.
GRANT SELECT ON lead_score.attachment_store, lead_score.profile_store TO PUBLIC;

-- score() with the contact's key in its own type: 42, a uuid, ... (an untyped literal
-- goes to the text version).
CREATE FUNCTION lead_score.score(profile text, contact anyelement, at timestamptz DEFAULT NULL)
RETURNS float8 LANGUAGE sql STABLE PARALLEL SAFE
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
