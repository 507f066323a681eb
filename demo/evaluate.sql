-- Checked against outcomes: crm.outcomes says which contacts converted, decided 30
-- days ago by a planted model (see generate_data.sql). evaluate() scores each contact
-- as of that day: nothing that happened after it counts.
\pset footer off
\echo
\echo 'How good is the hand-set profile? lead_score.evaluate(''Demo'', ''crm.outcomes'', ...)'
SELECT metric, round(value::numeric, 3) AS value
  FROM lead_score.evaluate('Demo', 'crm.outcomes', '{"key": "contact_id", "as_of": "decided_at"}');
\echo 'Conversion by decile of its score (lead_score.evaluate_bands):'
SELECT band, round(low::numeric, 1) AS low, round(high::numeric, 1) AS high, contacts, positives,
       round(rate::numeric, 3) AS rate
  FROM lead_score.evaluate_bands('Demo', 'crm.outcomes', '{"key": "contact_id", "as_of": "decided_at"}');
\echo 'The planted model''s own AUC, the best any score could do on these outcomes (plain SQL):'
WITH ranked AS (
    SELECT converted,
           rank() OVER (ORDER BY planted_probability)
             + (count(*) OVER (PARTITION BY planted_probability) - 1) / 2.0 AS r
      FROM crm.outcomes)
SELECT round(((sum(r) FILTER (WHERE converted)
               - count(*) FILTER (WHERE converted) * (count(*) FILTER (WHERE converted) + 1) / 2.0)
              / (count(*) FILTER (WHERE converted) * count(*) FILTER (WHERE NOT converted)))::numeric, 3) AS planted_auc
  FROM ranked;

\echo
\echo 'Learning a profile from the same outcomes (lead_score.train): a new profile, attached to'
\echo 'the same tables, its draft learned from the train split, chosen on the valid split:'
SELECT lead_score.create_profile('Learned', 'Learned from crm.outcomes') > 0 AS created \gset
SELECT lead_score.add_rule('Learned', 'Any event', '{"kind": "event", "event": "email_open", "points": 1}') > 0 AS seeded \gset
SELECT lead_score.publish('Learned') AS learned_version \gset
SELECT lead_score.attach('Learned', 'crm.contacts', 'crm.events',
                         '{"accounts": "crm.accounts", "event_props": "properties"}') IS NULL AS attached \gset
SELECT metric, round(value::numeric, 3) AS value
  FROM lead_score.train('Learned', 'crm.outcomes', '{"key": "contact_id", "as_of": "decided_at", "split": "split"}');
\echo 'The learned rules with the most points, beside the planted model (in points: 10 double the odds):'
SELECT r.rule_name, round((r.rule ->> 'points')::numeric, 1) AS points, r.rule ->> 'half_life' AS half_life,
       CASE WHEN r.rule_name IN ('learned: role = c_level', 'learned: role = vp') THEN '+15.9 (c-level or vp)'
            WHEN r.rule_name = 'learned: role = student' THEN '-28.9'
            WHEN r.rule_name = 'learned: is_decision_maker = true' THEN '+8.7'
            WHEN r.rule_name LIKE 'learned: account.employees >= %' THEN '+11.5 (200+ employees)'
            WHEN r.rule_name IN ('learned: trial_signup', 'learned: project_created')
            THEN '+14.4 x ln(1 + trials and projects)'
       END AS planted
  FROM lead_score.rules r
 WHERE r.profile = 'Learned' AND r.is_draft AND r.kind <> 'disqualifier'
 ORDER BY abs((r.rule ->> 'points')::float8) DESC, r.rule_name LIMIT 12;
SELECT lead_score.publish('Learned') AS learned_version \gset
\echo 'Hand-set against learned, on the test split (neither saw it):'
SELECT h.metric, round(h.value::numeric, 3) AS hand_set, round(l.value::numeric, 3) AS learned
  FROM lead_score.evaluate('Demo', 'crm.outcomes',
                           '{"key": "contact_id", "as_of": "decided_at", "split": "split", "subset": "test"}') h
  JOIN lead_score.evaluate('Learned', 'crm.outcomes',
                           '{"key": "contact_id", "as_of": "decided_at", "split": "split", "subset": "test"}') l USING (metric)
 WHERE h.metric IN ('contacts', 'positives', 'auc', 'lift_top_decile');
\echo 'Conversion by decile, hand-set and learned, test split:'
SELECT h.band, h.contacts, round(h.rate::numeric, 3) AS hand_set_rate, round(l.rate::numeric, 3) AS learned_rate
  FROM lead_score.evaluate_bands('Demo', 'crm.outcomes',
                                 '{"key": "contact_id", "as_of": "decided_at", "split": "split", "subset": "test"}')
       WITH ORDINALITY AS h(band, low, high, contacts, positives, rate, n)
  JOIN lead_score.evaluate_bands('Learned', 'crm.outcomes',
                                 '{"key": "contact_id", "as_of": "decided_at", "split": "split", "subset": "test"}')
       WITH ORDINALITY AS l(band, low, high, contacts, positives, rate, n) USING (n)
 ORDER BY n;
\echo 'The learned profile''s scores view shows each contact''s probability of converting:'
SELECT s.id, round(s.score::numeric, 1) AS score, round(s.likelihood::numeric, 3) AS likelihood
  FROM lead_score."Learned_scores" s ORDER BY s.score DESC, s.id LIMIT 5;
