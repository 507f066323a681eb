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
