-- Scoring is total on every legal value. Whatever the CRM writes (jsonb of any depth,
-- numbers beyond float8, timestamps at the range ends and at ±infinity), the write
-- succeeds, every contact keeps a score row, verify() finds nothing, and stats()
-- accounts for every event. (Keys at the ends of their types, event times in date and
-- timestamp columns, and tables the scoring refuses: robustness_tables.sql; the same
-- values without tables, through rule_matches() and score_record(): robustness_matches.sql.)
--
-- The rules read those values the documented way:
--   * a number outside the float8 range (1e400, -1e400) is read as its text and
--     matches no numeric condition (gt, gte, lt, lte, between, numeric eq); 1e-400
--     reads as 0;
--   * containers deeper than 68 levels are read as empty containers of their kind
--     (src/pg/jsonb.rs, MAX_DEPTH), which no rule can observe: field paths have at most
--     64 segments (a 65th is refused), and a `contains` on a list at the end of one
--     looks one level further. The cases straddle 68 (67, 68, 69 levels) and reach the
--     64th segment, a list there included;
--   * an event at infinity is future (it never comes due), one at -infinity is worth
--     nothing (not_counted), a NULL time is null_time.
--
-- Each event row carries what the rules should give it (want_points, want_reason) and
-- each contact its fit points (want_fit); rob.check() compares the stored scores and
-- stats() with them. A NULL want_* means "not fixed by the documented behaviour": such
-- an event may fall under any reason and its contact's score is not compared.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 12:00:00+00';

CREATE SCHEMA rob;

-- Nested documents as JSON text: [[[...leaf...]]] and {"a": {"a": ... leaf ...}}.
CREATE FUNCTION rob.nested_array(depth int, leaf text DEFAULT '1') RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT repeat('[', depth) || leaf || repeat(']', depth) $$;
CREATE FUNCTION rob.nested_object(depth int, leaf text DEFAULT '1') RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT repeat('{"a": ', depth) || leaf || repeat('}', depth) $$;
SELECT jsonb_typeof(rob.nested_array(5000)::jsonb) AS array_5000,
       jsonb_typeof(rob.nested_object(5000)::jsonb) AS object_5000,
       jsonb_typeof(rob.nested_object(200)::jsonb #> '{a,a,a}') AS object_200_at_a_a_a,
       length(rob.nested_object(5000)::jsonb::text) AS object_5000_length;

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

-- ===================================================================================
-- 1. Data: event properties, contact and account columns.
-- ===================================================================================
CREATE TABLE rob.data_rules (name text PRIMARY KEY, rule jsonb NOT NULL);
INSERT INTO rob.data_rules VALUES
  ('Big amount', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "gt", "value": 100}, "points": 1, "half_life": null}'),
  ('Very negative', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "lt", "value": -100}, "points": 2, "half_life": null}'),
  ('Zero amount', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "eq", "value": 0}, "points": 4, "half_life": null}'),
  ('Sane amount', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "between", "value": [-1e300, 1e300]}, "points": 8, "half_life": null}'),
  ('Huge amount', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "gte", "value": 1e300}, "points": 16, "half_life": null}'),
  ('Hugely negative', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "lte", "value": -1e300}, "points": 32, "half_life": null}'),
  ('Nested amount', '{"kind": "event", "event": "buy", "when": {"field": "props.n.n.amount", "op": "gt", "value": 100}, "points": 64, "half_life": null}'),
  ('Deep three', '{"kind": "event", "event": "deep", "when": {"field": "props.a.a.a", "op": "not_null"}, "points": 128, "half_life": null}'),
  ('Deep leaf', '{"kind": "event", "event": "deep", "when": {"field": "props.a.a.a", "op": "eq", "value": 1}, "points": 256, "half_life": null}'),
  -- props and 59 segments: 60 in all.
  ('Deep sixty', jsonb_build_object('kind', 'event', 'event', 'deep', 'points', 512, 'half_life', NULL,
                                    'when', jsonb_build_object('field', 'props.' || repeat('a.', 58) || 'a', 'op', 'not_null'))),
  -- props and 63 segments: 64 in all, the most a field path may have.
  ('Deep sixty-four', jsonb_build_object('kind', 'event', 'event', 'deep', 'points', 1024, 'half_life', NULL,
                                         'when', jsonb_build_object('field', 'props.' || repeat('a.', 62) || 'a', 'op', 'not_null'))),
  ('Deep sixty-four list', jsonb_build_object('kind', 'event', 'event', 'deep', 'points', 2048, 'half_life', NULL,
                                              'when', jsonb_build_object('field', 'props.' || repeat('a.', 62) || 'a', 'op', 'contains', 'value', 'x'))),
  ('Visit', '{"kind": "event", "event": "visit", "points": 1, "half_life": null}'),
  ('Recent', '{"kind": "event", "event": "recent", "points": 1, "within": "7 days", "half_life": null}'),
  ('Fade', '{"kind": "event", "event": "fade", "points": 1, "half_life": "1 day"}'),
  -- Never holds, but makes `recent` a type that history conditions count.
  ('Flood', '{"kind": "disqualifier", "when": {"event_count": "recent", "within": "7 days", "op": "gte", "value": 1000000}}'),
  ('Doc present', '{"kind": "fit", "when": {"field": "doc", "op": "not_null"}, "points": 1000}'),
  ('Doc big', '{"kind": "fit", "when": {"field": "doc", "op": "gt", "value": 100}, "points": 2000}'),
  ('Doc huge', '{"kind": "fit", "when": {"field": "doc", "op": "gte", "value": 1e300}, "points": 4000}'),
  ('Doc zero', '{"kind": "fit", "when": {"field": "doc", "op": "eq", "value": 0}, "points": 8000}'),
  ('Note present', '{"kind": "fit", "when": {"field": "note", "op": "not_null"}, "points": 16000}'),
  ('Note big', '{"kind": "fit", "when": {"field": "note", "op": "gt", "value": 100}, "points": 32000}'),
  ('Meta present', '{"kind": "fit", "when": {"field": "account.meta", "op": "not_null"}, "points": 64000}');
SELECT count(*) AS valid_rules FROM rob.data_rules WHERE lead_score.rule_problem(rule) IS NULL;
-- A 65th segment is one too many.
SELECT lead_score.rule_problem(jsonb_build_object('kind', 'event', 'event', 'deep', 'points', 1,
           'when', jsonb_build_object('field', 'props.' || repeat('a.', 63) || 'a', 'op', 'not_null'))) AS sixty_five_segments;
SELECT lead_score.create_profile('rob_parts') > 0 AS created;
SELECT lead_score.add_rule('rob_parts', 'Too deep', jsonb_build_object('kind', 'event', 'event', 'deep', 'points', 1,
           'when', jsonb_build_object('field', 'props.' || repeat('a.', 63) || 'a', 'op', 'not_null')));
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.drop_profile('rob_parts');

-- The events every section writes, with what the rules give each.
CREATE TABLE rob.cases (no int PRIMARY KEY, label text NOT NULL, event_type text, props text,
                        occurred_at timestamptz, want_points float8, want_reason text);
INSERT INTO rob.cases VALUES
  -- Numbers: beyond float8 they match no numeric condition; below it they read as 0.
  ( 1, 'amount 1e400', 'buy', '{"amount": 1e400}', '2024-05-01', 0, 'unmatched'),
  ( 2, 'amount -1e400', 'buy', '{"amount": -1e400}', '2024-05-01', 0, 'unmatched'),
  ( 3, 'amount 1e-400', 'buy', '{"amount": 1e-400}', '2024-05-01', 4 + 8, 'scored'),
  ( 4, 'amount of 30 digits', 'buy', '{"amount": 123456789012345678901234567890}', '2024-05-01', 1 + 8, 'scored'),
  ( 5, 'amount of -30 digits', 'buy', '{"amount": -123456789012345678901234567890}', '2024-05-01', 2 + 8, 'scored'),
  ( 6, 'amount 1e300', 'buy', '{"amount": 1e300}', '2024-05-01', 1 + 8 + 16, 'scored'),
  ( 7, 'amount -1e300', 'buy', '{"amount": -1e300}', '2024-05-01', 2 + 8 + 32, 'scored'),
  ( 8, 'amount 150', 'buy', '{"amount": 150}', '2024-05-01', 1 + 8, 'scored'),
  ( 9, 'amount "1e400" as text', 'buy', '{"amount": "1e400"}', '2024-05-01', 0, 'unmatched'),
  (10, 'nested amount 1e400', 'buy', '{"n": {"n": {"amount": 1e400}}}', '2024-05-01', 0, 'unmatched'),
  (11, 'nested amount 150 beside amount 1e400', 'buy', '{"amount": 1e400, "n": {"n": {"amount": 150}}}', '2024-05-01', 64, 'scored'),
  (12, 'amount a 200-level array', 'buy', '{"amount": ' || rob.nested_array(200) || '}', '2024-05-01', 0, 'unmatched'),
  (13, 'props a 5000-level array', 'buy', rob.nested_array(5000), '2024-05-01', 0, 'unmatched'),
  (14, 'props a 5000-level object', 'buy', rob.nested_object(5000), '2024-05-01', 0, 'unmatched'),
  (15, 'amount the largest float8', 'buy', '{"amount": 1.7976931348623157e308}', '2024-05-01', 1 + 16, 'scored'),
  (16, 'amount 2e308, just past float8', 'buy', '{"amount": 2e308}', '2024-05-01', 0, 'unmatched'),
  (17, 'amount 4.9e-324, the smallest float8', 'buy', '{"amount": 4.9e-324}', '2024-05-01', 8, 'scored'),
  (18, 'amount 1e-330, below float8', 'buy', '{"amount": 1e-330}', '2024-05-01', 4 + 8, 'scored'),
  (19, 'amount -0', 'buy', '{"amount": -0}', '2024-05-01', 4 + 8, 'scored'),
  -- Depth: paths of up to 64 segments see the same thing at any depth, on either side
  -- of the 68 levels read.
  (20, 'a.a.a = 1', 'deep', rob.nested_object(3), '2024-05-01', 128 + 256, 'scored'),
  (21, '58-level object', 'deep', rob.nested_object(58), '2024-05-01', 128, 'scored'),
  (22, '59-level object', 'deep', rob.nested_object(59), '2024-05-01', 128 + 512, 'scored'),
  (23, '67-level object', 'deep', rob.nested_object(67), '2024-05-01', 128 + 512 + 1024, 'scored'),
  (24, '68-level object', 'deep', rob.nested_object(68), '2024-05-01', 128 + 512 + 1024, 'scored'),
  (25, '69-level object', 'deep', rob.nested_object(69), '2024-05-01', 128 + 512 + 1024, 'scored'),
  (26, '200-level object', 'deep', rob.nested_object(200), '2024-05-01', 128 + 512 + 1024, 'scored'),
  (27, '5000-level object', 'deep', rob.nested_object(5000), '2024-05-01', 128 + 512 + 1024, 'scored'),
  (28, '5000-level array', 'deep', rob.nested_array(5000), '2024-05-01', 0, 'unmatched'),
  (29, 'a.a.a = a 5000-level array', 'deep', rob.nested_object(3, rob.nested_array(5000)), '2024-05-01', 128, 'scored'),
  (30, 'a.a.a = 1e400', 'deep', rob.nested_object(3, '1e400'), '2024-05-01', 128, 'scored'),
  (31, '5000-level object with a 1e400 leaf', 'deep', rob.nested_object(5000, '1e400'), '2024-05-01', 128 + 512 + 1024, 'scored'),
  -- Times: the range ends, ±infinity and NULL, for a rule without decay, one with a
  -- window and one that decays.
  (32, 'visit at the earliest timestamp', 'visit', '{}', '4714-11-24 00:00:00+00 BC', 1, 'scored'),
  (33, 'visit at the latest timestamp', 'visit', '{}', '294276-12-31 23:59:59.999999+00', 0, 'future'),
  (34, 'visit at infinity', 'visit', '{}', 'infinity', 0, 'future'),
  (35, 'visit at -infinity', 'visit', '{}', '-infinity', 0, 'not_counted'),
  (36, 'visit at NULL', 'visit', '{}', NULL, 0, 'null_time'),
  (37, 'visit a month ago', 'visit', '{}', '2024-05-01', 1, 'scored'),
  (38, 'recent at the earliest timestamp', 'recent', '{}', '4714-11-24 00:00:00+00 BC', 0, 'not_counted'),
  (39, 'recent at the latest timestamp', 'recent', '{}', '294276-12-31 23:59:59.999999+00', 0, 'future'),
  (40, 'recent at infinity', 'recent', '{}', 'infinity', 0, 'future'),
  (41, 'recent at -infinity', 'recent', '{}', '-infinity', 0, 'not_counted'),
  (42, 'recent at NULL', 'recent', '{}', NULL, 0, 'null_time'),
  (43, 'recent yesterday', 'recent', '{}', '2024-05-31 12:00:00+00', 1, 'scored'),
  (44, 'fade at the earliest timestamp', 'fade', '{}', '4714-11-24 00:00:00+00 BC', 0, 'scored'),
  (45, 'fade at the latest timestamp', 'fade', '{}', '294276-12-31 23:59:59.999999+00', 0, 'future'),
  (46, 'fade at infinity', 'fade', '{}', 'infinity', 0, 'future'),
  (47, 'fade at -infinity', 'fade', '{}', '-infinity', 0, 'not_counted'),
  (48, 'fade at NULL', 'fade', '{}', NULL, 0, 'null_time'),
  (49, 'fade a half-life ago', 'fade', '{}', '2024-05-31 12:00:00+00', 0.5, 'scored'),
  -- Everything else.
  (50, 'unknown type', 'other', '{"amount": 1e400}', '2024-06-01 12:00:00+00', 0, 'unmatched'),
  (51, 'NULL type', NULL, rob.nested_object(5000), '2024-06-01 12:00:00+00', 0, 'null_type'),
  (52, 'props NULL', 'buy', NULL, '2024-05-01', 0, 'unmatched'),
  (53, 'props the string "1e400"', 'buy', '"1e400"', '2024-05-01', 0, 'unmatched'),
  (54, 'props the number 1e400', 'buy', '1e400', '2024-05-01', 0, 'unmatched'),
  (55, 'deep at -infinity', 'deep', rob.nested_object(5000), '-infinity', 0, 'not_counted'),
  (56, 'amount 1e-400 at infinity', 'buy', '{"amount": 1e-400}', 'infinity', 0, 'future'),
  -- The 64th segment: missing, a leaf, a list holding "x".
  (57, '62-level object', 'deep', rob.nested_object(62), '2024-05-01', 128 + 512, 'scored'),
  (58, '63-level object', 'deep', rob.nested_object(63), '2024-05-01', 128 + 512 + 1024, 'scored'),
  (59, '63-level object ending in ["x"]', 'deep', rob.nested_object(63, '["x"]'), '2024-05-01', 128 + 512 + 1024 + 2048, 'scored');
SELECT count(*) AS cases, count(*) FILTER (WHERE props IS NULL OR jsonb_typeof(props::jsonb) IS NOT NULL) AS valid_json
  FROM rob.cases;

-- Contact and account column values, with the fit points of their rules.
CREATE TABLE rob.contact_cases (no int PRIMARY KEY, label text NOT NULL, doc text, note text, fit float8);
INSERT INTO rob.contact_cases VALUES
  ( 1, 'doc a 200-level array', rob.nested_array(200), NULL, 1000),
  ( 2, 'doc a 5000-level object', rob.nested_object(5000), NULL, 1000),
  ( 3, 'doc 1e400', '1e400', NULL, 1000),
  ( 4, 'doc -1e400', '-1e400', NULL, 1000),
  ( 5, 'doc 1e-400', '1e-400', NULL, 1000 + 8000),
  ( 6, 'doc of 30 digits', '123456789012345678901234567890', NULL, 1000 + 2000),
  ( 7, 'doc 1e300', '1e300', NULL, 1000 + 2000 + 4000),
  ( 8, 'doc an object holding 1e400', '{"x": 1e400}', NULL, 1000),
  ( 9, 'note 1e400', NULL, '1e400', 16000),
  (10, 'note -1e400', NULL, '-1e400', 16000),
  (11, 'note a 5000-level array', NULL, rob.nested_array(5000), 16000),
  (12, 'note of 30 digits', NULL, '123456789012345678901234567890', 16000 + 32000),
  (13, 'note 1e-400', NULL, '1e-400', 16000),
  (14, 'doc and note deep', rob.nested_object(200), rob.nested_object(5000), 1000 + 16000);

-- Accounts with json columns: a 5000-level array, 1e400, and nothing.
CREATE TABLE rob.accounts (id bigint PRIMARY KEY, meta json);
INSERT INTO rob.accounts VALUES (1, rob.nested_array(5000)::json), (2, '1e400'), (3, NULL);
CREATE TABLE rob.contacts (id bigint PRIMARY KEY, account_id bigint, doc jsonb, note json,
                           want_fit float8 NOT NULL DEFAULT 0);
-- Contact n is in account n % 4 (0: none); accounts 1 and 2 give 64000 fit points.
INSERT INTO rob.contacts (id, account_id, want_fit)
SELECT n, nullif(n % 4, 0), CASE WHEN n % 4 IN (1, 2) THEN 64000 ELSE 0 END FROM generate_series(1, 60) AS n;
CREATE TABLE rob.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz,
                         props jsonb, want_points float8, want_reason text);
CREATE INDEX ON rob.events (contact_id);
-- The same events with json properties.
CREATE TABLE rob.jevents (LIKE rob.events INCLUDING ALL);
ALTER TABLE rob.jevents ALTER COLUMN props TYPE json;

SELECT rob.new_profile('rob_data', (SELECT jsonb_object_agg(name, rule) FROM rob.data_rules)) AS version;
SELECT rob.new_profile('rob_json', (SELECT jsonb_object_agg(name, rule) FROM rob.data_rules)) AS version;
SELECT lead_score.attach('rob_data', 'rob.contacts', 'rob.events', '{"accounts": "accounts", "event_props": "props"}');
SELECT lead_score.attach('rob_json', 'rob.contacts', 'rob.jevents', '{"accounts": "accounts", "event_props": "props"}');
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');

-- (a) One single-row INSERT per case, each for its own contact.
DO $$
DECLARE
    c rob.cases;
BEGIN
    FOR c IN SELECT * FROM rob.cases ORDER BY no LOOP
        BEGIN
            INSERT INTO rob.events (contact_id, event_type, occurred_at, props, want_points, want_reason)
            VALUES (c.no, c.event_type, c.occurred_at, c.props::jsonb, c.want_points, c.want_reason);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rob.failures VALUES ('single-row jsonb', c.label, SQLSTATE, SQLERRM);
        END;
        BEGIN
            INSERT INTO rob.jevents (contact_id, event_type, occurred_at, props, want_points, want_reason)
            VALUES (c.no, c.event_type, c.occurred_at, c.props::json, c.want_points, c.want_reason);
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rob.failures VALUES ('single-row json', c.label, SQLSTATE, SQLERRM);
        END;
    END LOOP;
END $$;
SELECT section, label, sqlstate, message FROM rob.failures ORDER BY 1, 2;
SELECT count(*) AS events, count(*) = (SELECT count(*) FROM rob.cases) AS one_per_case FROM rob.events;
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');
SELECT * FROM rob.check('rob_json', 'rob.contacts', 'rob.jevents');
-- The documented cases one by one: 1e400 matches no numeric condition, the latest
-- timestamp and infinity are future, -infinity is not counted.
SELECT c.no, c.label, round((s.score - 64000 * (c.no % 4 IN (1, 2))::int)::numeric, 9)::float8 AS engagement
  FROM rob.cases c JOIN lead_score.rob_data_scores s ON s.id = c.no
 WHERE c.no IN (1, 2, 3, 15, 16, 23, 24, 25, 27, 32, 33, 34, 35, 49, 57, 58, 59)
 ORDER BY c.no;

-- (b) One multi-row INSERT of every case (with a NULL and an unknown contact), then one
-- of more than 1,000 rows, which is streamed.
INSERT INTO rob.events (contact_id, event_type, occurred_at, props, want_points, want_reason)
SELECT CASE c.no WHEN 1 THEN NULL WHEN 2 THEN 901 ELSE c.no END,
       c.event_type, c.occurred_at, c.props::jsonb, c.want_points, c.want_reason
  FROM rob.cases c ORDER BY c.no;
INSERT INTO rob.jevents (contact_id, event_type, occurred_at, props, want_points, want_reason)
SELECT CASE c.no WHEN 1 THEN NULL WHEN 2 THEN 901 ELSE c.no END,
       c.event_type, c.occurred_at, c.props::json, c.want_points, c.want_reason
  FROM rob.cases c ORDER BY c.no;
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');
SELECT * FROM rob.check('rob_json', 'rob.contacts', 'rob.jevents');

INSERT INTO rob.events (contact_id, event_type, occurred_at, props, want_points, want_reason)
SELECT CASE g WHEN 1 THEN NULL WHEN 2 THEN 900 + c.no ELSE (c.no * 7 + g) % 60 + 1 END,
       c.event_type, c.occurred_at, c.props::jsonb, c.want_points, c.want_reason
  FROM rob.cases c, generate_series(1, 20) AS g ORDER BY md5(c.no || '/' || g);
INSERT INTO rob.jevents (contact_id, event_type, occurred_at, props, want_points, want_reason)
SELECT CASE g WHEN 1 THEN NULL WHEN 2 THEN 900 + c.no ELSE (c.no * 7 + g) % 60 + 1 END,
       c.event_type, c.occurred_at, c.props::json, c.want_points, c.want_reason
  FROM rob.cases c, generate_series(1, 20) AS g ORDER BY md5(c.no || '/' || g);
SELECT count(*) AS events FROM rob.events;
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');
SELECT * FROM rob.check('rob_json', 'rob.contacts', 'rob.jevents');
SELECT reason, events FROM lead_score.stats('rob_data') ORDER BY reason;

-- Contact columns: one single-row UPDATE per value, then a multi-row INSERT of new
-- contacts (whose events were unknown until now) and a multi-row UPDATE.
DO $$
DECLARE
    c rob.contact_cases;
BEGIN
    FOR c IN SELECT * FROM rob.contact_cases ORDER BY no LOOP
        BEGIN
            UPDATE rob.contacts
               SET doc = c.doc::jsonb, note = c.note::json,
                   want_fit = c.fit + CASE WHEN account_id IN (1, 2) THEN 64000 ELSE 0 END
             WHERE id = c.no;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO rob.failures VALUES ('contact update', c.label, SQLSTATE, SQLERRM);
        END;
    END LOOP;
END $$;
SELECT section, label, sqlstate, message FROM rob.failures ORDER BY 1, 2;
INSERT INTO rob.contacts (id, account_id, doc, note, want_fit)
SELECT 900 + c.no, nullif(c.no % 4, 0), c.doc::jsonb, c.note::json,
       c.fit + CASE WHEN c.no % 4 IN (1, 2) THEN 64000 ELSE 0 END
  FROM rob.contact_cases c;
UPDATE rob.contacts
   SET doc = rob.nested_object(5000, '1e400')::jsonb, note = '-1e400',
       want_fit = 1000 + 16000 + CASE WHEN account_id IN (1, 2) THEN 64000 ELSE 0 END
 WHERE id BETWEEN 30 AND 60;
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');
SELECT * FROM rob.check('rob_json', 'rob.contacts', 'rob.jevents');
SELECT c.no, c.label, s.fit_score - 64000 * (c.no % 4 IN (1, 2))::int AS fit
  FROM rob.contact_cases c JOIN lead_score.rob_data_scores s ON s.id = c.no ORDER BY c.no;
-- Accounts: the json column changes under every contact of the account.
UPDATE rob.accounts SET meta = rob.nested_object(5000, '-1e400')::json WHERE id = 2;
UPDATE rob.accounts SET meta = '1e-400' WHERE id = 3;
UPDATE rob.contacts SET want_fit = want_fit + 64000 WHERE account_id = 3;
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');
SELECT * FROM rob.check('rob_json', 'rob.contacts', 'rob.jevents');

-- Deletes and updates recompute the touched contacts from their whole history.
DELETE FROM rob.events WHERE id IN (SELECT min(id) FROM rob.events GROUP BY contact_id);
DELETE FROM rob.jevents WHERE id IN (SELECT max(id) FROM rob.jevents GROUP BY contact_id);
UPDATE rob.events SET id = id WHERE event_type IN ('deep', 'visit');
UPDATE rob.jevents SET id = id WHERE event_type IN ('buy', 'fade');
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');
SELECT * FROM rob.check('rob_json', 'rob.contacts', 'rob.jevents');
-- A full rescore over all of it, and a TRUNCATE (only fit points remain).
SELECT lead_score.rescore('rob_data') = (SELECT count(*) FROM rob.contacts) AS rescored_all;
SELECT * FROM rob.check('rob_data', 'rob.contacts', 'rob.events');
TRUNCATE rob.jevents;
SELECT * FROM rob.check('rob_json', 'rob.contacts', 'rob.jevents');

-- (c) The same data as history present before the attach; then rescore, and publish
-- a changed rule (Visit: 1 point to 3).
CREATE TABLE rob.h_contacts (LIKE rob.contacts INCLUDING ALL);
CREATE TABLE rob.h_events (LIKE rob.events INCLUDING ALL);
INSERT INTO rob.h_contacts SELECT * FROM rob.contacts;
INSERT INTO rob.h_events SELECT * FROM rob.events;
SELECT rob.new_profile('rob_hist', (SELECT jsonb_object_agg(name, rule) FROM rob.data_rules)) AS version;
SELECT lead_score.attach('rob_hist', 'rob.h_contacts', 'rob.h_events', '{"accounts": "accounts", "event_props": "props"}');
SELECT * FROM rob.check('rob_hist', 'rob.h_contacts', 'rob.h_events');
SELECT lead_score.rescore('rob_hist') = (SELECT count(*) FROM rob.h_contacts) AS rescored_all;
SELECT * FROM rob.check('rob_hist', 'rob.h_contacts', 'rob.h_events');
SELECT lead_score.update_rule('rob_hist', 'Visit', '{"kind": "event", "event": "visit", "points": 3, "half_life": null}');
SELECT lead_score.publish('rob_hist') AS version;
SELECT * FROM rob.check('rob_hist', 'rob.h_contacts', 'rob.h_events', visit_factor => 3);
-- A rescore of one contact whose history holds every case.
SELECT lead_score.rescore('rob_hist', 3::bigint) AS rescored;
SELECT * FROM rob.check('rob_hist', 'rob.h_contacts', 'rob.h_events', visit_factor => 3);

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
