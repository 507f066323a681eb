-- pgspot prolog for update scripts: schema lead_score is the extension's own, made by
-- 0.1.0's install script (CREATE SCHEMA, not IF NOT EXISTS), so nobody else owns it.
CREATE SCHEMA lead_score;
