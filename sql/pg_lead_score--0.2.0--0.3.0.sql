-- pg_lead_score 0.2.0 -> 0.3.0, run by ALTER EXTENSION pg_lead_score UPDATE.
-- Frozen once 0.3.0 is released; until then every change to the SQL surface lands here
-- too, and tests/upgrade proves that a database updated from 0.1.0 or 0.2.0 equals a
-- fresh 0.3.0 install. The shared library keeps every C symbol 0.2.0's script names,
-- so 0.2.0's SQL works with the new library until this runs.
\echo Use "ALTER EXTENSION pg_lead_score UPDATE" to load this file. \quit
