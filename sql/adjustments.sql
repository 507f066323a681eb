-- Manual adjustments: points a person gives a contact by hand ("met at the trade show:
-- +10"), through lead_score.adjust(profile, contact, points, reason, half_life), defined
-- in Rust (src/pg/api/adjustments.rs). Scoring folds them into the contact's engagement like
-- an event that always counts: from their own time on, decaying with their own
-- half-life (never, without one). Every recomputation (publish, rescore, tick, verify,
-- explain, preview, scores at another time) reads them from here.
--
-- They cannot be recomputed from the CRM's data, so the table and its sequence are
-- registered with pg_extension_config_dump. Only lead_score.adjust() writes it (as the
-- extension's owner); lead_score.forget() erases a contact's adjustments with the rest.

CREATE TABLE lead_score.adjustment_store (
    id            bigserial PRIMARY KEY,
    profile_id    bigint NOT NULL REFERENCES lead_score.profile_store ON DELETE CASCADE,
    -- As the contacts' key type prints it (see lead_score.stored_key).
    contact_key   text NOT NULL,
    points        float8 NOT NULL,
    -- NULL: the points never decay.
    half_life     interval,
    reason        text NOT NULL,
    adjusted_at   timestamptz NOT NULL,
    adjusted_by   text NOT NULL,
    -- The contact it was made on is `contact_key` of column `key_column` of table
    -- `contacts`, as the profile was attached then: only an attachment to that table by
    -- that column counts it or shows it (a key means another contact, or nothing, in
    -- other tables). A regclass, so pg_dump writes the table's name and a restore finds
    -- the table by it. Adjustments 0.2.0 made have them from the update: the tables
    -- their profile is attached to, or, for a profile not attached then, '-' (oid 0,
    -- no table: never counted, shown to nobody but the owner of this table). NULL only
    -- in rows restored from a 0.2.0 dump, until lead_score.upgrade_attachments()
    -- records their profile's attachment as the update does.
    contacts      regclass,
    key_column    name,
    -- Finite, and small enough that no sum of them overflows a stored score.
    CONSTRAINT adjustment_points_are_bounded
        CHECK (pg_catalog.abs(points) OPERATOR(pg_catalog.<=) 1e9),
    -- Measured as the scoring measures it: extract(epoch from ...).
    CONSTRAINT adjustment_half_life_is_positive
        CHECK (pg_catalog.date_part('epoch', half_life) OPERATOR(pg_catalog.>) 0),
    CONSTRAINT adjustment_reason_is_trimmed_and_short
        CHECK (reason OPERATOR(pg_catalog.<>) '' AND reason OPERATOR(pg_catalog.=) pg_catalog.btrim(reason)
               AND pg_catalog.octet_length(reason) OPERATOR(pg_catalog.<=) 500)
);
CREATE INDEX ON lead_score.adjustment_store (profile_id, contact_key);
SELECT pg_catalog.pg_extension_config_dump('lead_score.adjustment_store', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.adjustment_store_id_seq', '');
COMMENT ON TABLE lead_score.adjustment_store IS
    'Manual score adjustments (written by lead_score.adjust only); read them through lead_score.adjustments';

-- Whether the calling role may see the contact `contact_key` (of column `key_column`
-- of table `contacts`) of a profile, as the profile's scores view decides: the
-- contacts table's owner (and its members) sees every contact; others see the contacts
-- they may SELECT, under the table's row-level security. A contact of a table (or key
-- column) the profile is not attached to now, or of a profile that is not attached, is
-- shown to nobody but the owner of the adjustments. Runs as the caller (never as the
-- extension's owner, which is not subject to the policy below): the key is compared in
-- its own type, a built-in one, and never raises: a key that is not one as the key
-- type prints it is nobody's.
CREATE FUNCTION lead_score.may_see_contact(profile_id bigint, contacts regclass, key_column name,
                                           contact_key text)
RETURNS boolean LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, lead_score, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    att lead_score.attachment_store;
    bound numeric;
    seen boolean;
BEGIN
    SELECT * INTO att FROM lead_score.attachment_store a WHERE a.profile_id OPERATOR(pg_catalog.=) profile_id;
    IF NOT FOUND OR att.contacts IS DISTINCT FROM contacts OR att.contact_key IS DISTINCT FROM key_column THEN
        RETURN false;
    END IF;
    IF (SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') FROM pg_catalog.pg_class c
         WHERE c.oid OPERATOR(pg_catalog.=) att.contacts) THEN
        RETURN true;
    END IF;
    -- (NULL, not false, for a table dropped since: no.)
    IF pg_catalog.has_column_privilege(att.contacts, att.contact_key, 'SELECT') IS NOT TRUE THEN
        RETURN false;
    END IF;
    -- The cast below must not raise (22P02, 22003) for a key written while the column
    -- had another type: only a key spelled as the key type prints it is tried.
    IF att.key_type OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.int2', 'pg_catalog.int4', 'pg_catalog.int8']::regtype[]) THEN
        IF contact_key OPERATOR(pg_catalog.!~) '^(0|-?[1-9][0-9]{0,18})$' THEN
            RETURN false;
        END IF;
        bound := CASE att.key_type WHEN 'pg_catalog.int2'::regtype THEN 32767
                                   WHEN 'pg_catalog.int4'::regtype THEN 2147483647
                                   ELSE 9223372036854775807 END;
        IF contact_key::numeric OPERATOR(pg_catalog.>) bound
           OR contact_key::numeric OPERATOR(pg_catalog.<) (0 OPERATOR(pg_catalog.-) bound OPERATOR(pg_catalog.-) 1) THEN
            RETURN false;
        END IF;
    ELSIF att.key_type OPERATOR(pg_catalog.=) 'pg_catalog.uuid'::regtype
          AND contact_key OPERATOR(pg_catalog.!~) '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN
        RETURN false;
    END IF;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM ONLY %s c WHERE c.%I OPERATOR(pg_catalog.=) $1::%s)',
                              att.contacts, att.contact_key, att.key_type)
       INTO seen USING contact_key;
    RETURN seen;
END
$$;

-- Everyone may read the adjustments of the contacts they may see.
ALTER TABLE lead_score.adjustment_store ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible_contacts ON lead_score.adjustment_store FOR SELECT
    USING (lead_score.may_see_contact(profile_id, contacts, key_column, contact_key));
GRANT SELECT ON lead_score.adjustment_store TO PUBLIC;

CREATE VIEW lead_score.adjustments WITH (security_invoker = true) AS
SELECT a.id,
       p.name AS profile,
       a.contact_key AS contact,
       a.points,
       a.half_life,
       -- What the adjustment is worth now (by the extension's clock): nothing before
       -- its time, then its points, halving every half_life.
       CASE WHEN a.adjusted_at OPERATOR(pg_catalog.>) lead_score.now() THEN 0::pg_catalog.float8
            WHEN a.half_life IS NULL THEN a.points
            ELSE lead_score.decay(a.points, lead_score.now() OPERATOR(pg_catalog.-) a.adjusted_at, a.half_life)
       END AS points_now,
       a.reason,
       a.adjusted_at,
       a.adjusted_by
  FROM lead_score.adjustment_store a
  JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) a.profile_id;
COMMENT ON VIEW lead_score.adjustments IS
    'Manual score adjustments: who gave which contact how many points, when and why (contacts you may see)';
GRANT SELECT ON lead_score.adjustments TO PUBLIC;

-- adjust() with the contact's key in its own type.
CREATE FUNCTION lead_score.adjust(profile text, contact anyelement, points float8, reason text,
                                  half_life interval DEFAULT NULL)
RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, lead_score, pg_temp
AS $$ SELECT lead_score.adjust(profile, contact::pg_catalog.text, points, reason, half_life) $$;

-- Adjusting is its own right, apart from editing profiles: GRANT EXECUTE on both
-- overloads to the roles that may adjust (see docs/reference.md, "Manual adjustments").
REVOKE ALL ON FUNCTION lead_score.adjust(text, text, float8, text, interval),
                       lead_score.adjust(text, anyelement, float8, text, interval)
    FROM PUBLIC;
