-- The profile catalog: profiles, their immutable published versions, draft and
-- published rules, and a log of every edit. Tables are written only by the
-- SECURITY DEFINER editing functions (sql/profiles.sql); everyone reads them through
-- the views at the end, which show names instead of ids.
--
-- This is state that cannot be recomputed from the CRM's data, so every table (and
-- the sequence behind it) is registered with pg_extension_config_dump: pg_dump keeps
-- the rows, and a restore brings them back after CREATE EXTENSION.

GRANT USAGE ON SCHEMA lead_score TO PUBLIC;

CREATE TABLE lead_score.profile_store (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    description       text,
    settings          jsonb NOT NULL DEFAULT '{}',  -- the draft's; copied into a version at publish
    active_version    integer,                      -- NULL until the first publish
    created_at        timestamptz NOT NULL,
    created_by        text NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_by        text NOT NULL,
    CONSTRAINT profile_name_is_trimmed_and_short
        CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)
               AND pg_catalog.octet_length(name) OPERATOR(pg_catalog.<=) 63)
);

CREATE TABLE lead_score.version_store (
    profile_id    bigint NOT NULL REFERENCES lead_score.profile_store ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version OPERATOR(pg_catalog.>) 0),
    settings      jsonb NOT NULL,
    published_at  timestamptz NOT NULL,
    published_by  text NOT NULL,
    PRIMARY KEY (profile_id, version)
);

-- No foreign key from profile_store.active_version to version_store: the two would
-- reference each other, and pg_restore loads each configuration table on its own, so
-- a circular constraint would make dumps unrestorable. publish() and revert_draft()
-- (which lock the profile's row) are the only writers of active_version.

CREATE TABLE lead_score.rule_store (
    id          bigserial PRIMARY KEY,
    profile_id  bigint NOT NULL REFERENCES lead_score.profile_store ON DELETE CASCADE,
    version     integer,                 -- NULL: the draft
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['fit', 'event', 'disqualifier'])),
    body        jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL,
    updated_at  timestamptz NOT NULL,
    updated_by  text NOT NULL,
    FOREIGN KEY (profile_id, version) REFERENCES lead_score.version_store ON DELETE CASCADE,
    CONSTRAINT rule_names_are_unique_per_version UNIQUE NULLS NOT DISTINCT (profile_id, version, name),
    CONSTRAINT rule_name_is_trimmed_and_short
        CHECK (name OPERATOR(pg_catalog.<>) '' AND name OPERATOR(pg_catalog.=) pg_catalog.btrim(name)
               AND pg_catalog.octet_length(name) OPERATOR(pg_catalog.<=) 200)
);

CREATE TABLE lead_score.change_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    by         text NOT NULL,
    profile    text NOT NULL,      -- the profile's name at the time
    action     text NOT NULL,
    rule_name  text,
    version    integer,
    old        jsonb,
    new        jsonb
);
CREATE INDEX ON lead_score.change_log (profile, id);

-- A published version is frozen: not even the owner can edit it in place. Deleting a
-- whole profile (and its versions with it) stays possible.
CREATE FUNCTION lead_score.forbid_editing_published()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'published versions of a profile cannot be changed'
        USING ERRCODE = '55000',
              HINT = 'Edit the draft and publish it as a new version.';
END
$$;

CREATE TRIGGER published_rules_are_immutable
    BEFORE UPDATE ON lead_score.rule_store
    FOR EACH ROW WHEN (OLD.version IS NOT NULL)
    EXECUTE FUNCTION lead_score.forbid_editing_published();

CREATE TRIGGER published_versions_are_immutable
    BEFORE UPDATE ON lead_score.version_store
    FOR EACH ROW EXECUTE FUNCTION lead_score.forbid_editing_published();

SELECT pg_catalog.pg_extension_config_dump('lead_score.profile_store', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.profile_store_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.version_store', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.rule_store', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.rule_store_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.change_log', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.change_log_id_seq', '');

-- The readable catalog.

CREATE VIEW lead_score.profiles AS
SELECT p.name,
       p.description,
       CASE WHEN p.active_version IS NULL THEN 'draft' ELSE 'published' END AS status,
       p.active_version,
       -- Compared, not tracked: reverting a draft to the active version clears it.
       (p.active_version IS NULL
        -- (v.settings is NULL only without an active version, caught above.)
        OR (p.settings OPERATOR(pg_catalog.=) v.settings) IS NOT TRUE
        OR (coalesce((SELECT pg_catalog.jsonb_object_agg(r.name, r.body) FROM lead_score.rule_store r
                       WHERE r.profile_id OPERATOR(pg_catalog.=) p.id AND r.version IS NULL), '{}')
            OPERATOR(pg_catalog.=)
            coalesce((SELECT pg_catalog.jsonb_object_agg(r.name, r.body) FROM lead_score.rule_store r
                       WHERE r.profile_id OPERATOR(pg_catalog.=) p.id
                         AND r.version OPERATOR(pg_catalog.=) p.active_version), '{}')) IS NOT TRUE)
       AS has_unpublished_changes,
       (SELECT pg_catalog.count(*) FROM lead_score.rule_store r
         WHERE r.profile_id OPERATOR(pg_catalog.=) p.id AND r.version IS NULL) AS draft_rules,
       p.settings AS draft_settings,
       v.published_at,
       v.published_by,
       p.created_at,
       p.created_by,
       p.updated_at,
       p.updated_by
  FROM lead_score.profile_store p
  LEFT JOIN lead_score.version_store v ON v.profile_id OPERATOR(pg_catalog.=) p.id AND v.version OPERATOR(pg_catalog.=) p.active_version;
COMMENT ON VIEW lead_score.profiles IS 'Scoring profiles: status, active version, draft state';

CREATE VIEW lead_score.profile_versions AS
SELECT p.name AS profile,
       v.version,
       v.version OPERATOR(pg_catalog.=) p.active_version AS is_active,
       (SELECT pg_catalog.count(*) FROM lead_score.rule_store r
         WHERE r.profile_id OPERATOR(pg_catalog.=) v.profile_id AND r.version OPERATOR(pg_catalog.=) v.version) AS rules,
       v.settings,
       v.published_at,
       v.published_by
  FROM lead_score.version_store v
  JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) v.profile_id;
COMMENT ON VIEW lead_score.profile_versions IS 'Every published version of every profile (immutable)';

CREATE VIEW lead_score.rules AS
SELECT p.name AS profile,
       r.name AS rule_name,
       r.version,
       r.version IS NULL AS is_draft,
       coalesce(r.version OPERATOR(pg_catalog.=) p.active_version, false) AS is_active,
       r.kind,
       r.body AS rule,
       r.created_at,
       r.created_by,
       r.updated_at,
       r.updated_by
  FROM lead_score.rule_store r
  JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) r.profile_id;
COMMENT ON VIEW lead_score.rules IS 'Rules of every profile: the draft (version NULL) and each published version';

CREATE VIEW lead_score.profile_changes AS
SELECT id, at, by, profile, action, rule_name, version, old, new
  FROM lead_score.change_log;
COMMENT ON VIEW lead_score.profile_changes IS 'Who changed what in which profile, and when';

GRANT SELECT ON lead_score.profiles, lead_score.profile_versions, lead_score.rules,
                lead_score.profile_changes TO PUBLIC;
