-- Scoring is total on every legal value, without tables: rule_matches() and
-- score_record() read the same values robustness_values.sql writes into the CRM's
-- tables (numbers beyond float8, containers deeper than 68 levels, field paths of 64
-- segments, times at the range ends), with the same results.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 12:00:00+00';


-- The values and rules robustness_values.sql uses (its setup, output suppressed).
\o /dev/null
CREATE SCHEMA rob;

-- Nested documents as JSON text: [[[...leaf...]]] and {"a": {"a": ... leaf ...}}.
CREATE FUNCTION rob.nested_array(depth int, leaf text DEFAULT '1') RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT repeat('[', depth) || leaf || repeat(']', depth) $$;
CREATE FUNCTION rob.nested_object(depth int, leaf text DEFAULT '1') RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT repeat('{"a": ', depth) || leaf || repeat('}', depth) $$;

-- Writes that fail are recorded here instead of stopping the script; every section
-- shows this table's rows for its writes (none, when scoring is total).
CREATE TABLE rob.failures (section text, label text, sqlstate text, message text);
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

CREATE FUNCTION rob.new_profile(p text, rules jsonb) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_score.create_profile(p);
    PERFORM lead_score.add_rule(p, r.key, r.value) FROM jsonb_each(rules) AS r ORDER BY r.key;
    RETURN lead_score.publish(p);
END $$;
SELECT rob.new_profile('rob_data', (SELECT jsonb_object_agg(name, rule) FROM rob.data_rules)) AS version;
\o

-- (d) Without tables: rule_matches() and score_record() on the same values.
CREATE FUNCTION rob.try_matches(rule jsonb, record jsonb, at timestamptz DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN coalesce(lead_score.rule_matches(rule, record, at)::text, 'null');
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;
CREATE TABLE rob.match_cases (no int PRIMARY KEY, label text, rule jsonb, record jsonb, at timestamptz, want text);
INSERT INTO rob.match_cases
SELECT no, label, coalesce(r.rule, m.rule), m.record, m.at, m.want
  FROM (VALUES
    ( 1, 'gt 100 on 1e400', 'Big amount', NULL::jsonb, '{"event_type": "buy", "props": {"amount": 1e400}}'::jsonb, NULL::timestamptz, 'false'),
    ( 2, 'gte 1e300 on 1e400', 'Huge amount', NULL, '{"event_type": "buy", "props": {"amount": 1e400}}', NULL, 'false'),
    ( 3, 'between on 1e400', 'Sane amount', NULL, '{"event_type": "buy", "props": {"amount": 1e400}}', NULL, 'false'),
    ( 4, 'eq largest float8 on 1e400', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "eq", "value": 1.7976931348623157e308}, "points": 1}', '{"event_type": "buy", "props": {"amount": 1e400}}', NULL, 'false'),
    ( 5, 'gte largest float8 on 1e400', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "gte", "value": 1.7976931348623157e308}, "points": 1}', '{"event_type": "buy", "props": {"amount": 1e400}}', NULL, 'false'),
    ( 6, 'lt -100 on -1e400', 'Very negative', NULL, '{"event_type": "buy", "props": {"amount": -1e400}}', NULL, 'false'),
    ( 7, 'lte -1e300 on -1e400', 'Hugely negative', NULL, '{"event_type": "buy", "props": {"amount": -1e400}}', NULL, 'false'),
    ( 8, 'eq -largest float8 on -1e400', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "eq", "value": -1.7976931348623157e308}, "points": 1}', '{"event_type": "buy", "props": {"amount": -1e400}}', NULL, 'false'),
    ( 9, 'gt 100 on "1e400" as text', 'Big amount', NULL, '{"event_type": "buy", "props": {"amount": "1e400"}}', NULL, 'false'),
    (10, 'not_null on 1e400', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "not_null"}, "points": 1}', '{"event_type": "buy", "props": {"amount": 1e400}}', NULL, 'true'),
    (11, 'is_null on 1e400', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "is_null"}, "points": 1}', '{"event_type": "buy", "props": {"amount": 1e400}}', NULL, 'false'),
    (12, 'eq 0 on 1e-400', 'Zero amount', NULL, '{"event_type": "buy", "props": {"amount": 1e-400}}', NULL, 'true'),
    (13, 'between on 1e-400', 'Sane amount', NULL, '{"event_type": "buy", "props": {"amount": 1e-400}}', NULL, 'true'),
    (14, 'gt 0 on 1e-400', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "gt", "value": 0}, "points": 1}', '{"event_type": "buy", "props": {"amount": 1e-400}}', NULL, 'false'),
    (15, 'gt 1e29 on 30 digits', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "gt", "value": 1e29}, "points": 1}', '{"event_type": "buy", "props": {"amount": 123456789012345678901234567890}}', NULL, 'true'),
    (16, 'eq itself on 30 digits', NULL, '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "eq", "value": 123456789012345678901234567890}, "points": 1}', '{"event_type": "buy", "props": {"amount": 123456789012345678901234567890}}', NULL, 'true'),
    (17, 'fit gt 100 on doc 1e400', 'Doc big', NULL, '{"doc": 1e400}', NULL, 'false'),
    (18, 'fit gte 1e300 on doc 1e400', 'Doc huge', NULL, '{"doc": 1e400}', NULL, 'false'),
    (19, 'fit eq 0 on doc 1e-400', 'Doc zero', NULL, '{"doc": 1e-400}', NULL, 'true'),
    (20, 'a.a.a not_null on a 200-level object', 'Deep three', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(200)::jsonb), NULL, 'true'),
    (21, 'a.a.a not_null on a 5000-level object', 'Deep three', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(5000)::jsonb), NULL, 'true'),
    (22, 'a.a.a eq 1 on a 3-level object', 'Deep leaf', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(3)::jsonb), NULL, 'true'),
    (23, 'a.a.a eq 1 on a 5000-level object', 'Deep leaf', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(5000)::jsonb), NULL, 'false'),
    (24, '60 segments on a 58-level object', 'Deep sixty', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(58)::jsonb), NULL, 'false'),
    (25, '60 segments on a 59-level object', 'Deep sixty', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(59)::jsonb), NULL, 'true'),
    (26, '60 segments on a 5000-level object', 'Deep sixty', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(5000)::jsonb), NULL, 'true'),
    -- The record is one level more than its props: 64 segments reach level 65 of it.
    (47, '64 segments on a 62-level object', 'Deep sixty-four', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(62)::jsonb), NULL, 'false'),
    (48, '64 segments on a 63-level object', 'Deep sixty-four', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(63)::jsonb), NULL, 'true'),
    (49, '64 segments on a 66-level object (67 with the record)', 'Deep sixty-four', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(66)::jsonb), NULL, 'true'),
    (50, '64 segments on a 67-level object (68 with the record)', 'Deep sixty-four', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(67)::jsonb), NULL, 'true'),
    (51, '64 segments on a 68-level object (69 with the record)', 'Deep sixty-four', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(68)::jsonb), NULL, 'true'),
    (52, 'contains "x" at 64 segments, a list at level 65', 'Deep sixty-four list', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(63, '["x"]')::jsonb), NULL, 'true'),
    (53, 'contains "y" at 64 segments, a list at level 65', 'Deep sixty-four list', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_object(63, '["y"]')::jsonb), NULL, 'false'),
    (27, 'a.a.a on a 5000-level array', 'Deep three', NULL, jsonb_build_object('event_type', 'deep', 'props', rob.nested_array(5000)::jsonb), NULL, 'false'),
    (28, 'gt 100 on props a 5000-level object', 'Big amount', NULL, jsonb_build_object('event_type', 'buy', 'props', rob.nested_object(5000)::jsonb), NULL, 'false'),
    (29, 'fit not_null on doc a 5000-level array', 'Doc present', NULL, jsonb_build_object('doc', rob.nested_array(5000)::jsonb), NULL, 'true'),
    (30, 'fit on a 5000-level record', 'Doc present', NULL, rob.nested_object(5000)::jsonb, NULL, 'false'),
    (31, 'account field on a 5000-level account', 'Meta present', NULL, jsonb_build_object('account', rob.nested_object(5000)::jsonb), NULL, 'false'),
    (32, 'no_event with events a 5000-level array', NULL, '{"kind": "disqualifier", "when": {"no_event": "visit"}}', jsonb_build_object('events', rob.nested_array(5000)::jsonb), NULL, 'true'),
    (33, 'event_count with events of 1e400 times', NULL, '{"kind": "disqualifier", "when": {"event_count": "visit", "op": "eq", "value": 0}}', '{"events": [{"event_type": "visit", "at": 1e400}]}', NULL, 'true'),
    -- The clock at the range ends and ±infinity.
    (34, 'within, at an ordinary time', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 1}', '{"created_at": "2024-05-31T12:00:00Z"}', '2024-06-01 12:00:00+00', 'true'),
    (35, 'within, at infinity', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 1}', '{"created_at": "2024-05-31T12:00:00Z"}', 'infinity', 'false'),
    (36, 'within, at -infinity', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 1}', '{"created_at": "2024-05-31T12:00:00Z"}', '-infinity', 'false'),
    (37, 'within, at the earliest timestamp', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 1}', '{"created_at": "2024-05-31T12:00:00Z"}', '4714-11-24 00:00:00+00 BC', 'false'),
    (38, 'within, at the latest timestamp', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 1}', '{"created_at": "2024-05-31T12:00:00Z"}', '294276-12-31 23:59:59.999999+00', 'false'),
    (39, 'Recent event, at infinity', 'Recent', NULL, '{"event_type": "recent", "props": {}}', 'infinity', 'true'),
    (40, 'no_event within, at infinity', NULL, '{"kind": "disqualifier", "when": {"no_event": "visit", "within": "7 days"}}', '{"events": [{"event_type": "visit", "at": "2024-05-31T12:00:00Z"}]}', 'infinity', 'true'),
    (41, 'no_event within, at -infinity', NULL, '{"kind": "disqualifier", "when": {"no_event": "visit", "within": "7 days"}}', '{"events": [{"event_type": "visit", "at": "2024-05-31T12:00:00Z"}]}', '-infinity', 'true'),
    -- Time values in the record that are range ends: some boolean, whichever.
    (42, 'within on a field at the latest timestamp', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 1}', jsonb_build_object('created_at', timestamptz '294276-12-31 23:59:59.999999+00'), '294276-12-31 23:59:59.999999+00', 'boolean'),
    (43, 'within on a field at the earliest timestamp', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 1}', jsonb_build_object('created_at', timestamptz '4714-11-24 00:00:00+00 BC'), NULL, 'boolean'),
    (44, 'gt a date on a field at infinity', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "gt", "value": "2024-01-01"}, "points": 1}', jsonb_build_object('created_at', timestamptz 'infinity'), NULL, 'boolean'),
    (45, 'lt a date on a field at -infinity', NULL, '{"kind": "fit", "when": {"field": "created_at", "op": "lt", "value": "2024-01-01"}, "points": 1}', jsonb_build_object('created_at', timestamptz '-infinity'), NULL, 'boolean'),
    (46, 'event_count within, events at the range ends and infinities', NULL, '{"kind": "disqualifier", "when": {"event_count": "visit", "within": "7 days", "op": "gte", "value": 0}}',
         jsonb_build_object('events', jsonb_build_array(
             jsonb_build_object('event_type', 'visit', 'at', timestamptz '4714-11-24 00:00:00+00 BC'),
             jsonb_build_object('event_type', 'visit', 'at', timestamptz '294276-12-31 23:59:59.999999+00'),
             jsonb_build_object('event_type', 'visit', 'at', timestamptz 'infinity'),
             jsonb_build_object('event_type', 'visit', 'at', timestamptz '-infinity'))), NULL, 'true')
  ) AS m(no, label, rule_name, rule, record, at, want)
  LEFT JOIN rob.data_rules r ON r.name = m.rule_name;
SELECT no, label, CASE WHEN want = 'boolean' AND got IN ('true', 'false') THEN 'boolean' ELSE got END AS got,
       CASE want WHEN 'boolean' THEN got IN ('true', 'false') ELSE got = want END AS ok
  FROM (SELECT m.*, rob.try_matches(m.rule, m.record, m.at) AS got FROM rob.match_cases m) m
 ORDER BY no;
-- Rules that are themselves deep or hold huge numbers: rule_problem() answers (NULL or
-- a problem), and rule_matches() gives a boolean or rejects the rule as invalid (22023);
-- neither raises anything else.
CREATE FUNCTION rob.try_problem(rule jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RETURN CASE WHEN lead_score.rule_problem(rule) IS NULL THEN 'valid' ELSE 'problem' END;
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;
SELECT label, rob.try_problem(rule) IN ('valid', 'problem') AS problem_answered,
       rob.try_matches(rule, '{"event_type": "buy", "props": {"amount": 1e400}, "x": 1}') IN ('true', 'false', 'error 22023') AS matches_answered
  FROM (VALUES
    (1, 'a condition nested 5000 levels', jsonb_build_object('kind', 'fit', 'points', 1,
         'when', (repeat('{"not": ', 5000) || '{"field": "x", "op": "is_null"}' || repeat('}', 5000))::jsonb)),
    (2, 'a condition nested 100 levels', jsonb_build_object('kind', 'fit', 'points', 1,
         'when', (repeat('{"not": ', 100) || '{"field": "x", "op": "is_null"}' || repeat('}', 100))::jsonb)),
    (3, 'a description 5000 levels deep', jsonb_build_object('kind', 'fit', 'points', 1, 'description', rob.nested_array(5000)::jsonb,
         'when', '{"field": "x", "op": "is_null"}'::jsonb)),
    (4, 'value 1e400', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "gt", "value": 1e400}, "points": 1}'),
    (5, 'value -1e400 in between', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "between", "value": [-1e400, 0]}, "points": 1}'),
    (6, 'value 1e-400', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "eq", "value": 1e-400}, "points": 1}'),
    (7, 'value the largest float8', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "lt", "value": 1.7976931348623157e308}, "points": 1}'),
    (8, 'points 1e400', '{"kind": "event", "event": "buy", "points": 1e400}'),
    (9, 'in-list of huge numbers', '{"kind": "event", "event": "buy", "when": {"field": "props.amount", "op": "in", "value": [1e400, -1e400, 1e-400]}, "points": 1}')
  ) AS r(no, label, rule)
 ORDER BY no;

-- score_record() on each case alone: its points and, where its time is ordinary, its
-- reason. At the range ends and ±infinity the time is JSON text whose reading is not
-- fixed here, except that it is worth what the case says (the earliest visit: 0 or 1).
WITH scored AS (
    SELECT c.no, c.label, c.want_points, c.want_reason,
           c.occurred_at IS NULL OR c.occurred_at BETWEEN '2000-01-01' AND '2100-01-01' AS ordinary,
           lead_score.score_record('rob_data', '{}',
               jsonb_build_array(jsonb_build_object('event_type', c.event_type, 'at', c.occurred_at,
                                                    'props', c.props::jsonb))) AS r
      FROM rob.cases c),
judged AS (
    SELECT label, jsonb_typeof(r -> 'score') = 'number'
              AND (SELECT sum(value::bigint) FROM jsonb_each_text(r -> 'events')) = 1
              AND (abs((r ->> 'score')::float8 - want_points) <= 1e-9
                   OR (no = 32 AND (r ->> 'score')::float8 IN (0, 1)))
              AND (NOT ordinary OR (r -> 'events' ->> want_reason)::int = 1) AS ok
      FROM scored)
SELECT count(*) AS cases, count(*) FILTER (WHERE ok) AS as_expected,
       string_agg(label, ', ') FILTER (WHERE ok IS NOT TRUE) AS differing
  FROM judged;
-- Each contact value alone (in an account whose meta is a 5000-level array): its fit.
WITH judged AS (
    SELECT c.label,
           (lead_score.score_record('rob_data',
                jsonb_build_object('doc', c.doc::jsonb, 'note', c.note::jsonb,
                                   'account', jsonb_build_object('meta', rob.nested_array(5000)::jsonb))) ->> 'fit')::float8
               = c.fit + 64000 AS ok
      FROM rob.contact_cases c)
SELECT count(*) AS contact_values, count(*) FILTER (WHERE ok) AS as_expected,
       string_agg(label, ', ') FILTER (WHERE ok IS NOT TRUE) AS differing
  FROM judged;
-- All the cases at once, for a contact of deep and huge values, at the clock's range
-- ends and ±infinity too: a number each time, and every event tallied.
WITH everything AS (
    SELECT jsonb_agg(jsonb_build_object('event_type', event_type, 'at', occurred_at, 'props', props::jsonb) ORDER BY no) AS events
      FROM rob.cases)
SELECT coalesce(at::text, 'the clock') AS at, jsonb_typeof(r -> 'score') AS score,
       (SELECT sum(value::bigint) FROM jsonb_each_text(r -> 'events')) AS tallied
  FROM everything,
       unnest(ARRAY[NULL, '4714-11-24 00:00:00+00 BC', '294276-12-31 23:59:59.999999+00', 'infinity', '-infinity']::timestamptz[])
           WITH ORDINALITY AS t(at, n),
       lead_score.score_record('rob_data',
           jsonb_build_object('doc', rob.nested_object(5000, '1e400')::jsonb, 'note', -1e400,
                              'account', jsonb_build_object('meta', rob.nested_array(5000)::jsonb)),
           everything.events, t.at) AS r
 ORDER BY t.n;
-- Event times that are not timestamps are null_time; numbers and depth elsewhere are
-- read as the rules say.
SELECT lead_score.score_record('rob_data', jsonb_build_object('doc', 1e400, 'note', rob.nested_array(5000)::jsonb,
                                                              'account', jsonb_build_object('meta', -1e400)),
         jsonb_build_array(
             jsonb_build_object('event_type', 'visit', 'at', 1e400),
             jsonb_build_object('event_type', 'visit', 'at', 'not a time'),
             jsonb_build_object('event_type', 'visit', 'at', rob.nested_object(5000)::jsonb),
             jsonb_build_object('event_type', 'buy', 'at', '2024-05-01T00:00:00Z', 'props', '{"amount": 1e400}'::jsonb),
             jsonb_build_object('event_type', 'buy', 'at', '2024-05-01T00:00:00Z', 'props', '{"amount": 1e-400}'::jsonb),
             jsonb_build_object('event_type', 'deep', 'at', '2024-05-01T00:00:00Z', 'props', rob.nested_object(5000)::jsonb))
       ) - 'next_due' - 'version' - 'dimensions' AS result;

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
