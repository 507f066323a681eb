-- lead_score.decay(points, age, half_life) = points * 2^(-age/half_life), exactly.
\set SHOW_CONTEXT never

SELECT proname, provolatile, proisstrict, proparallel
  FROM pg_proc WHERE oid = 'lead_score.decay(float8, interval, interval)'::regprocedure;

-- Closed-form values at several ages of a 30-day half-life.
SELECT age, lead_score.decay(10, age, '30 days') AS worth
  FROM unnest(ARRAY['0 days', '15 days', '30 days', '60 days', '90 days', '300 days']::interval[]) AS age;

-- Negative points decay toward zero the same way.
SELECT lead_score.decay(-10, '14 days', '14 days') AS cancelled_demo_after_one_half_life;

-- Agrees with the natural-exponential form to 1e-12 over a grid of ages and half-lives.
SELECT count(*) AS cases,
       max(abs(lead_score.decay(p, a, h)
               - p * exp(-ln(2) * extract(epoch FROM a) / extract(epoch FROM h)))) < 1e-12 AS agrees
  FROM generate_series(-20, 20, 5) AS p,
       unnest(ARRAY['0', '1 hour', '2 days', '1 mon', '400 days']::interval[]) AS a,
       unnest(ARRAY['1 day', '14 days', '30 days', '1 year']::interval[]) AS h;

-- Months and years count as extract(epoch ...) counts them: 30 and 365.25 days.
SELECT lead_score.decay(8, '1 mon', '30 days') AS one_month,
       lead_score.decay(8, '1 year', '365 days 6 hours') AS one_year;

-- An event in the future has not happened yet: worth nothing.
SELECT lead_score.decay(5, '-1 hour', '1 day') AS future_event;

-- Very old points underflow to 0 rather than raise.
SELECT lead_score.decay(1e6, '100 years', '1 day') AS century_old;

-- STRICT: any NULL argument gives NULL.
SELECT lead_score.decay(NULL, '1 day', '1 day') IS NULL AS null_points,
       lead_score.decay(1, NULL, '1 day') IS NULL AS null_age,
       lead_score.decay(1, '1 day', NULL) IS NULL AS null_half_life;

-- A half-life must be positive (SQLSTATE 22023, invalid_parameter_value).
SELECT lead_score.decay(1, '1 day', '0 days');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.decay(1, '1 day', '-3 days');
\echo :LAST_ERROR_SQLSTATE
