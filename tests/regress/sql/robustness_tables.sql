-- Scoring is total on every table it attaches to. Whatever the keys (at the ends of
-- every key type) and the event times (date and timestamp columns, at the ends of their
-- ranges and at ±infinity), the write succeeds, every contact keeps a score row,
-- verify() finds nothing, and stats() accounts for every event. Partitioned tables are
-- refused, and a scoring trigger without an attachment raises. (The values in the
-- rows, jsonb of any depth and numbers beyond float8, are section 1, in
-- robustness_values.sql.)
--
-- An event at infinity is future (it never comes due), one at -infinity is worth
-- nothing (not_counted), a NULL time is null_time.
--
-- Each event row carries what the rules should give it (want_points, want_reason) and
-- each contact its fit points (want_fit); rob.check() compares the stored scores and
-- stats() with them. A NULL want_* means "not fixed by the documented behaviour": such
-- an event may fall under any reason and its contact's score is not compared.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 12:00:00+00';

CREATE SCHEMA rob;

-- A published profile with the given rules (an object of rule name to rule).
CREATE FUNCTION rob.new_profile(p text, rules jsonb) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_score.create_profile(p);
    PERFORM lead_score.add_rule(p, r.key, r.value) FROM jsonb_each(rules) AS r ORDER BY r.key;
    RETURN lead_score.publish(p);
END $$;

-- What the profile's stored state should be, given the want_* columns of the contacts
-- (key column `id`) and events (`contact_id`) tables. `visit_factor` scales the points
-- of `visit` events (for a published change of the Visit rule). On a false, a NOTICE
-- says what differs.
CREATE FUNCTION rob.check(p text, contacts regclass, events regclass, visit_factor float8 DEFAULT 1,
                          OUT verify_empty boolean, OUT every_contact_scored boolean,
                          OUT tally_adds_up boolean, OUT reasons_as_expected boolean,
                          OUT scores_as_expected boolean, OUT score_function_agrees boolean)
LANGUAGE plpgsql AS $$
DECLARE
    scores text := format('lead_score.%I', p || '_scores');
    known text := format('EXISTS (SELECT FROM %s c WHERE c.id = e.contact_id)', contacts);
    problems text;
    stat record;
    want_exact bigint;
    want_open bigint;
    per_contact bigint := 0;
    known_events bigint;
BEGIN
    SELECT string_agg(format('%s: stored %s, recomputed %s (%s)', v.contact, v.stored, v.recomputed, v.difference), '; ')
      INTO problems FROM (SELECT * FROM lead_score.verify(p) LIMIT 5) v;
    verify_empty := problems IS NULL;
    IF NOT verify_empty THEN
        RAISE NOTICE '%: verify() found: %', p, problems;
    END IF;

    EXECUTE format('SELECT (SELECT count(*) FROM %1$s) = (SELECT count(*) FROM %2$s)
                           AND NOT EXISTS (SELECT FROM %2$s c WHERE NOT EXISTS (SELECT FROM %1$s s WHERE s.id = c.id))',
                   scores, contacts)
       INTO every_contact_scored;
    IF NOT every_contact_scored THEN
        RAISE NOTICE '%: the scores relation and the contacts differ', p;
    END IF;

    reasons_as_expected := true;
    problems := NULL;
    FOR stat IN SELECT * FROM lead_score.stats(p) LOOP
        IF stat.reason = 'null_contact' THEN
            EXECUTE format('SELECT count(*), 0 FROM %s e WHERE e.contact_id IS NULL', events)
               INTO want_exact, want_open;
        ELSIF stat.reason = 'unknown_contact' THEN
            EXECUTE format('SELECT count(*), 0 FROM %s e WHERE e.contact_id IS NOT NULL AND NOT %s', events, known)
               INTO want_exact, want_open;
        ELSE
            per_contact := per_contact + stat.events;
            EXECUTE format('SELECT count(*) FILTER (WHERE e.want_reason = $1), count(*) FILTER (WHERE e.want_reason IS NULL)
                              FROM %s e WHERE %s', events, known)
               INTO want_exact, want_open USING stat.reason;
        END IF;
        IF stat.events IS NULL OR stat.events NOT BETWEEN want_exact AND want_exact + want_open THEN
            reasons_as_expected := false;
            problems := concat_ws('; ', problems, format('%s %s, expected %s (+ up to %s)',
                                                         stat.reason, stat.events, want_exact, want_open));
        END IF;
    END LOOP;
    IF NOT reasons_as_expected THEN
        RAISE NOTICE '%: stats() differs: %', p, problems;
    END IF;

    EXECUTE format('SELECT count(*) FROM %s e WHERE %s', events, known) INTO known_events;
    tally_adds_up := per_contact = known_events;
    IF NOT tally_adds_up THEN
        RAISE NOTICE '%: stats() counts % events of known contacts, the table has %', p, per_contact, known_events;
    END IF;

    EXECUTE format($q$
        SELECT string_agg(format('%%s: score %%s, expected %%s', w.id, s.score, w.expected), '; ' ORDER BY w.id::text)
          FROM (SELECT c.id, c.want_fit + coalesce(sum(e.want_points * CASE WHEN e.event_type = 'visit' THEN $1 ELSE 1 END), 0) AS expected,
                       coalesce(bool_or(e.want_points IS NULL), false) AS open
                  FROM %1$s c LEFT JOIN %2$s e ON e.contact_id = c.id
                 GROUP BY c.id) w
          LEFT JOIN %3$s s ON s.id = w.id
         WHERE NOT w.open AND (abs(s.score - w.expected) <= 1e-9 * greatest(1, abs(w.expected))) IS NOT TRUE$q$,
        contacts, events, scores)
       INTO problems USING visit_factor;
    scores_as_expected := problems IS NULL;
    IF NOT scores_as_expected THEN
        RAISE NOTICE '%: scores differ: %', p, left(problems, 2000);
    END IF;

    EXECUTE format('SELECT string_agg(s.id::text, %L) FROM %s s
                     WHERE lead_score.score(%L, s.id::text) IS DISTINCT FROM s.score', '; ', scores, p)
       INTO problems;
    score_function_agrees := problems IS NULL;
    IF NOT score_function_agrees THEN
        RAISE NOTICE '%: score() differs from the scores relation for %', p, left(problems, 2000);
    END IF;
EXCEPTION WHEN OTHERS THEN
    -- What was checked before the error keeps its answer; the rest stays NULL.
    RAISE NOTICE '%: checking raised %: %', p, SQLSTATE, SQLERRM;
END $$;

-- Writes that fail are recorded here instead of stopping the script; every section
-- shows this table's rows for its writes (none, when scoring is total).
CREATE TABLE rob.failures (section text, label text, sqlstate text, message text);
-- A statement's outcome: 'went through', or the SQLSTATE it raised (only that: a
-- message may name a table by oid).
CREATE FUNCTION rob.try_write(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'went through';
EXCEPTION WHEN OTHERS THEN
    RETURN 'raised ' || SQLSTATE;
END $$;

-- The rules of robustness_values.sql that section 3 uses.
CREATE TABLE rob.data_rules (name text PRIMARY KEY, rule jsonb NOT NULL);
INSERT INTO rob.data_rules VALUES
  ('Visit', '{"kind": "event", "event": "visit", "points": 1, "half_life": null}'),
  ('Recent', '{"kind": "event", "event": "recent", "points": 1, "within": "7 days", "half_life": null}'),
  -- Never holds, but makes `recent` a type that history conditions count.
  ('Flood', '{"kind": "disqualifier", "when": {"event_count": "recent", "within": "7 days", "op": "gte", "value": 1000000}}');

-- ===================================================================================
-- 2. Keys over the whole range of every key type.
-- ===================================================================================
CREATE TABLE rob.key_sets (name text PRIMARY KEY, contacts regclass, events regclass);
-- Contacts with the given keys and their events; one click each from before the attach,
-- and one for a key no contact has. Every click is worth 1 point, forever.
CREATE FUNCTION rob.key_pair(name text, key_type text, keys text[], unknown text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    contacts text := format('rob.%I', name);
    events text := format('rob.%I', name || '_events');
BEGIN
    EXECUTE format('CREATE TABLE %s (id %s PRIMARY KEY, want_fit float8 NOT NULL DEFAULT 0)', contacts, key_type);
    EXECUTE format('CREATE TABLE %s (contact_id %s, event_type text, occurred_at timestamptz,
                                     want_points float8 DEFAULT 1, want_reason text DEFAULT %L)', events, key_type, 'scored');
    EXECUTE format('CREATE INDEX ON %s (contact_id)', events);
    EXECUTE format('INSERT INTO %s (id) SELECT k::%s FROM unnest($1) AS k', contacts, key_type) USING keys;
    EXECUTE format('INSERT INTO %s (contact_id, event_type, occurred_at) SELECT id, %L, %L FROM %s',
                   events, 'click', '2024-04-01 00:00:00+00', contacts);
    EXECUTE format('INSERT INTO %s (contact_id, event_type, occurred_at) VALUES ($1::%s, %L, %L)',
                   events, key_type, 'click', '2024-04-01 00:00:00+00') USING unknown;
    INSERT INTO rob.key_sets VALUES (name, contacts::regclass, events::regclass);
    PERFORM rob.new_profile('rob_' || name, '{"Click": {"kind": "event", "event": "click", "points": 1, "half_life": null}}');
    PERFORM lead_score.attach('rob_' || name, contacts::regclass, events::regclass);
    RETURN cardinality(keys);
END $$;
-- One single-row INSERT per contact.
CREATE FUNCTION rob.insert_each(contacts regclass, events regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    key_type text := (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                       WHERE a.attrelid = contacts AND a.attname = 'id');
    key text;
    n bigint := 0;
BEGIN
    FOR key IN EXECUTE format('SELECT id::text FROM %s ORDER BY id', contacts) LOOP
        EXECUTE format('INSERT INTO %s (contact_id, event_type, occurred_at) VALUES ($1::%s, %L, %L)',
                       events, key_type, 'click', '2024-05-20 00:00:00+00') USING key;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
-- One INSERT of more than 1,000 rows over all contacts, in no particular key order.
CREATE FUNCTION rob.insert_bulk(contacts regclass, events regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('INSERT INTO %1$s (contact_id, event_type, occurred_at)
                    SELECT c.id, %3$L, timestamptz %4$L + g * interval %5$L
                      FROM %2$s c, generate_series(1, (SELECT ceil(1001.0 / count(*))::int FROM %2$s)) AS g
                     ORDER BY md5(c.id::text || %6$L || g)',
                   events, contacts, 'click', '2024-05-01 00:00:00+00', '1 minute', '/');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

SELECT rob.key_pair('key_bigint', 'bigint',
    ARRAY['-9223372036854775808', '-1', '0', '1', '2', '9223372036854775806', '9223372036854775807'], '3') AS contacts;
SELECT rob.key_pair('key_bigint_wide', 'bigint',
    ARRAY['-4611686018427387904', '1', '2', '3', '4611686018427387904'], '-9223372036854775808') AS contacts;
SELECT rob.key_pair('key_integer', 'integer', ARRAY['-2147483648', '0', '2147483647'], '1') AS contacts;
SELECT rob.key_pair('key_uuid', 'uuid',
    ARRAY['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
          '7fffffff-ffff-ffff-ffff-ffffffffffff', '80000000-0000-0000-0000-000000000000',
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], '00000000-0000-0000-0000-000000000001') AS contacts;
SELECT rob.key_pair('key_text', 'text',
    ARRAY['', repeat('k', 2000), 'it''s', 'back\slash', '\\', 'comma,separated', '{braces}', '{}', '"double quotes"',
          'ünïcødé 日本語 🚀', ' padded ', 'NULL', E'tab\tnew\nline', 'a', 'A', '(1,2)', '%s', '$1',
          ''');DROP TABLE x;--'], 'nobody') AS contacts;
SELECT rob.key_pair('key_varchar', 'varchar(2100)',
    ARRAY['', repeat('k', 2000), 'it''s', 'back\slash', '\\', 'comma,separated', '{braces}', '{}', '"double quotes"',
          'ünïcødé 日本語 🚀', ' padded ', 'NULL', E'tab\tnew\nline', 'a', 'A', '(1,2)', '%s', '$1',
          ''');DROP TABLE x;--'], 'nobody') AS contacts;
-- After the attach: every contact scored from its history.
SELECT k.name, c.* FROM rob.key_sets k, rob.check('rob_' || k.name, k.contacts, k.events) c ORDER BY k.name;
SELECT name, rob.insert_each(contacts, events) AS single_row_inserts FROM rob.key_sets ORDER BY name;
SELECT k.name, c.* FROM rob.key_sets k, rob.check('rob_' || k.name, k.contacts, k.events) c ORDER BY k.name;
SELECT name, rob.insert_bulk(contacts, events) > 1000 AS bulk_insert FROM rob.key_sets ORDER BY name;
SELECT k.name, c.* FROM rob.key_sets k, rob.check('rob_' || k.name, k.contacts, k.events) c ORDER BY k.name;
SELECT name, lead_score.rescore('rob_' || name) AS rescored FROM rob.key_sets ORDER BY name;
SELECT k.name, c.* FROM rob.key_sets k, rob.check('rob_' || k.name, k.contacts, k.events) c ORDER BY k.name;
-- Each contact has its 1 + 1 + n clicks.
SELECT count(DISTINCT score) AS distinct_scores, min(score) AS score FROM lead_score.rob_key_bigint_scores;
-- Deleting the contact with the greatest key (its events become unknown) and rescoring
-- one contact at each end by key.
CREATE FUNCTION rob.delete_greatest(contacts regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('DELETE FROM %1$s WHERE id = (SELECT id FROM %1$s ORDER BY id DESC LIMIT 1)', contacts);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
SELECT name, rob.delete_greatest(contacts) AS deleted FROM rob.key_sets ORDER BY name;
SELECT lead_score.rescore('rob_key_bigint', (-9223372036854775808)::bigint) AS least,
       lead_score.rescore('rob_key_bigint', 9223372036854775806::bigint) AS greatest_left,
       lead_score.rescore('rob_key_text', '') AS empty_text,
       lead_score.rescore('rob_key_uuid', '00000000-0000-0000-0000-000000000000'::uuid) AS nil_uuid;
SELECT k.name, c.* FROM rob.key_sets k, rob.check('rob_' || k.name, k.contacts, k.events) c ORDER BY k.name;
SELECT lead_score.score('rob_key_bigint', (-9223372036854775808)::bigint) > 0 AS least_bigint_scored,
       lead_score.score('rob_key_integer', (-2147483648)::integer) > 0 AS least_integer_scored,
       lead_score.score('rob_key_text', repeat('k', 2000)) > 0 AS long_text_scored,
       lead_score.score('rob_key_varchar', '') > 0 AS empty_varchar_scored;

-- ===================================================================================
-- 3. Event times of type date and timestamp (read in the session's time zone).
-- ===================================================================================
CREATE TABLE rob.time_contacts (id bigint PRIMARY KEY, want_fit float8 NOT NULL DEFAULT 0);
INSERT INTO rob.time_contacts SELECT g FROM generate_series(1, 20) AS g;
CREATE TABLE rob.date_events (contact_id bigint, event_type text, occurred_at date, want_points float8, want_reason text);
CREATE TABLE rob.stamp_events (contact_id bigint, event_type text, occurred_at timestamp, want_points float8, want_reason text);
CREATE INDEX ON rob.date_events (contact_id);
CREATE INDEX ON rob.stamp_events (contact_id);
CREATE TABLE rob.time_cases (no int PRIMARY KEY, event_type text, on_date date, at_stamp timestamp, want_points float8, want_reason text);
INSERT INTO rob.time_cases VALUES
  ( 1, 'visit', '4714-11-24 BC', '4714-11-24 00:00:00 BC', 1, 'scored'),
  ( 2, 'visit', '5874897-12-31', '294276-12-31 23:59:59.999999', 0, 'future'),
  ( 3, 'visit', 'infinity', 'infinity', 0, 'future'),
  ( 4, 'visit', '-infinity', '-infinity', 0, 'not_counted'),
  ( 5, 'visit', NULL, NULL, 0, 'null_time'),
  ( 6, 'visit', '2024-05-01', '2024-05-01 00:00:00', 1, 'scored'),
  ( 7, 'recent', '4714-11-24 BC', '4714-11-24 00:00:00 BC', 0, 'not_counted'),
  ( 8, 'recent', '5874897-12-31', '294276-12-31 23:59:59.999999', 0, 'future'),
  ( 9, 'recent', 'infinity', 'infinity', 0, 'future'),
  (10, 'recent', '-infinity', '-infinity', 0, 'not_counted'),
  (11, 'recent', NULL, NULL, 0, 'null_time'),
  (12, 'recent', '2024-05-31', '2024-05-31 00:00:00', 1, 'scored');
SELECT rob.new_profile('rob_date', (SELECT jsonb_object_agg(name, rule) FROM rob.data_rules WHERE name IN ('Visit', 'Recent', 'Flood'))) AS version;
SELECT rob.new_profile('rob_stamp', (SELECT jsonb_object_agg(name, rule) FROM rob.data_rules WHERE name IN ('Visit', 'Recent', 'Flood'))) AS version;
SELECT lead_score.attach('rob_date', 'rob.time_contacts', 'rob.date_events');
SELECT lead_score.attach('rob_stamp', 'rob.time_contacts', 'rob.stamp_events');
DO $$
DECLARE
    c rob.time_cases;
BEGIN
    FOR c IN SELECT * FROM rob.time_cases ORDER BY no LOOP
        BEGIN
            INSERT INTO rob.date_events VALUES (c.no, c.event_type, c.on_date, c.want_points, c.want_reason);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rob.failures VALUES ('single-row date', c.no::text, SQLSTATE, SQLERRM);
        END;
        BEGIN
            INSERT INTO rob.stamp_events VALUES (c.no, c.event_type, c.at_stamp, c.want_points, c.want_reason);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rob.failures VALUES ('single-row timestamp', c.no::text, SQLSTATE, SQLERRM);
        END;
    END LOOP;
END $$;
SELECT section, label, sqlstate, message FROM rob.failures WHERE section LIKE '%date' OR section LIKE '%timestamp' ORDER BY 1, 2;
SELECT rob.try_write($$INSERT INTO rob.date_events SELECT no + 1, event_type, on_date, want_points, want_reason
                         FROM rob.time_cases$$) AS multi_row_date,
       rob.try_write($$INSERT INTO rob.stamp_events SELECT no + 1, event_type, at_stamp, want_points, want_reason
                         FROM rob.time_cases$$) AS multi_row_timestamp;
SELECT rob.try_write($$INSERT INTO rob.date_events SELECT (no + g) % 18 + 1, event_type, on_date, want_points, want_reason
                         FROM rob.time_cases, generate_series(1, 90) AS g ORDER BY md5(no || '/' || g)$$) AS bulk_date,
       rob.try_write($$INSERT INTO rob.stamp_events SELECT (no + g) % 18 + 1, event_type, at_stamp, want_points, want_reason
                         FROM rob.time_cases, generate_series(1, 90) AS g ORDER BY md5(no || '/' || g)$$) AS bulk_timestamp;
SELECT * FROM rob.check('rob_date', 'rob.time_contacts', 'rob.date_events');
SELECT * FROM rob.check('rob_stamp', 'rob.time_contacts', 'rob.stamp_events');
SELECT reason, events FROM lead_score.stats('rob_date') WHERE events > 0 ORDER BY reason;
-- A timestamp at a range end, in a zone where it lies beyond the timestamptz range:
-- the earliest one 14 hours east of UTC (what it is worth is not fixed), the latest one
-- 12 hours west (future however it is read).
-- The table already holds both range ends, so any recomputation reads them too.
-- (A timestamp column is read in the session's time zone, so the same rows read in
-- another zone are other instants: the checks, which recompute, run back in UTC.)
SET timezone = 'Etc/GMT-14';
SELECT rob.try_write($$INSERT INTO rob.stamp_events VALUES (19, 'visit', '4714-11-24 00:00:00 BC', NULL, NULL)$$) AS earliest_east;
SET timezone = 'Etc/GMT+12';
SELECT rob.try_write($$INSERT INTO rob.stamp_events VALUES (20, 'visit', '294276-12-31 23:59:59.999999', 0, 'future')$$) AS latest_west;
SET timezone = 'UTC';
SELECT * FROM rob.check('rob_stamp', 'rob.time_contacts', 'rob.stamp_events');
SELECT lead_score.rescore('rob_stamp') AS rescored;
SELECT * FROM rob.check('rob_stamp', 'rob.time_contacts', 'rob.stamp_events');

-- ===================================================================================
-- 4. Partitioned contacts tables and partitions are refused (0A000), and leave nothing
--    behind. (A partitioned events table is attached: see partitioned_events.sql.)
-- ===================================================================================
SELECT rob.new_profile('rob_part', '{"Click": {"kind": "event", "event": "click", "points": 1}}') AS version;
CREATE TABLE rob.part_contacts (id bigint PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE rob.part_contacts_low PARTITION OF rob.part_contacts FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE rob.part_events (contact_id bigint, event_type text, occurred_at timestamptz) PARTITION BY RANGE (occurred_at);
CREATE TABLE rob.part_events_all PARTITION OF rob.part_events FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
CREATE INDEX ON rob.part_events (contact_id);
CREATE TABLE rob.flat_contacts (id bigint PRIMARY KEY);
CREATE TABLE rob.flat_events (contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON rob.flat_events (contact_id);
SELECT lead_score.attach('rob_part', 'rob.part_contacts', 'rob.flat_events');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('rob_part', 'rob.flat_contacts', 'rob.part_events');
SELECT lead_score.detach('rob_part');
SELECT lead_score.attach('rob_part', 'rob.part_contacts_low', 'rob.flat_events');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('rob_part', 'rob.flat_contacts', 'rob.part_events_all');
\echo :LAST_ERROR_SQLSTATE
-- So is a table inheriting from another: UPDATE and DELETE on the parent reach its rows
-- without firing its statement triggers (0.2.0 attached it; a DELETE through the
-- parent then left the deleted events' points in the scores). The tables inheriting
-- from an attached table do not matter: the scoring reads ONLY it.
CREATE TABLE rob.inherited_events (contact_id bigint, event_type text, occurred_at timestamptz);
CREATE TABLE rob.child_events () INHERITS (rob.inherited_events);
SELECT lead_score.attach('rob_part', 'rob.flat_contacts', 'rob.child_events');
\echo :LAST_ERROR_SQLSTATE
SELECT (SELECT count(*) FROM lead_score.attachments WHERE profile = 'rob_part') AS attachments,
       (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'rob'::regnamespace AND c.relname ~ '^(part|flat|child)_' AND t.tgname LIKE 'lead_score%') AS triggers,
       to_regclass('lead_score.rob_part_scores') IS NULL AS no_scores_relation;
-- The same profile attaches to plain tables.
SELECT lead_score.attach('rob_part', 'rob.flat_contacts', 'rob.flat_events');
SELECT count(*) AS attachments FROM lead_score.attachments WHERE profile = 'rob_part';

-- ===================================================================================
-- 5. A scoring trigger that fires where it has no attachment raises (55000).
-- ===================================================================================
CREATE TABLE rob.orphan_events (contact_id bigint, event_type text, occurred_at timestamptz);
CREATE TABLE rob.orphan_contacts (id bigint PRIMARY KEY);
CREATE TRIGGER orphan AFTER INSERT ON rob.orphan_events REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.on_events_change('999999');
SELECT rob.try_write($$INSERT INTO rob.orphan_events VALUES (1, 'click', '2024-06-01')$$) AS orphan_events_trigger;
CREATE TRIGGER orphan AFTER INSERT ON rob.orphan_contacts REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.on_contacts_change('999999');
SELECT rob.try_write($$INSERT INTO rob.orphan_contacts VALUES (1)$$) AS orphan_contacts_trigger;
SELECT (SELECT count(*) FROM rob.orphan_events) AS events_kept, (SELECT count(*) FROM rob.orphan_contacts) AS contacts_kept;
DROP TRIGGER orphan ON rob.orphan_events;
DROP TRIGGER orphan ON rob.orphan_contacts;
-- A published profile that is not attached: its id is no attachment either.
SELECT rob.new_profile('rob_unattached', '{"Click": {"kind": "event", "event": "click", "points": 1}}') AS version;
SELECT id AS unattached_id FROM lead_score.profile_store WHERE name = 'rob_unattached' \gset
CREATE TRIGGER orphan AFTER INSERT ON rob.orphan_events REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score.on_events_change(:'unattached_id');
SELECT rob.try_write($$INSERT INTO rob.orphan_events VALUES (1, 'click', '2024-06-01')$$) AS unattached_profile_trigger;
DROP TRIGGER orphan ON rob.orphan_events;
-- Without the triggers, the writes go through.
INSERT INTO rob.orphan_events VALUES (1, 'click', '2024-06-01');
INSERT INTO rob.orphan_contacts VALUES (1);
SELECT (SELECT count(*) FROM rob.orphan_events) AS events_kept, (SELECT count(*) FROM rob.orphan_contacts) AS contacts_kept;

-- ===================================================================================
-- Every write above succeeded; clean up.
-- ===================================================================================
SELECT count(*) AS failed_writes FROM rob.failures;
DO $$ BEGIN PERFORM lead_score.drop_profile(name) FROM lead_score.profiles WHERE name LIKE 'rob\_%'; END $$;
SELECT (SELECT count(*) FROM lead_score.profiles WHERE name LIKE 'rob\_%') AS profiles,
       (SELECT count(*) FROM lead_score.attachments WHERE profile LIKE 'rob\_%') AS attachments;
SET client_min_messages = warning;
DROP SCHEMA rob CASCADE;
RESET client_min_messages;
RESET lead_score.now;
RESET timezone;
