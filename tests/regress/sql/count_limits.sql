-- count-limited rules kept current by the triggers: a new event is settled against
-- what the contact's stored result selected (counted now, or beyond the limit), and an
-- event earlier than a counted one displaces it through a full recompute. Every step
-- ends with verify(), which recomputes from history: any wrong shortcut shows there.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA limits;
CREATE TABLE limits.contacts (id integer PRIMARY KEY);
CREATE TABLE limits.events (id serial PRIMARY KEY, contact_id integer, kind text, at timestamptz);
CREATE INDEX ON limits.events (contact_id);
INSERT INTO limits.contacts VALUES (1), (2), (3);

SELECT lead_score.create_profile('Limits', settings => '{"half_life": "30 days"}') > 0 AS created;
SELECT count(lead_score.add_rule('Limits', rule_name, rule::jsonb)) AS rules FROM (VALUES
  -- The first two projects count, decaying from their own times.
  ('Projects', '{"kind": "event", "event": "project", "points": 5, "count": {"max": 2}}'),
  -- A click counts for Click, and is a candidate for Projects too.
  ('Click', '{"kind": "event", "event": "click", "points": 1, "half_life": null}'),
  ('Click or project', '{"kind": "event", "event": ["click", "project"], "points": 2, "count": "once", "half_life": null}'),
  -- A limit inside a window: the earliest demos still in it.
  ('Demo', '{"kind": "event", "event": "demo", "points": 10, "count": "once", "within": "30 days", "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Limits') AS version;
SELECT lead_score.attach('Limits', 'limits.contacts', 'limits.events', '{"event_type": "kind", "event_time": "at"}');

-- What contact 1 should score: 5 points per counted project, halving every 30 days,
-- plus the first click-or-project's 2, plus 1 per click.
CREATE FUNCTION limits.expected(projects timestamptz[], clicks integer) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(sum(5 * 2 ^ (-extract(epoch FROM timestamptz '2024-06-01 00:00+00' - p) / (30 * 86400))), 0)
         + 2 + clicks
    FROM unnest(projects) AS p
$$;
CREATE VIEW limits.check_one AS
SELECT round(s.score::numeric, 9) AS score, (SELECT count(*) FROM lead_score.verify('Limits')) AS differ
  FROM lead_score."Limits_scores" s WHERE s.id = 1;

-- One project: counted.
INSERT INTO limits.events (contact_id, kind, at) VALUES (1, 'project', '2024-05-10 00:00+00');
SELECT *, round(limits.expected('{2024-05-10 00:00+00}', 0)::numeric, 9) AS expected FROM limits.check_one;
-- A second: counted (the limit is two).
INSERT INTO limits.events (contact_id, kind, at) VALUES (1, 'project', '2024-05-20 00:00+00');
SELECT *, round(limits.expected('{2024-05-10 00:00+00, 2024-05-20 00:00+00}', 0)::numeric, 9) AS expected FROM limits.check_one;
-- A later third: beyond the limit, nothing changes.
INSERT INTO limits.events (contact_id, kind, at) VALUES (1, 'project', '2024-05-25 00:00+00');
SELECT *, round(limits.expected('{2024-05-10 00:00+00, 2024-05-20 00:00+00}', 0)::numeric, 9) AS expected FROM limits.check_one;
-- A click: counts for Click (1 point), and is later than the first click-or-project.
INSERT INTO limits.events (contact_id, kind, at) VALUES (1, 'click', '2024-05-30 00:00+00');
SELECT *, round(limits.expected('{2024-05-10 00:00+00, 2024-05-20 00:00+00}', 1)::numeric, 9) AS expected FROM limits.check_one;
-- An earlier project displaces the 05-20 one: the earliest two are 05-01 and 05-10.
INSERT INTO limits.events (contact_id, kind, at) VALUES (1, 'project', '2024-05-01 00:00+00');
SELECT *, round(limits.expected('{2024-05-01 00:00+00, 2024-05-10 00:00+00}', 1)::numeric, 9) AS expected FROM limits.check_one;
-- Several rows for several contacts in one statement, in no particular order.
INSERT INTO limits.events (contact_id, kind, at) VALUES
    (3, 'project', '2024-05-28 00:00+00'), (2, 'project', '2024-05-20 00:00+00'),
    (3, 'project', '2024-05-21 00:00+00'), (2, 'click', '2024-05-19 00:00+00'),
    (1, 'project', '2024-05-31 00:00+00'), (3, 'project', '2024-05-22 00:00+00');
SELECT id, round(score::numeric, 9) AS score FROM lead_score."Limits_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Limits');
-- Contact 2 again: a project earlier than its counted one, and later ones.
INSERT INTO limits.events (contact_id, kind, at) VALUES (2, 'project', '2024-05-02 00:00+00'), (2, 'project', '2024-05-29 00:00+00');
INSERT INTO limits.events (contact_id, kind, at) VALUES (2, 'project', '2024-05-30 00:00+00');
SELECT id, round(score::numeric, 9) AS score FROM lead_score."Limits_scores" WHERE id = 2;
SELECT * FROM lead_score.verify('Limits');

-- Demos: the limit applies inside the window, so every demo goes through the full path.
INSERT INTO limits.events (contact_id, kind, at) VALUES (3, 'demo', '2024-04-15 00:00+00');
INSERT INTO limits.events (contact_id, kind, at) VALUES (3, 'demo', '2024-05-15 00:00+00');
SELECT id, round(score::numeric, 9) AS score FROM lead_score."Limits_scores" WHERE id = 3;
SELECT * FROM lead_score.verify('Limits');

-- Every event is tallied once: counted, or matched and beyond a limit or window.
SELECT * FROM lead_score.stats('Limits') WHERE events > 0 ORDER BY reason;
SELECT kind, count(*) FROM limits.events GROUP BY kind ORDER BY kind;

-- A row that is due is not settled from its stored selection: contact 4's project
-- dated 06-05 is in the future when written; at 06-10, before any tick(), a project
-- dated 06-08 arrives. Both count (the limit is two), and the first click-or-project
-- is the 06-05 one.
INSERT INTO limits.contacts VALUES (4);
INSERT INTO limits.events (contact_id, kind, at) VALUES (4, 'project', '2024-06-05 00:00+00');
SET lead_score.now = '2024-06-10 00:00:00+00';
INSERT INTO limits.events (contact_id, kind, at) VALUES (4, 'project', '2024-06-08 00:00+00');
SELECT round(score::numeric, 9) AS score,
       round((5 * 2 ^ (-5 / 30.0) + 5 * 2 ^ (-2 / 30.0) + 2)::numeric, 9) AS expected
  FROM lead_score."Limits_scores" WHERE id = 4;
SET lead_score.now = '2024-06-01 00:00:00+00';
DELETE FROM limits.contacts WHERE id = 4;

-- A deleted event: the contact is recomputed, and the next project counts again.
DELETE FROM limits.events WHERE contact_id = 1 AND at = '2024-05-01 00:00+00';
INSERT INTO limits.events (contact_id, kind, at) VALUES (1, 'project', '2024-05-26 00:00+00');
SELECT *, round(limits.expected('{2024-05-10 00:00+00, 2024-05-20 00:00+00}', 1)::numeric, 9) AS expected FROM limits.check_one;

DROP VIEW limits.check_one;
SELECT lead_score.detach('Limits');
DROP SCHEMA limits CASCADE;
SELECT lead_score.drop_profile('Limits');
