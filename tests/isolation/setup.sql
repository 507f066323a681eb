-- Loaded by scripts/test into the isolation database, once: the fixture every spec
-- sets up and tears down per permutation (specs cannot include files).
CREATE EXTENSION pg_lead_score;

CREATE FUNCTION iso_setup() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TABLE contacts (id bigint PRIMARY KEY, country text);
    CREATE TABLE events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
    CREATE INDEX ON events (contact_id);
    INSERT INTO contacts SELECT g, 'US' FROM generate_series(1, 10) AS g;
    PERFORM lead_score.create_profile('iso');
    PERFORM lead_score.add_rule('iso', 'Click', '{"kind": "event", "event": "click", "points": 1, "half_life": null}');
    PERFORM lead_score.publish('iso');
    PERFORM lead_score.attach('iso', 'contacts', 'events', '{"view": "iso_scores"}');
END
$$;

CREATE FUNCTION iso_teardown() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_score.drop_profile('iso');
    DROP TABLE contacts, events;
END
$$;

-- Spec steps are delimited by braces, so JSON cannot appear in them: edit via a helper.
CREATE FUNCTION iso_set_click_points(points integer) RETURNS void LANGUAGE sql AS $$
    SELECT lead_score.update_rule('iso', 'Click',
        jsonb_build_object('kind', 'event', 'event', 'click', 'points', points, 'half_life', NULL))
$$;

-- Tag contacts at `threshold` points (and publish, which rescores).
CREATE FUNCTION iso_set_threshold(threshold integer) RETURNS void LANGUAGE sql AS $$
    SELECT lead_score.update_profile('iso', settings => jsonb_build_object('pql_threshold', threshold));
    SELECT lead_score.publish('iso');
$$;

-- Lock one contact's score row until the transaction ends: a blocker that keeps
-- statements waiting in the middle of their locking.
CREATE FUNCTION iso_lock_score(contact bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT FROM lead_score.%I WHERE contact_key = $1 FOR UPDATE',
                   (SELECT a.state_table FROM lead_score.attachment_store a
                      JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'iso'))
        USING contact;
END
$$;

-- Stages Lead, MQL (at `mql` points) and SQL (at `sql`), published: every contact
-- enters Lead.
CREATE FUNCTION iso_set_stages(mql integer, sql integer) RETURNS void LANGUAGE sql AS $$
    SELECT lead_score.update_profile('iso', settings => jsonb_build_object('stages', jsonb_build_array(
        jsonb_build_object('name', 'Lead'), jsonb_build_object('name', 'MQL', 'score', mql),
        jsonb_build_object('name', 'SQL', 'score', sql))));
    SELECT lead_score.publish('iso');
$$;

-- Route contacts tagged PQL (at 1 point) to owners 7, 8 and 9 in turn (routing_turns):
-- the contacts get an owner column, still NULL.
CREATE FUNCTION iso_set_routing() RETURNS void LANGUAGE sql AS $$
    ALTER TABLE contacts ADD COLUMN owner_id integer;
    SELECT lead_score.update_profile('iso', settings => jsonb_build_object('pql_threshold', 1,
        'routing', jsonb_build_object('column', 'owner_id', 'owners', jsonb_build_array(7, 8, 9))));
    SELECT lead_score.publish('iso');
$$;
