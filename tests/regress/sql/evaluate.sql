-- evaluate() and evaluate_bands(): a profile against what actually converted, each
-- contact scored as of its own instant. The metrics against plain SQL on the same
-- scores; nothing after an instant counts; the options; the bad inputs.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-07-01 00:00:00+00';

CREATE SCHEMA ev;
CREATE TABLE ev.contacts (id bigint PRIMARY KEY, country text, role text);
CREATE TABLE ev.events (id serial PRIMARY KEY, contact_id bigint, kind text, at timestamptz);
CREATE INDEX ON ev.events (contact_id, at);
-- Six competitors (12, 48, ..., 192), all with a demo and among the best scores.
INSERT INTO ev.contacts SELECT g, (ARRAY['US', 'DE', 'FR'])[1 + g % 3], CASE WHEN g % 36 = 12 THEN 'competitor' ELSE 'buyer' END
  FROM generate_series(1, 200) AS g;
-- Demos for some, page views for many, spread over May; contacts 1-50 decided on May 15.
INSERT INTO ev.events (contact_id, kind, at)
SELECT g, 'demo', '2024-05-01'::timestamptz + (g % 13) * interval '1 day' FROM generate_series(1, 200) AS g WHERE g % 4 = 0;
INSERT INTO ev.events (contact_id, kind, at)
SELECT 1 + (g * 7) % 200, 'page_view', '2024-05-01'::timestamptz + (g % 29) * interval '1 day' FROM generate_series(1, 500) AS g;
CREATE TABLE ev.outcomes (id bigint, converted boolean, decided timestamptz, split text);
INSERT INTO ev.outcomes
SELECT g,
       -- Converted: mostly those with a demo, some others; never a pure function of the score.
       (g % 4 = 0 AND g % 5 <> 1) OR (g % 4 <> 0 AND g % 7 = 0),
       CASE WHEN g <= 50 THEN '2024-05-15'::timestamptz ELSE '2024-06-01' END,
       CASE WHEN g % 5 = 0 THEN 'test' ELSE 'train' END
  FROM generate_series(1, 200) AS g;

SELECT lead_score.create_profile('Eval', settings => '{"half_life": "30 days", "pql_threshold": 15, "thresholds": {"MQL": 8}}') > 0 AS created;
SELECT count(lead_score.add_rule('Eval', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 5}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 10}'),
  ('Page', '{"kind": "event", "event": "page_view", "points": 1}'),
  ('Competitors', '{"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "competitor"}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Eval') AS version;
SELECT lead_score.attach('Eval', 'ev.contacts', 'ev.events', '{"event_type": "kind", "event_time": "at"}');

-- Each contact's score as of its instant, and whether the disqualifier held (read off
-- the contacts table): what evaluate() must agree with.
CREATE TEMP TABLE scored AS
SELECT o.id, o.converted, o.split, lead_score.score('Eval', o.id, o.decided) AS score, c.role = 'competitor' AS disqualified
  FROM ev.outcomes o JOIN ev.contacts c ON c.id = o.id;

SELECT metric, round(value::numeric, 6) AS value
  FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}');

-- AUC is the Mann-Whitney statistic over the same scores, ties counted half.
SELECT round(((SELECT sum(CASE WHEN p.score > n.score THEN 1 WHEN p.score = n.score THEN 0.5 ELSE 0 END)
                 FROM scored p, scored n WHERE p.converted AND NOT n.converted)
              / ((SELECT count(*) FROM scored WHERE converted) * (SELECT count(*) FROM scored WHERE NOT converted)))::numeric, 6)
       = (SELECT round(value::numeric, 6) FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}') WHERE metric = 'auc')
       AS auc_is_mann_whitney;
-- Precision, recall and share of each tag (PQL 15, MQL 8) as plain SQL counts them: a
-- disqualified contact is never tagged, whatever its score. Competitors are over both
-- thresholds, so counting them would change every one of these.
SELECT t.tag, count(*) FILTER (WHERE s.disqualified AND s.score >= t.threshold) AS held_back
  FROM scored s, (VALUES ('PQL', 15), ('MQL', 8)) AS t(tag, threshold) GROUP BY t.tag ORDER BY t.tag DESC;
SELECT p.metric, round(p.value, 6) AS plain_sql, round(e.value::numeric, 6) AS evaluated
  FROM (SELECT t.tag,
               count(*) FILTER (WHERE s.score >= t.threshold AND NOT s.disqualified AND s.converted) AS caught_positive,
               count(*) FILTER (WHERE s.score >= t.threshold AND NOT s.disqualified) AS caught,
               count(*) FILTER (WHERE s.converted) AS positives, count(*) AS contacts
          FROM scored s, (VALUES ('PQL', 15), ('MQL', 8)) AS t(tag, threshold) GROUP BY t.tag) c,
       LATERAL (VALUES ('precision_' || c.tag, c.caught_positive::numeric / nullif(c.caught, 0)),
                       ('recall_' || c.tag, c.caught_positive::numeric / c.positives),
                       ('share_' || c.tag, c.caught::numeric / c.contacts)) AS p(metric, value)
  LEFT JOIN lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}') e USING (metric)
 ORDER BY c.tag DESC, p.metric;
-- The suggested threshold: the score (of a contact that could be tagged) with the best
-- F1, 2 x caught positives / (caught + positives), the highest score on a tie.
SELECT abs(f.threshold - e.value) < 1e-9 AS suggested_is_best_f1, round(f.f1::numeric, 6) AS f1
  FROM (SELECT t.score AS threshold,
               2.0::float8 * count(*) FILTER (WHERE s.converted) / (count(*) + (SELECT count(*) FROM scored WHERE converted)) AS f1
          FROM (SELECT DISTINCT score FROM scored WHERE NOT disqualified) t
          JOIN scored s ON s.score >= t.score AND NOT s.disqualified
         GROUP BY t.score ORDER BY f1 DESC, t.score DESC LIMIT 1) f,
       lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}') e
 WHERE e.metric = 'suggested_threshold';
-- Lift of the top tenth: its rate over the overall rate.
SELECT round((SELECT avg(converted::int) FROM (SELECT converted FROM scored ORDER BY score DESC LIMIT 20) t)
             / (SELECT avg(converted::int) FROM scored), 6) AS lift_top_decile;

-- Conversion by band: deciles as ntile(10) cuts them; every contact in one band.
SELECT band, round(low::numeric, 4) AS low, round(high::numeric, 4) AS high, contacts, positives, round(rate::numeric, 4) AS rate
  FROM lead_score.evaluate_bands('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}');
SELECT t.by, sum(b.contacts) AS contacts, sum(b.positives) AS positives
  FROM (VALUES ('decile'), ('score_100'), ('stars')) AS t(by),
       lead_score.evaluate_bands('Eval', 'ev.outcomes', jsonb_build_object('key', 'id', 'as_of', 'decided', 'by', t.by)) AS b
 GROUP BY t.by ORDER BY t.by;
-- The 1-100 bands, band by band, against plain SQL grouping by lead_score.score_100()
-- (the default scale: half the PQL threshold): disqualified contacts are in them too.
SELECT b.band, b.contacts, b.positives, coalesce(sum(g.contacts), 0) AS plain_contacts, coalesce(sum(g.positives), 0) AS plain_positives
  FROM lead_score.evaluate_bands('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided", "by": "score_100"}') b
  LEFT JOIN (SELECT lead_score.score_100(score, 'saturating', 7.5) AS score_100, count(*) AS contacts,
                    count(*) FILTER (WHERE converted) AS positives
               FROM scored GROUP BY lead_score.score_100(score, 'saturating', 7.5)) g
    ON g.score_100 BETWEEN b.low AND b.high
 GROUP BY b.band, b.low, b.contacts, b.positives ORDER BY b.low;
SELECT band, contacts, positives FROM lead_score.evaluate_bands('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided", "by": "stars"}');
SELECT s.stars, count(*) AS contacts, count(*) FILTER (WHERE converted) AS positives
  FROM scored, LATERAL (SELECT lead_score.stars(score, 'saturating', 7.5) AS stars) s GROUP BY 1 ORDER BY 1;

-- Nothing after a contact's instant counts: events after every instant change no metric.
CREATE TEMP TABLE before_later AS
SELECT metric, value FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}');
INSERT INTO ev.events (contact_id, kind, at) SELECT g, 'demo', '2024-06-15' FROM generate_series(1, 200) AS g;
SELECT count(*) AS metrics_changed
  FROM before_later b JOIN lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}') a USING (metric)
 WHERE a.value IS DISTINCT FROM b.value;
-- Without as_of, contacts are scored now (the extension's clock), later events included.
SELECT metric, round(value::numeric, 6) AS value
  FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id"}') WHERE metric IN ('contacts', 'auc', 'share_PQL');

-- A subset of the split; the draft or another published version.
SELECT metric, value FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided", "split": "split", "subset": "test"}')
 WHERE metric IN ('contacts', 'positives');
SELECT lead_score.update_rule('Eval', 'Page', '{"kind": "event", "event": "page_view", "points": 4}') IS NOT NULL AS edited;
SELECT d.metric, round(a.value::numeric, 4) AS active, round(d.value::numeric, 4) AS draft, round(v.value::numeric, 4) AS version_1
  FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided", "draft": true}') d
  JOIN lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}') a USING (metric)
  JOIN lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided", "version": 1}') v USING (metric)
 WHERE d.metric IN ('auc', 'share_MQL', 'suggested_threshold');

-- NULL outcomes or instants are ignored and counted; contacts that do not exist too.
INSERT INTO ev.outcomes VALUES (500, true, '2024-06-01', 'train'), (201, NULL, '2024-06-01', 'train'), (202, false, NULL, 'train');
SELECT metric, value FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}')
 WHERE metric IN ('contacts', 'ignored', 'unknown_contacts');

-- Bad inputs.
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided", "colour": "red"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "subset": "test"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "version": 1, "draft": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "version": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "version": 9}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": 7}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate_bands('Eval', 'ev.outcomes', '{"key": "id", "by": "quartile"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "by": "stars"}');
\echo :LAST_ERROR_SQLSTATE
-- Columns: missing (the default key "id" of the contacts exists here; "converted" too).
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "contact"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"as_of": "when"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"outcome": "split"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "split"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"as_of": "converted"}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ev.outcomes VALUES (1, false, '2024-06-01', 'train');
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ev.outcomes WHERE id = 1 AND decided = '2024-06-01';
SELECT * FROM lead_score.evaluate('Nope', 'ev.outcomes');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('Unattached') > 0 AS created;
SELECT * FROM lead_score.evaluate('Unattached', 'ev.outcomes');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM lead_score.evaluate(NULL, 'ev.outcomes');

-- Who may evaluate: a role that may read the attached tables and the outcomes.
CREATE ROLE ev_analyst;
GRANT USAGE ON SCHEMA ev TO ev_analyst;
SET ROLE ev_analyst;
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes');
\echo :LAST_ERROR_SQLSTATE
-- (stats() counts every event and contact too: the same rule.)
SELECT * FROM lead_score.stats('Eval');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON ev.contacts, ev.events TO ev_analyst;
SET ROLE ev_analyst;
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON ev.outcomes TO ev_analyst;
SET ROLE ev_analyst;
SELECT metric, value FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"as_of": "decided"}') WHERE metric = 'contacts';
SELECT sum(events) > 0 AS counted FROM lead_score.stats('Eval');
RESET ROLE;
-- Row-level security on the contacts that applies to the caller: the outcomes may name
-- contacts it hides, so evaluating is refused (explain, for one contact the caller
-- found, is not).
ALTER TABLE ev.contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY first_hundred ON ev.contacts FOR SELECT USING (id <= 100);
SET ROLE ev_analyst;
SELECT * FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"as_of": "decided"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.stats('Eval');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) > 0 AS explains FROM lead_score.explain('Eval', 4);
RESET ROLE;
ALTER TABLE ev.contacts DISABLE ROW LEVEL SECURITY;

-- A likelihood links scores to probabilities: published, the scores view shows it
-- (as lead_score.likelihood computes it), and evaluate adds the Brier score and log loss.
SELECT lead_score.revert_draft('Eval', 1);
SELECT lead_score.update_profile('Eval', settings => '{"likelihood": {"intercept": -2, "points_per_doubling": 5}}');
SELECT lead_score.publish('Eval') AS version;
SELECT id, round(score::numeric, 4) AS score, round(likelihood::numeric, 6) AS likelihood,
       round(lead_score.likelihood(score, -2, 5)::numeric, 6) AS computed,
       round((1 / (1 + exp(-(-2 + score * ln(2) / 5))))::numeric, 6) AS by_hand
  FROM lead_score."Eval_scores" ORDER BY score DESC, id LIMIT 3;
SELECT metric, round(value::numeric, 6) AS value
  FROM lead_score.evaluate('Eval', 'ev.outcomes', '{"key": "id", "as_of": "decided"}') WHERE metric IN ('auc', 'brier', 'log_loss');
SELECT round(avg(power(lead_score.likelihood(score, -2, 5) - converted::int, 2))::numeric, 6) AS brier,
       round(avg(-CASE WHEN converted THEN ln(lead_score.likelihood(score, -2, 5))
                      ELSE ln(1 - lead_score.likelihood(score, -2, 5)) END)::numeric, 6) AS log_loss
  FROM scored;
SELECT lead_score.likelihood(1, 0, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Eval', settings => '{"likelihood": {"intercept": -2}}');
\echo :LAST_ERROR_SQLSTATE

SELECT lead_score.detach('Eval');
SELECT lead_score.drop_profile('Eval');
SELECT lead_score.drop_profile('Unattached');
DROP SCHEMA ev CASCADE;
DROP OWNED BY ev_analyst;
DROP ROLE ev_analyst;
