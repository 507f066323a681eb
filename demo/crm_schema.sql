-- A small CRM, shaped like the ones pg_lead_score is built for: accounts (companies),
-- contacts (people) and an append-mostly activity stream of events.
DROP SCHEMA IF EXISTS crm CASCADE;
CREATE SCHEMA crm;

CREATE TABLE crm.accounts (
    id          bigint PRIMARY KEY,
    name        text NOT NULL,
    domain      text NOT NULL,
    industry    text NOT NULL,
    employees   integer NOT NULL,
    country     text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE crm.contacts (
    id                bigint PRIMARY KEY,
    account_id        bigint REFERENCES crm.accounts,
    first_name        text NOT NULL,
    last_name         text NOT NULL,
    email             text NOT NULL,
    job_title         text NOT NULL,
    role              text NOT NULL,   -- c_level, vp, director, manager, individual, student
    is_decision_maker boolean NOT NULL,
    country           text NOT NULL,
    lifecycle_stage   text NOT NULL,
    created_at        timestamptz NOT NULL,
    owner             text             -- the sales rep; set by routing when a contact becomes a PQL
);
CREATE INDEX ON crm.contacts (account_id);

CREATE TABLE crm.events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id   bigint NOT NULL,
    event_type   text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    properties   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON crm.events (contact_id, occurred_at);
