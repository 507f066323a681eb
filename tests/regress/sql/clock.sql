-- lead_score.now: the extension's clock, settable per session to simulate time.
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- Set before the library is loaded in this session (a placeholder), the value is
-- checked and taken as soon as it loads. Set, it is "now" for everything the
-- extension decides.
SET lead_score.now = '2024-06-01 12:00:00+00';
SELECT lead_score.now();
SHOW lead_score.now;
SELECT lead_score.rule_matches(
         '{"kind": "fit", "when": {"field": "seen", "op": "within", "value": "1 day"}, "points": 1}',
         '{"seen": "2024-06-01T00:00:00Z"}') AS seen_within_a_day_of_the_simulated_now;
-- Offsets and UTC-by-default spellings.
SET lead_score.now = '2024-06-01T14:00:00+02:00';
SELECT lead_score.now();
SET lead_score.now = '2024-06-01';
SELECT lead_score.now();

-- A value that is not a timestamp is refused when it is set (22023), and the clock keeps
-- its previous value.
SET lead_score.now = 'next tuesday';
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.now();

-- Per transaction, with SET LOCAL.
BEGIN;
SET LOCAL lead_score.now = '2030-01-01 00:00+00';
SELECT lead_score.now();
COMMIT;
SELECT lead_score.now();

-- Empty (the default) is the real clock: the transaction's start, like now().
RESET lead_score.now;
SHOW lead_score.now;
SELECT lead_score.now() = now() AS follows_now;

-- The prefix is reserved: a misspelt setting is an error, not a silent placeholder.
SET lead_score.nwo = '2024-01-01';
\echo :LAST_ERROR_SQLSTATE
