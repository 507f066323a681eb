-- Contact and account columns of every common type: the rules see each column as
-- rule_matches() sees the contact's JSON form (to_jsonb of the row), whichever way the
-- attachment reads it (numbers, booleans and text as they are, other types as JSON).
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA typed;
CREATE TABLE typed.accounts (id int PRIMARY KEY, employees smallint, revenue numeric);
CREATE TABLE typed.contacts (
    id bigint PRIMARY KEY, account_id int, country varchar(2), title text, age integer,
    visits bigint, ratio double precision, weight real, vip boolean, code char(4),
    created_at timestamptz, birthday date, tags text[], extra jsonb, status name);
CREATE TABLE typed.events (contact_id bigint, event_type text, occurred_at timestamptz);
INSERT INTO typed.accounts VALUES (1, 40, 1234567.89), (2, 3, NULL), (3, NULL, 'NaN');
INSERT INTO typed.contacts VALUES
  (1, 1, 'US', 'VP Sales', 41, 9007199254740993, 0.1, 1.1, true, 'ab', '2024-01-15 10:00+00', '1983-02-01',
   '{beta,alpha}', '{"plan": "pro", "seats": 12}', 'active'),
  (2, 2, 'DE', 'Student', 19, 3, 'Infinity', 0.5, false, 'abcd', '2024-05-30 00:00+00', NULL,
   '{}', '["x"]', 'lead'),
  (3, 3, NULL, NULL, NULL, NULL, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, NULL, 'UK', '', 0, -1, -0.0, -2.5, true, '  ', 'infinity', '2000-02-29', '{NULL}', 'null', '');

SELECT lead_score.create_profile('Typed') > 0 AS created;
CREATE TABLE typed.rules (name text PRIMARY KEY, rule jsonb);
INSERT INTO typed.rules VALUES
  ('country in', '{"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}'),
  ('title starts', '{"kind": "fit", "when": {"field": "title", "op": "starts_with", "value": "VP"}, "points": 2}'),
  ('title empty', '{"kind": "fit", "when": {"field": "title", "op": "eq", "value": ""}, "points": 4}'),
  ('age between', '{"kind": "fit", "when": {"field": "age", "op": "between", "value": [18, 40]}, "points": 8}'),
  ('visits big', '{"kind": "fit", "when": {"field": "visits", "op": "gte", "value": 9007199254740992}, "points": 16}'),
  ('ratio small', '{"kind": "fit", "when": {"field": "ratio", "op": "lt", "value": 0.2}, "points": 32}'),
  ('ratio null', '{"kind": "fit", "when": {"field": "ratio", "op": "is_null"}, "points": 64}'),
  ('weight', '{"kind": "fit", "when": {"field": "weight", "op": "eq", "value": 1.1}, "points": 128}'),
  ('vip', '{"kind": "fit", "when": {"field": "vip", "op": "eq", "value": true}, "points": 256}'),
  ('code', '{"kind": "fit", "when": {"field": "code", "op": "eq", "value": "ab  "}, "points": 512}'),
  ('new', '{"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "30 days"}, "points": 1024}'),
  ('created text', '{"kind": "fit", "when": {"field": "created_at", "op": "contains", "value": "T10:00"}, "points": 2048}'),
  ('birthday', '{"kind": "fit", "when": {"field": "birthday", "op": "lt", "value": "1990-01-01"}, "points": 4096}'),
  ('tags', '{"kind": "fit", "when": {"field": "tags", "op": "contains", "value": "beta"}, "points": 8192}'),
  ('extra set', '{"kind": "fit", "when": {"field": "extra", "op": "not_null"}, "points": 16384}'),
  ('status', '{"kind": "fit", "when": {"field": "status", "op": "eq", "value": "active"}, "points": 32768}'),
  ('employees', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 65536}'),
  ('revenue', '{"kind": "fit", "when": {"field": "account.revenue", "op": "gt", "value": 1000000}, "points": 131072}'),
  ('revenue text', '{"kind": "fit", "when": {"field": "account.revenue", "op": "eq", "value": "NaN"}, "points": 262144}');
SELECT count(lead_score.add_rule('Typed', name, rule)) AS rules FROM typed.rules;
SELECT lead_score.publish('Typed') AS version;
SELECT lead_score.attach('Typed', 'typed.contacts', 'typed.events', '{"accounts": "typed.accounts"}');

-- Each contact's fit points, and the points of the rules rule_matches() finds on its
-- JSON form: the two agree for every contact, and the rules that hold are listed.
WITH expected AS (
    SELECT c.id, coalesce(sum((r.rule->>'points')::float8), 0) AS points,
           string_agg(r.name, ', ' ORDER BY r.name) AS holding
      FROM typed.contacts c
      LEFT JOIN typed.accounts a ON a.id = c.account_id
      LEFT JOIN typed.rules r
        ON lead_score.rule_matches(r.rule, to_jsonb(c) || jsonb_build_object('account', to_jsonb(a)),
                                   '2024-06-01 00:00+00')
     GROUP BY c.id)
SELECT s.id, s.fit_score, e.points AS expected, s.fit_score = e.points AS agree, e.holding
  FROM lead_score."Typed_scores" s JOIN expected e USING (id) ORDER BY s.id;

-- The same after a contact changes (the trigger's path reads the same way).
UPDATE typed.contacts SET title = 'VP Marketing', tags = '{beta}', ratio = 0.15 WHERE id = 2;
SELECT id, fit_score FROM lead_score."Typed_scores" WHERE id = 2;
SELECT * FROM lead_score.verify('Typed');

SELECT lead_score.detach('Typed');
DROP SCHEMA typed CASCADE;
SELECT lead_score.drop_profile('Typed');

-- json (not jsonb) columns may hold "\u0000", legal json but no legal jsonb: the CRM's
-- writes, attach, rescore and verify never fail on it, and the rules see the text as
-- written (the NUL included; a duplicate key keeps its last value, as jsonb does).
CREATE SCHEMA nul;
CREATE TABLE nul.contacts (id bigint PRIMARY KEY, info json);
CREATE TABLE nul.events (contact_id bigint, event_type text, occurred_at timestamptz, props json);
CREATE INDEX ON nul.events (contact_id, occurred_at);
INSERT INTO nul.contacts VALUES (1, '"a\u0000b"'), (2, '"a"');
INSERT INTO nul.events VALUES (1, 'click', '2024-06-01', '{"page": "x\u0000y"}'),
                              (2, 'click', '2024-06-01', '{"page": "x", "page": "x\u0000"}');
SELECT lead_score.create_profile('Nul', settings => '{"half_life": "10 days"}') > 0 AS created;
SELECT lead_score.add_rule('Nul', 'Is a', '{"kind": "fit", "when": {"field": "info", "op": "eq", "value": "a"}, "points": 1}') > 0 AS added;
SELECT lead_score.add_rule('Nul', 'Has b', '{"kind": "fit", "when": {"field": "info", "op": "contains", "value": "b"}, "points": 10}') > 0 AS added;
SELECT lead_score.add_rule('Nul', 'Page x', '{"kind": "event", "event": "click", "when": {"field": "props.page", "op": "eq", "value": "x"}, "points": 100}') > 0 AS added;
SELECT lead_score.add_rule('Nul', 'Page x...', '{"kind": "event", "event": "click", "when": {"field": "props.page", "op": "starts_with", "value": "x"}, "points": 1000}') > 0 AS added;
SELECT lead_score.publish('Nul') AS version;
SELECT lead_score.attach('Nul', 'nul.contacts', 'nul.events', '{"event_props": "props"}');
-- 1: "a\0b" has a b (10), its page "x\0y" starts with x (1000); 2: is "a" (1), its
-- page is "x\0" (1000).
SELECT id, score FROM lead_score."Nul_scores" ORDER BY id;
-- Writes through the triggers: 3: "b\0" has a b (10), its page "x" is x (100 + 1000).
INSERT INTO nul.contacts VALUES (3, '"b\u0000"');
INSERT INTO nul.events VALUES (3, 'click', '2024-06-01', '{"page": "x"}'), (1, 'click', '2024-06-01', '{"page": "\u0000x"}');
SELECT id, score FROM lead_score."Nul_scores" ORDER BY id;
SELECT lead_score.rescore('Nul') AS rescored;
SELECT * FROM lead_score.verify('Nul');
SELECT lead_score.detach('Nul');
DROP SCHEMA nul CASCADE;
SELECT lead_score.drop_profile('Nul');
