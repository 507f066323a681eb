-- lead_score.decayed_sum(points, at, half_life): a decayed sum that can be evaluated at
-- any later time with value_at() and added to others with +.
\set SHOW_CONTEXT never
-- Days are 24 hours in UTC, so closed-form values come out exact.
SET timezone = 'UTC';

SELECT p.proname, p.prokind, p.provolatile, p.proparallel
  FROM pg_proc p
 WHERE p.pronamespace = 'lead_score'::regnamespace
   AND p.proname IN ('decayed_sum', 'value_at', 'decayed_add')
 ORDER BY 1;
SELECT aggcombinefn <> 0 AS has_combine_function
  FROM pg_aggregate WHERE aggfnoid = 'lead_score.decayed_sum'::regproc;

-- 40,000 events for 200 contacts over a year, three half-lives and points that never decay.
CREATE TABLE activity AS
SELECT (n % 200) AS contact_id,
       (ARRAY[1, 3, -10, 20, 0.5])[1 + n % 5]::float8 AS points,
       timestamptz '2024-01-01 00:00+00' + (n * 7919 % 525600) * interval '1 minute' AS at,
       (ARRAY[interval '30 days', '14 days', NULL, '1 day'])[1 + n % 4] AS half_life
  FROM generate_series(1, 40000) AS n;

-- Per contact, the aggregate evaluated at a time equals the per-event decays summed at
-- that same time (NULL half-life: the points count in full).
SELECT count(*) AS contacts,
       max(abs(agg - per_event) / greatest(abs(per_event), 1)) < 1e-12 AS equal
  FROM (SELECT contact_id,
               lead_score.value_at(lead_score.decayed_sum(points, at, half_life), '2025-01-15 00:00+00') AS agg,
               sum(CASE WHEN half_life IS NULL THEN points
                        ELSE lead_score.decay(points, '2025-01-15 00:00+00' - at, half_life) END) AS per_event
          FROM activity GROUP BY contact_id) compared;

-- The same through a parallel plan: partial sums combined.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT lead_score.decayed_sum(points, at, half_life) FROM activity;
SELECT abs(lead_score.value_at(lead_score.decayed_sum(points, at, half_life), '2025-01-15 00:00+00')
           - (SELECT sum(CASE WHEN half_life IS NULL THEN points
                              ELSE lead_score.decay(points, '2025-01-15 00:00+00' - at, half_life) END)
                FROM activity)) < 1e-9 AS parallel_equals_per_event
  FROM activity;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- Sums can be stored, evaluated later, and added.
CREATE TABLE monthly AS
SELECT date_trunc('month', at) AS month, lead_score.decayed_sum(points, at, half_life) AS engagement
  FROM activity GROUP BY 1;
SELECT abs(lead_score.value_at((SELECT lead_score.decayed_sum(points, at, half_life) FROM activity), t)
           - (SELECT sum(lead_score.value_at(engagement, t)) FROM monthly)) < 1e-9 AS parts_add_up,
       abs(lead_score.value_at(
             (SELECT engagement FROM monthly ORDER BY month LIMIT 1)
             OPERATOR(lead_score.+) (SELECT engagement FROM monthly ORDER BY month DESC LIMIT 1), t)
           - (SELECT sum(lead_score.value_at(engagement, t)) FROM (SELECT engagement FROM monthly ORDER BY month LIMIT 1) a)
           - (SELECT sum(lead_score.value_at(engagement, t)) FROM (SELECT engagement FROM monthly ORDER BY month DESC LIMIT 1) b)) < 1e-9 AS plus_adds
  FROM (VALUES (timestamptz '2025-06-01 00:00+00')) AS at_time(t);

-- Decay at several ages against closed-form values: 8 points, 30-day half-life.
SELECT age, lead_score.value_at(eight, timestamptz '2024-01-01 00:00+00' + age) AS worth
  FROM (SELECT lead_score.decayed_sum(8, '2024-01-01 00:00+00', '30 days') AS eight) one,
       unnest(ARRAY['0', '30 days', '60 days', '90 days']::interval[]) AS age;

-- A century of one-day half-lives neither overflows nor loses the recent points.
-- (points on 1 January 2024 ... 2123; the last is 365 days old on 1 January 2124)
SELECT lead_score.value_at(century, '2124-01-01 00:00+00') AS after_a_century,
       lead_score.value_at(century, '2124-01-01 00:00+00') = 2 ^ -365 AS exactly_two_to_the_minus_365,
       lead_score.value_at(century, '2123-12-31 00:00+00') AS a_day_earlier
  FROM (SELECT lead_score.decayed_sum(1, at, '1 day') AS century
          FROM generate_series(timestamptz '2024-01-01 00:00+00', '2123-01-01 00:00+00', interval '1 year') AS at) s;

-- NULL points or times are skipped, as sum() skips NULLs; no rows gives an empty sum (0).
SELECT lead_score.value_at(lead_score.decayed_sum(points, at, '1 day'), '2024-01-02 00:00+00') AS skips_nulls
  FROM (VALUES (1::float8, timestamptz '2024-01-02 00:00+00'), (NULL, '2024-01-02'), (5, NULL)) AS v(points, at);
SELECT lead_score.value_at(lead_score.decayed_sum(points, at, half_life), now()) AS empty
  FROM activity WHERE false;

-- A non-positive half-life is an error (22023).
SELECT lead_score.decayed_sum(1, now(), '0 days');
\echo :LAST_ERROR_SQLSTATE

-- Stored, a sum is a format byte and 24 bytes per half-life (plus a 1-byte header):
-- its text form goes through JSON, its stored form does not.
CREATE TEMP TABLE kept AS
SELECT lead_score.decayed_sum(points, at, half_life) AS sum
  FROM (VALUES (1::float8, timestamptz '2024-01-01 00:00+00', interval '1 day'),
               (2, '2024-01-02 00:00+00', NULL)) AS v(points, at, half_life);
SELECT pg_column_size(sum) AS stored_bytes, sum::text AS text_form,
       sum::text::lead_score.decayed::text = sum::text AS text_round_trip
  FROM kept;
DROP TABLE kept;

DROP TABLE activity, monthly;
