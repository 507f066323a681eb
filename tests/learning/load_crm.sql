-- Load the second test CRM (tests/learning/generate_crm.py's files) into schema crm2.
-- Usage: psql -v dir=/path/to/files -f tests/learning/load_crm.sql
CREATE SCHEMA crm2;
CREATE TABLE crm2.accounts (id bigint PRIMARY KEY, name text, industry text, region text, employees integer);
CREATE TABLE crm2.leads (id bigint PRIMARY KEY, account_id bigint REFERENCES crm2.accounts, first_name text,
                         last_name text, email text, job_title text, source text, created_at timestamptz);
CREATE TABLE crm2.events (id bigint PRIMARY KEY, lead_id bigint REFERENCES crm2.leads, kind text,
                          occurred_at timestamptz, props jsonb, channel text);
CREATE TABLE crm2.outcomes (lead_id bigint PRIMARY KEY REFERENCES crm2.leads, converted boolean,
                            as_of timestamptz, split text);
\set accounts :dir '/accounts.csv'
\set leads :dir '/leads.csv'
\set events :dir '/events.csv'
\set outcomes :dir '/outcomes.csv'
COPY crm2.accounts FROM :'accounts' WITH (FORMAT text, HEADER);
COPY crm2.leads FROM :'leads' WITH (FORMAT text, HEADER);
COPY crm2.events FROM :'events' WITH (FORMAT text, HEADER);
COPY crm2.outcomes FROM :'outcomes' WITH (FORMAT text, HEADER);
CREATE INDEX ON crm2.events (lead_id, occurred_at);
ANALYZE crm2.accounts, crm2.leads, crm2.events, crm2.outcomes;
