-- Runs first. The control file names pg_catalog as the extension's schema (as pg_cron
-- does) so that the schema below can be created *by* the script and so be a member of
-- the extension: DROP EXTENSION then removes it, and CREATE EXTENSION fails rather
-- than adopt a lead_score schema somebody else already owns.
CREATE SCHEMA lead_score;
COMMENT ON SCHEMA lead_score IS 'pg_lead_score: lead and contact scoring';
