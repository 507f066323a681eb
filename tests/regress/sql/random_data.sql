-- A seeded property test at the SQL level: random legal documents (nesting depth 0 to
-- 300, objects, arrays, odd keys, strings, booleans, nulls, numbers with exponents far
-- beyond float8 either way) as event properties and contact columns, random keys
-- (the ends of bigint among them), random event times (±infinity, the range ends,
-- NULL), written in batches of random sizes into the tables of two attached profiles
-- (jsonb and json properties). Nothing may fail, and afterwards:
--   * verify() is empty and every contact has a score row;
--   * stats() accounts for every event (its per-contact reasons add up to the events
--     of known contacts; NULL and unknown contacts, NULL times and scored events are
--     exactly as many as the data says);
--   * every stored score is what rule_matches() gives, rule by rule and event by event
--     (all event rules count every event and never decay, so an event counts in full
--     when it has a type and a time that is neither in the future nor -infinity);
--   * rule_matches() returns a boolean on every generated document.
-- Only counts and booleans are shown, never the random data.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 12:00:00+00';
SELECT setseed(0.4242);
CREATE SCHEMA rnd;

-- Random pieces of JSON, as text.
CREATE FUNCTION rnd.pick(items text[]) RETURNS text LANGUAGE sql VOLATILE
AS $$ SELECT items[1 + floor(random() * cardinality(items))::int] $$;
CREATE FUNCTION rnd.number() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    CASE floor(random() * 8)::int
    WHEN 0 THEN RETURN ((random() * 2000 - 1000)::int)::text;
    WHEN 1 THEN RETURN round((random() * 1000)::numeric, 3)::text;
    WHEN 2 THEN RETURN '1e' || (random() * 800 - 400)::int;
    WHEN 3 THEN RETURN '-1e' || (random() * 800 - 400)::int;
    WHEN 4 THEN RETURN round((random() * 9 + 1)::numeric, 2) || 'e' || (random() * 800 - 400)::int;
    WHEN 5 THEN RETURN rnd.pick(ARRAY['123456789012345678901234567890', '-123456789012345678901234567890',
                                      '1.7976931348623157e308', '-1.7976931348623157e308', '2e308', '-2e308',
                                      '4.9e-324', '1e-330', '-0', '0', '1e400', '-1e400', '1e-400', '-1e300']);
    ELSE RETURN ((random() * 300)::int)::text;
    END CASE;
END $$;
CREATE FUNCTION rnd.string() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT to_json(rnd.pick(ARRAY['', 'x', 'xylophone', 'with "quotes"', 'back\slash', 'ünïcødé 🚀', E'line\nbreak',
                                  'null', '{"not": "json"}', '1e400', '120', 'true', '2024-05-01', repeat('x', 500)]))::text
$$;
CREATE FUNCTION rnd.key() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT rnd.pick(ARRAY['a', 'amount', 'url', 'flag', 'n', '', 'with space', 'quo"te', 'back\slash', 'dot.ted',
                          'ünï', '🚀', 'null', E'tab\t', E'new\nline', '0', '[]'])
$$;
CREATE FUNCTION rnd.scalar() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
BEGIN
    RETURN CASE WHEN r < 0.35 THEN rnd.number()
                WHEN r < 0.60 THEN rnd.string()
                WHEN r < 0.70 THEN rnd.pick(ARRAY['true', 'false'])
                WHEN r < 0.80 THEN 'null'
                WHEN r < 0.88 THEN '{}'
                WHEN r < 0.96 THEN '[]'
                ELSE '{"amount": ' || rnd.number() || '}' END;
END $$;
-- A document nested `depth` levels: each level an object (keyed "a" when `pure`, else
-- mostly "a") or an array, with random siblings, around a random scalar.
CREATE FUNCTION rnd.doc(depth int, pure boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before text[] := '{}';
    after text[] := '{}';
    core text := rnd.scalar();
    key text;
BEGIN
    FOR level IN 1..depth LOOP
        IF pure OR random() < 0.6 THEN
            key := CASE WHEN pure OR random() < 0.8 THEN 'a' ELSE rnd.key() END;
            before := before || ('{' || CASE WHEN random() < 0.3
                                             THEN to_json(rnd.key() || '_' || level || 'x')::text || ': ' || rnd.scalar() || ', '
                                             ELSE '' END
                                 || to_json(key)::text || ': ');
            after := after || (CASE WHEN random() < 0.3
                                    THEN ', ' || to_json(rnd.key() || '_' || level || 'y')::text || ': ' || rnd.scalar()
                                    ELSE '' END || '}');
        ELSE
            before := before || ('[' || CASE WHEN random() < 0.3 THEN rnd.scalar() || ', ' ELSE '' END);
            after := after || (CASE WHEN random() < 0.3 THEN ', ' || rnd.scalar() ELSE '' END || ']');
        END IF;
    END LOOP;
    RETURN array_to_string(before, '') || core
        || coalesce((SELECT string_agg(piece, '' ORDER BY n DESC) FROM unnest(after) WITH ORDINALITY AS t(piece, n)), '');
END $$;
-- Event properties: mostly an object with some of the fields the rules read and the
-- nested document under "a"; otherwise the nested document itself.
CREATE FUNCTION rnd.props(depth int, pure boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    fields text := '';
BEGIN
    IF random() < 0.3 THEN
        RETURN rnd.doc(depth, pure);
    END IF;
    IF random() < 0.6 THEN fields := fields || '"amount": ' || rnd.number() || ', '; END IF;
    IF random() < 0.4 THEN fields := fields || '"n": ' || rnd.number() || ', '; END IF;
    IF random() < 0.4 THEN fields := fields || '"url": ' || rnd.string() || ', '; END IF;
    IF random() < 0.3 THEN fields := fields || '"flag": ' || rnd.pick(ARRAY['true', 'false', '"true"', '1', 'null']) || ', '; END IF;
    RETURN '{' || fields || '"a": ' || rnd.doc(depth - 1, pure) || '}';
END $$;
CREATE FUNCTION rnd.depth() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
BEGIN
    RETURN CASE WHEN r < 0.4 THEN floor(random() * 6)
                WHEN r < 0.7 THEN 5 + floor(random() * 56)
                WHEN r < 0.9 THEN 60 + floor(random() * 91)
                ELSE 150 + floor(random() * 151) END;
END $$;

-- 300 documents. The first few are fixed, so that every depth class and every rule is
-- met whatever the seed gives.
CREATE TABLE rnd.docs (no int PRIMARY KEY, depth int, props text);
INSERT INTO rnd.docs VALUES
  (1, 0, '1e400'),
  (2, 301, '{"a": ' || repeat('{"a": ', 300) || '1' || repeat('}', 300) || '}'),
  (3, 101, '{"a": ' || repeat('{"a": ', 100) || '[]' || repeat('}', 100) || '}'),
  (4, 59, '{"a": ' || repeat('{"a": ', 58) || '{}' || repeat('}', 58) || '}'),
  (5, 1, '{"amount": -1e300, "n": 1e-400}'),
  (6, 1, '{"amount": 1e400, "n": -1e400, "url": "xylophone", "flag": true}'),
  (7, 1, '{"amount": 1.7976931348623157e308, "url": "1e400", "flag": "true"}'),
  (8, 2, '{"a": {"a": 1e-400}}'),
  (9, 300, repeat('[', 300) || '-1e400' || repeat(']', 300)),
  (10, 0, '-1e400'),
  (11, 0, '150'),
  (12, 0, '1e300'),
  (13, 0, '1e-400'),
  (14, 0, '-150'),
  (15, 0, '"xylophone"');
DO $$
DECLARE
    depth int;
BEGIN
    FOR doc_no IN 16..300 LOOP
        depth := rnd.depth();
        INSERT INTO rnd.docs VALUES (doc_no, depth, CASE WHEN depth = 0 THEN rnd.scalar() ELSE rnd.props(depth, random() < 0.2) END);
    END LOOP;
END $$;
SELECT count(*) AS docs,
       count(*) FILTER (WHERE jsonb_typeof(props::jsonb) IS NOT NULL) AS valid_jsonb,
       count(*) FILTER (WHERE props::json IS NOT NULL) AS valid_json,
       bool_or(depth = 0) AS some_flat, bool_or(depth BETWEEN 1 AND 100) AS some_nested,
       bool_or(depth > 100) AS some_deeper_than_100, max(depth) > 300 AS deepest_past_300
  FROM rnd.docs;

-- The rules: every event rule counts every event and never decays.
CREATE TABLE rnd.rules (name text PRIMARY KEY, rule jsonb NOT NULL);
INSERT INTO rnd.rules VALUES
  ('Big amount', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "gt", "value": 100}, "points": 1, "half_life": null}'),
  ('Hugely negative', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "lte", "value": -1e300}, "points": 2, "half_life": null}'),
  ('Sane n', '{"kind": "event", "event": "buy", "when": {"field": "props.n", "op": "between", "value": [-1e10, 1e10]}, "points": 4, "half_life": null}'),
  ('Any buy', '{"kind": "event", "event": "buy", "points": 8, "half_life": null}'),
  ('Pricing', '{"kind": "event", "event": "view", "when": {"field": "props.url", "op": "contains", "value": "x"}, "points": 16, "half_life": null}'),
  ('Flag', '{"kind": "event", "event": "view", "when": {"field": "props.flag", "op": "eq", "value": true}, "points": 32, "half_life": null}'),
  ('Huge amount', '{"kind": "event", "event": "view", "when": {"field": "props.amount", "op": "gte", "value": 1e300}, "points": 64, "half_life": null}'),
  ('Deep three', '{"kind": "event", "event": "deep", "when": {"field": "props.a.a.a", "op": "not_null"}, "points": 128, "half_life": null}'),
  ('Deep sixty', jsonb_build_object('kind', 'event', 'event', 'deep', 'points', 256, 'half_life', NULL,
                                    'when', jsonb_build_object('field', 'props.' || repeat('a.', 58) || 'a', 'op', 'not_null'))),
  ('Zero', '{"kind": "event", "event": "deep", "when": {"field": "props.a.a", "op": "eq", "value": 0}, "points": 512, "half_life": null}'),
  ('Doc present', '{"kind": "fit", "when": {"field": "doc", "op": "not_null"}, "points": 1000}'),
  ('Doc big', '{"kind": "fit", "when": {"field": "doc", "op": "gt", "value": 100}, "points": 2000}'),
  ('Doc huge', '{"kind": "fit", "when": {"field": "doc", "op": "gte", "value": 1e300}, "points": 4000}'),
  ('Doc zero', '{"kind": "fit", "when": {"field": "doc", "op": "eq", "value": 0}, "points": 8000}'),
  ('Note present', '{"kind": "fit", "when": {"field": "note", "op": "not_null"}, "points": 16000}'),
  ('Note negative', '{"kind": "fit", "when": {"field": "note", "op": "lt", "value": -100}, "points": 32000}'),
  ('Doc has x', '{"kind": "fit", "when": {"field": "doc", "op": "contains", "value": "x"}, "points": 64000}');
CREATE TABLE rnd.event_rules AS
SELECT name, rule, rule ->> 'event' AS event_type, (rule ->> 'points')::float8 AS points
  FROM rnd.rules WHERE rule ->> 'kind' = 'event';
CREATE TABLE rnd.fit_rules AS
SELECT name, rule, (rule ->> 'points')::float8 AS points FROM rnd.rules WHERE rule ->> 'kind' = 'fit';

-- rule_matches() on every document: as the properties of an event of the rule's type,
-- and as both JSON columns of a contact. A boolean every time, never an error.
CREATE FUNCTION rnd.try_matches(rule jsonb, record jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(lead_score.rule_matches(rule, record)::text, 'null');
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;
CREATE TABLE rnd.event_matches AS
SELECT d.no AS doc_no, r.name, r.event_type, r.points,
       rnd.try_matches(r.rule, jsonb_build_object('event_type', r.event_type, 'props', d.props::jsonb)) AS result
  FROM rnd.docs d CROSS JOIN rnd.event_rules r;
CREATE TABLE rnd.fit_matches AS
SELECT d.no AS doc_no, r.name,
       rnd.try_matches(r.rule, jsonb_build_object('doc', d.props::jsonb, 'note', d.props::jsonb)) AS result
  FROM rnd.docs d CROSS JOIN rnd.fit_rules r;
SELECT 'event' AS rules, count(*) AS tries, count(*) FILTER (WHERE result IN ('true', 'false')) AS booleans,
       count(DISTINCT name) FILTER (WHERE result = 'true') = (SELECT count(*) FROM rnd.event_rules) AS each_rule_matched_some
  FROM rnd.event_matches
UNION ALL
SELECT 'fit', count(*), count(*) FILTER (WHERE result IN ('true', 'false')),
       count(DISTINCT name) FILTER (WHERE result = 'true') = (SELECT count(*) FROM rnd.fit_rules)
  FROM rnd.fit_matches;
-- What an event of each type with each document is worth, by rule_matches().
CREATE TABLE rnd.doc_points AS
SELECT doc_no, event_type, sum(points) FILTER (WHERE result = 'true') AS points, bool_or(result = 'true') AS matched
  FROM rnd.event_matches GROUP BY doc_no, event_type;

-- Contacts: the ends of bigint and some ordinary keys, with random JSON columns.
CREATE TABLE rnd.contacts (id bigint PRIMARY KEY, doc jsonb, note json);
CREATE FUNCTION rnd.column_value() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
    doc_no int := 1 + floor(random() * 300)::int;
BEGIN
    RETURN CASE WHEN r < 0.2 THEN NULL
                WHEN r < 0.5 THEN rnd.number()
                ELSE (SELECT props FROM rnd.docs WHERE no = doc_no) END;
END $$;
DO $$
DECLARE
    key bigint;
BEGIN
    FOREACH key IN ARRAY ARRAY[-9223372036854775808, -4611686018427387904, -1, 0, 4611686018427387904,
                               9223372036854775806, 9223372036854775807]::bigint[] || ARRAY(SELECT generate_series(1, 40)::bigint) LOOP
        INSERT INTO rnd.contacts VALUES (key, rnd.column_value()::jsonb, rnd.column_value()::json);
    END LOOP;
END $$;
CREATE TABLE rnd.events (seq int PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz,
                         props jsonb, doc_no int);
CREATE TABLE rnd.jevents (seq int PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz,
                          props json, doc_no int);
CREATE INDEX ON rnd.events (contact_id);
CREATE INDEX ON rnd.jevents (contact_id);

-- 1,600 events: contacts (7% NULL, 8% unknown keys), types (5% NULL), times (NULL,
-- ±infinity, the range ends, the future, the past), documents. Rows 1-100 are history
-- written before the attach; rows 101-140 are written one per statement, rows 141-400
-- in statements of 2 to 50 rows, rows 401-1600 in one statement.
CREATE TABLE rnd.plan (seq int PRIMARY KEY, batch int, contact_id bigint, event_type text,
                       occurred_at timestamptz, doc_no int);
DO $$
DECLARE
    keys bigint[] := ARRAY(SELECT id FROM rnd.contacts ORDER BY id);
    unknown bigint[] := ARRAY[41, 42, 43, -2, 999999];
    batch int := 0;
    left_in_batch int := 0;
    r float8;
    contact bigint;
    event_type text;
    at timestamptz;
BEGIN
    FOR seq IN 1..1600 LOOP
        IF seq BETWEEN 101 AND 140 THEN
            batch := batch + 1;
        ELSIF seq BETWEEN 141 AND 400 THEN
            IF left_in_batch = 0 THEN
                batch := batch + 1;
                left_in_batch := 2 + floor(random() * 49)::int;
            END IF;
            left_in_batch := left_in_batch - 1;
        ELSIF seq = 401 THEN
            batch := batch + 1;
        END IF;
        r := random();
        contact := CASE WHEN r < 0.07 THEN NULL
                        WHEN r < 0.15 THEN unknown[1 + floor(random() * cardinality(unknown))::int]
                        ELSE keys[1 + floor(random() * cardinality(keys))::int] END;
        event_type := CASE WHEN random() < 0.05 THEN NULL ELSE rnd.pick(ARRAY['buy', 'view', 'deep', 'other']) END;
        r := random();
        at := CASE WHEN r < 0.05 THEN NULL
                   WHEN r < 0.10 THEN 'infinity'
                   WHEN r < 0.15 THEN '-infinity'
                   WHEN r < 0.19 THEN '4714-11-24 00:00:00+00 BC'
                   WHEN r < 0.23 THEN '294276-12-31 23:59:59.999999+00'
                   WHEN r < 0.33 THEN timestamptz '2024-06-01 12:00:00+00' + random() * interval '60 days'
                   ELSE timestamptz '2024-06-01 12:00:00+00' - random() * interval '400 days' END;
        INSERT INTO rnd.plan VALUES (seq, batch, contact, event_type, at,
                                     CASE WHEN seq <= 300 THEN seq ELSE 1 + floor(random() * 300)::int END);
    END LOOP;
END $$;
SELECT (SELECT count(*) FROM rnd.plan) AS events,
       (SELECT count(*) FROM rnd.plan WHERE batch = 0) AS before_attach,
       count(*) FILTER (WHERE size = 1) >= 40 AS single_row_statements,
       count(*) FILTER (WHERE size BETWEEN 2 AND 50) > 5 AS statements_of_2_to_50,
       count(*) FILTER (WHERE size > 50) AS statements_over_50, max(size) AS largest_statement
  FROM (SELECT batch, count(*) AS size FROM rnd.plan WHERE batch > 0 GROUP BY batch) b;
SELECT bool_or(contact_id IS NULL) AS null_contacts, bool_or(contact_id = 999999) AS unknown_contacts,
       bool_or(contact_id = -9223372036854775808) AND bool_or(contact_id = 9223372036854775807) AS extreme_keys,
       bool_or(event_type IS NULL) AS null_types, bool_or(occurred_at IS NULL) AS null_times,
       bool_or(occurred_at = 'infinity') AND bool_or(occurred_at = '-infinity') AS infinities,
       bool_or(occurred_at = '4714-11-24 00:00:00+00 BC') AND bool_or(occurred_at = '294276-12-31 23:59:59.999999+00') AS range_ends
  FROM rnd.plan;

-- The history, then the two profiles attached.
INSERT INTO rnd.events SELECT p.seq, p.contact_id, p.event_type, p.occurred_at, d.props::jsonb, p.doc_no
  FROM rnd.plan p JOIN rnd.docs d ON d.no = p.doc_no WHERE p.batch = 0;
INSERT INTO rnd.jevents SELECT p.seq, p.contact_id, p.event_type, p.occurred_at, d.props::json, p.doc_no
  FROM rnd.plan p JOIN rnd.docs d ON d.no = p.doc_no WHERE p.batch = 0;
CREATE FUNCTION rnd.new_profile(p text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_score.create_profile(p);
    PERFORM lead_score.add_rule(p, r.name, r.rule) FROM rnd.rules r ORDER BY r.name;
    RETURN lead_score.publish(p);
END $$;
SELECT rnd.new_profile('rnd_jsonb') AS version, rnd.new_profile('rnd_json') AS version;
SELECT lead_score.attach('rnd_jsonb', 'rnd.contacts', 'rnd.events', '{"event_props": "props"}');
SELECT lead_score.attach('rnd_json', 'rnd.contacts', 'rnd.jevents', '{"event_props": "props"}');

-- The rest, batch by batch, into both tables. Failures are recorded, not raised.
CREATE TABLE rnd.failures (batch int, tbl text, sqlstate text, message text);
DO $$
DECLARE
    b int;
BEGIN
    FOR b IN SELECT DISTINCT batch FROM rnd.plan WHERE batch > 0 ORDER BY batch LOOP
        BEGIN
            INSERT INTO rnd.events SELECT p.seq, p.contact_id, p.event_type, p.occurred_at, d.props::jsonb, p.doc_no
              FROM rnd.plan p JOIN rnd.docs d ON d.no = p.doc_no WHERE p.batch = b ORDER BY p.seq;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rnd.failures VALUES (b, 'events', SQLSTATE, SQLERRM);
        END;
        BEGIN
            INSERT INTO rnd.jevents SELECT p.seq, p.contact_id, p.event_type, p.occurred_at, d.props::json, p.doc_no
              FROM rnd.plan p JOIN rnd.docs d ON d.no = p.doc_no WHERE p.batch = b ORDER BY p.seq;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rnd.failures VALUES (b, 'jevents', SQLSTATE, SQLERRM);
        END;
    END LOOP;
END $$;
SELECT count(*) AS failed_batches FROM rnd.failures;
SELECT tbl, sqlstate, left(message, 200) AS message FROM rnd.failures ORDER BY batch, tbl LIMIT 5;
SELECT (SELECT count(*) FROM rnd.events) AS events, (SELECT count(*) FROM rnd.jevents) AS json_events;

-- Contacts change: ten single-row updates, then a multi-row update, then two new
-- contacts whose events were unknown until now, then a multi-row delete of events.
CREATE TABLE rnd.contact_changes (n int PRIMARY KEY, id bigint, doc text, note text);
DO $$
DECLARE
    keys bigint[] := ARRAY(SELECT id FROM rnd.contacts ORDER BY id);
BEGIN
    FOR n IN 1..30 LOOP
        INSERT INTO rnd.contact_changes VALUES (n, keys[1 + floor(random() * cardinality(keys))::int],
                                                rnd.column_value(), rnd.column_value());
    END LOOP;
END $$;
DO $$
DECLARE
    c rnd.contact_changes;
BEGIN
    FOR c IN SELECT * FROM rnd.contact_changes WHERE n <= 10 ORDER BY n LOOP
        BEGIN
            UPDATE rnd.contacts SET doc = c.doc::jsonb, note = c.note::json WHERE id = c.id;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rnd.failures VALUES (-c.n, 'contacts', SQLSTATE, SQLERRM);
        END;
    END LOOP;
END $$;
UPDATE rnd.contacts c SET doc = x.doc::jsonb, note = x.note::json
  FROM (SELECT DISTINCT ON (id) id, doc, note FROM rnd.contact_changes WHERE n > 10 ORDER BY id, n) x
 WHERE x.id = c.id;
INSERT INTO rnd.contacts VALUES (41, (SELECT props FROM rnd.docs WHERE no = 2)::jsonb, '1e400'),
                                (42, '-1e400', (SELECT props FROM rnd.docs WHERE no = 9)::json);
DELETE FROM rnd.events WHERE seq % 17 = 0;
DELETE FROM rnd.jevents WHERE seq % 19 = 0;
SELECT count(*) AS failed_writes FROM rnd.failures;

-- The checks, for one profile and its events table.
CREATE FUNCTION rnd.check(p text, events regclass,
                          OUT verify_empty boolean, OUT every_contact_scored boolean, OUT tally_adds_up boolean,
                          OUT null_contacts_ok boolean, OUT unknown_contacts_ok boolean, OUT null_times_ok boolean,
                          OUT scored_ok boolean, OUT scores_ok boolean)
LANGUAGE plpgsql AS $$
DECLARE
    scores text := format('lead_score.%I', p || '_scores');
    stats jsonb;
    want record;
    problems text;
BEGIN
    stats := (SELECT jsonb_object_agg(s.reason, s.events) FROM lead_score.stats(p) s);
    verify_empty := NOT EXISTS (SELECT FROM lead_score.verify(p));
    EXECUTE format('SELECT (SELECT count(*) FROM %1$s) = (SELECT count(*) FROM rnd.contacts)
                           AND NOT EXISTS (SELECT FROM rnd.contacts c WHERE NOT EXISTS (SELECT FROM %1$s s WHERE s.id = c.id))',
                   scores)
       INTO every_contact_scored;
    -- Each event of a known contact, with what rule_matches() says it is worth.
    EXECUTE format($q$
        WITH ev AS (
            SELECT e.contact_id, e.occurred_at, coalesce(m.matched, false) AS matched,
                   e.occurred_at IS NOT NULL AND e.event_type IS NOT NULL
                       AND e.occurred_at <= lead_score.now() AND e.occurred_at > '-infinity' AS counted,
                   EXISTS (SELECT FROM rnd.contacts c WHERE c.id = e.contact_id) AS known
              FROM %s e LEFT JOIN rnd.doc_points m ON m.doc_no = e.doc_no AND m.event_type = e.event_type)
        SELECT count(*) FILTER (WHERE contact_id IS NULL) AS null_contact,
               count(*) FILTER (WHERE contact_id IS NOT NULL AND NOT known) AS unknown_contact,
               count(*) FILTER (WHERE known) AS known,
               count(*) FILTER (WHERE known AND occurred_at IS NULL) AS null_time,
               count(*) FILTER (WHERE known AND counted AND matched) AS scored
          FROM ev$q$, events)
       INTO want;
    tally_adds_up := (SELECT sum((stats ->> r)::bigint)
                        FROM unnest(ARRAY['scored', 'unmatched', 'not_counted', 'future', 'null_time', 'null_type']) r)
                     = want.known;
    null_contacts_ok := (stats ->> 'null_contact')::bigint = want.null_contact;
    unknown_contacts_ok := (stats ->> 'unknown_contact')::bigint = want.unknown_contact;
    null_times_ok := (stats ->> 'null_time')::bigint = want.null_time;
    scored_ok := (stats ->> 'scored')::bigint = want.scored;
    IF NOT (tally_adds_up AND null_contacts_ok AND unknown_contacts_ok AND null_times_ok AND scored_ok) THEN
        RAISE NOTICE '%: stats() %, expected %', p, stats, to_jsonb(want);
    END IF;
    -- Each contact's score: its fit rules by rule_matches() on its JSON form, plus the
    -- points of its counted events.
    EXECUTE format($q$
        WITH expected AS (
            SELECT c.id,
                   (SELECT coalesce(sum(r.points) FILTER (WHERE lead_score.rule_matches(r.rule, to_jsonb(c))), 0)
                      FROM rnd.fit_rules r)
                   + (SELECT coalesce(sum(m.points), 0)
                        FROM %s e JOIN rnd.doc_points m ON m.doc_no = e.doc_no AND m.event_type = e.event_type
                       WHERE e.contact_id = c.id AND e.occurred_at <= lead_score.now() AND e.occurred_at > '-infinity') AS score
              FROM rnd.contacts c)
        SELECT string_agg(format('%%s: %%s, expected %%s', x.id, s.score, x.score), '; ' ORDER BY x.id)
          FROM expected x LEFT JOIN %s s ON s.id = x.id
         WHERE (abs(s.score - x.score) <= 1e-9 * greatest(1, abs(x.score))) IS NOT TRUE$q$, events, scores)
       INTO problems;
    scores_ok := problems IS NULL;
    IF NOT scores_ok THEN
        RAISE NOTICE '%: scores differ: %', p, left(problems, 2000);
    END IF;
EXCEPTION WHEN OTHERS THEN
    -- What was checked before the error keeps its answer; the rest stays NULL.
    RAISE NOTICE '%: checking raised %: %', p, SQLSTATE, SQLERRM;
END $$;
SELECT 'rnd_jsonb' AS profile, * FROM rnd.check('rnd_jsonb', 'rnd.events')
UNION ALL
SELECT 'rnd_json', * FROM rnd.check('rnd_json', 'rnd.jevents');

-- A full rescore changes nothing.
SELECT lead_score.rescore('rnd_jsonb') = (SELECT count(*) FROM rnd.contacts) AS rescored_all,
       lead_score.rescore('rnd_json') = (SELECT count(*) FROM rnd.contacts) AS rescored_all;
SELECT 'rnd_jsonb' AS profile, * FROM rnd.check('rnd_jsonb', 'rnd.events')
UNION ALL
SELECT 'rnd_json', * FROM rnd.check('rnd_json', 'rnd.jevents');

-- score_record() on each contact with its events whose times are ordinary (or NULL):
-- the same score as rule_matches() gives, and every event tallied.
WITH records AS (
    SELECT c.id, to_jsonb(c) AS contact,
           coalesce(jsonb_agg(jsonb_build_object('event_type', e.event_type, 'at', e.occurred_at, 'props', e.props)
                              ORDER BY e.seq) FILTER (WHERE e.seq IS NOT NULL), '[]') AS events,
           count(e.seq) AS event_count,
           coalesce(sum(m.points) FILTER (WHERE e.occurred_at <= lead_score.now()), 0)
               + (SELECT coalesce(sum(r.points) FILTER (WHERE lead_score.rule_matches(r.rule, to_jsonb(c))), 0)
                    FROM rnd.fit_rules r) AS expected
      FROM rnd.contacts c
      LEFT JOIN rnd.events e ON e.contact_id = c.id
                            AND (e.occurred_at IS NULL OR e.occurred_at BETWEEN '2000-01-01' AND '2100-01-01')
      LEFT JOIN rnd.doc_points m ON m.doc_no = e.doc_no AND m.event_type = e.event_type
     GROUP BY c.id),
results AS (
    SELECT id, event_count, expected, lead_score.score_record('rnd_jsonb', contact, events) AS r FROM records)
SELECT count(*) AS contacts,
       count(*) FILTER (WHERE abs((r ->> 'score')::float8 - expected) <= 1e-9 * greatest(1, abs(expected))) AS same_score,
       count(*) FILTER (WHERE (SELECT sum(value::bigint) FROM jsonb_each_text(r -> 'events')) = event_count) AS every_event_tallied
  FROM results;

DO $$ BEGIN PERFORM lead_score.drop_profile(name) FROM lead_score.profiles WHERE name LIKE 'rnd\_%'; END $$;
SELECT count(*) AS profiles_left FROM lead_score.profiles WHERE name LIKE 'rnd\_%';
SET client_min_messages = warning;
DROP SCHEMA rnd CASCADE;
RESET client_min_messages;
RESET lead_score.now;
RESET timezone;
