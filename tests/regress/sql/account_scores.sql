-- Account scores: a profile attached with an accounts table gets
-- lead_score."<profile>_account_scores", one row per account its contacts name, kept
-- current by every write (events, contacts moving or deleted, accounts, tick(),
-- adjustments, publish) and computed at each read from its members' scores then (sum,
-- max or top_3_average, decaying as theirs do). Engaged and PQL members, the best
-- member, buying roles, account thresholds (sticky tags, account_tagged transitions),
-- bad settings with their JSON paths, rights; verify() compares every account row with
-- a rebuild after each scenario.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA acct;
CREATE TABLE acct.accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE acct.contacts (id bigint PRIMARY KEY, account_id bigint REFERENCES acct.accounts,
                            role text, country text);
CREATE TABLE acct.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text,
                          occurred_at timestamptz);
CREATE INDEX ON acct.events (contact_id, occurred_at);
INSERT INTO acct.accounts VALUES (1, 'Acme'), (2, 'Globex'), (3, 'Initech'), (4, 'Empty');
-- Acme: 1, 2, 3 (4 has no role); Globex: 5, 6; Initech: 7; 8 has no account.
INSERT INTO acct.contacts VALUES (1, 1, 'buyer', 'US'), (2, 1, 'champion', 'UK'), (3, 1, 'user', 'FR'),
                                 (4, 1, NULL, 'US'), (5, 2, 'buyer', 'US'), (6, 2, 'user', 'DE'),
                                 (7, 3, 'buyer', 'FR'), (8, NULL, 'buyer', 'US');

-- Fit: 5 for the US. Visits 10, halving every 10 days; a demo 40 for good; a bounce -3.
-- A contact is a PQL at 40; an account tagged PQA at 60 and Hot at 100.
SELECT lead_score.create_profile('Acct', settings =>
    '{"half_life": "10 days", "pql_threshold": 40, "buying_roles": "role",
      "account_thresholds": {"PQA": 60, "Hot": 100}}') > 0 AS created;
SELECT count(lead_score.add_rule('Acct', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 5}'),
  ('Visit', '{"kind": "event", "event": "visit", "points": 10}'),
  ('Demo', '{"kind": "event", "event": "demo", "points": 40, "half_life": null}'),
  ('Bounce', '{"kind": "event", "event": "bounce", "points": -3, "half_life": null}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Acct');
SELECT lead_score.attach('Acct', 'acct.contacts', 'acct.events', '{"accounts": "accounts", "account_scores": true}');

-- Right after attach: fit only. Acme has 1 and 4 at 5 (engaged), 2 and 3 at 0; its
-- best member is 1 (tied with 4: the lower key); roles of engaged members only (4 has
-- none). Initech's 7 scores 0: not engaged, no roles. Contact 8 has no account;
-- account 4 has no contacts: neither has a row.
SELECT * FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- Events, one row at a time (the fast path) and several at once: Acme 2 visits (10
-- each, 20), 3 a demo (40, a PQL: 1 of Acme's PQL members); Globex 6 a bounce (-3).
INSERT INTO acct.events (contact_id, event_type, occurred_at) VALUES (2, 'visit', '2024-06-01');
INSERT INTO acct.events (contact_id, event_type, occurred_at) VALUES (2, 'visit', '2024-06-01');
INSERT INTO acct.events (contact_id, event_type, occurred_at)
VALUES (3, 'demo', '2024-06-01'), (6, 'bounce', '2024-06-01');
-- Acme: 5 + 20 + 40 + 5 = 70, over PQA's 60: tagged (by contact 3's write). Globex: 5
-- - 3 = 2, only 5 engaged, best 5.
SELECT * FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT kind, contact, tag, old_state, new_state, score, reason, source, contacts, key_column
  FROM lead_score.transitions WHERE profile = 'Acct' AND kind = 'account_tagged' ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- Decay, read at later instants from the stored parts alone: after 10 days 2's visits
-- are worth 10 (Acme 5 + 10 + 40 + 5 = 60), after 20 days 5 (55): the score falls
-- below PQA, the tag stays (sticky).
SET lead_score.now = '2024-06-11 00:00:00+00';
SELECT id, score, engaged_contacts, best_contact, tags FROM lead_score."Acct_account_scores" ORDER BY id;
SET lead_score.now = '2024-06-21 00:00:00+00';
SELECT id, score, engaged_contacts, best_contact, tags FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- max and top_3_average, published: the same members, read their way. At day 20:
-- members' scores Acme 5, 5, 40, 5 (max 40; top 3: (40 + 5 + 5) / 3), Globex 5, -3
-- (max 5; top 3 of two: 1), Initech 0.
SELECT lead_score.update_profile('Acct', settings => '{"account_score": "max"}');
SELECT lead_score.publish('Acct');
SELECT id, score FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT lead_score.update_profile('Acct', settings => '{"account_score": "top_3_average"}');
SELECT lead_score.publish('Acct');
SELECT id, score FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT lead_score.update_profile('Acct', settings => '{"account_score": null}');
SELECT lead_score.publish('Acct');
SELECT * FROM lead_score.verify('Acct');

-- Contacts moving: 3 (the demo) from Acme to Globex, 5 to no account, 8 into Initech;
-- a new contact 9 in a new account 5; 4 deleted. Acme is left 1 and 2 (5 + 5 = 10);
-- Globex 3 and 6 (40 - 3 = 37); Initech 7 and 8 (0 + 5); account 5 has 9 (0).
INSERT INTO acct.accounts VALUES (5, 'Hooli');
UPDATE acct.contacts SET account_id = 2 WHERE id = 3;
UPDATE acct.contacts SET account_id = NULL WHERE id = 5;
UPDATE acct.contacts SET account_id = 3, role = 'champion' WHERE id = 8;
INSERT INTO acct.contacts VALUES (9, 5, 'user', 'FR');
DELETE FROM acct.contacts WHERE id = 4;
SELECT * FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- An account left with no contacts loses its row; a role changed shows at once.
UPDATE acct.contacts SET account_id = 1 WHERE id = 9;
UPDATE acct.contacts SET role = 'economic buyer' WHERE id = 2;
SELECT id, contacts, roles FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- An account UPDATE that changes its contacts' fit (a rule on the account): the
-- members are rescored and so is the account.
SELECT lead_score.add_rule('Acct', 'Big', '{"kind": "fit", "when": {"field": "account.name", "op": "eq", "value": "Globex Corp"}, "points": 30}') > 0 AS added;
SELECT lead_score.publish('Acct');
UPDATE acct.accounts SET name = 'Globex Corp' WHERE id = 2;
-- Globex: 3 is 40 + 30, 6 is 30 - 3: 97, over PQA (tagged, by the account write).
SELECT id, contacts, score, pql_contacts, best_contact, tags FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT contact, tag, score, reason, source FROM lead_score.transitions
 WHERE profile = 'Acct' AND kind = 'account_tagged' ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- A manual adjustment counts (contact 1: 5 + 100, Acme 110, over Hot), tick() keeps
-- the accounts exact, and a TRUNCATE of the events leaves fit only (and the adjustment).
SELECT lead_score.adjust('Acct', 1::bigint, 100, 'met at a fair') > 0 AS adjusted;
SELECT id, score, tags FROM lead_score."Acct_account_scores" WHERE id = 1;
SELECT contact, tag, reason, source FROM lead_score.transitions
 WHERE profile = 'Acct' AND kind = 'account_tagged' AND contact = '1' ORDER BY id;
SELECT lead_score.tick() IS NOT NULL AS ticked;
SELECT * FROM lead_score.verify('Acct');
TRUNCATE acct.events;
SELECT id, score, engaged_contacts, pql_contacts, tags FROM lead_score."Acct_account_scores" ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- One event of a contact that holds its tags already (the single UPDATE that keeps
-- its account too): 3's demo takes Globex from 60 to 100, over Hot, tagged by 3's
-- write; and one of a contact with no account (5), which changes no account.
INSERT INTO acct.events (contact_id, event_type, occurred_at) VALUES (3, 'demo', '2024-06-21');
INSERT INTO acct.events (contact_id, event_type, occurred_at) VALUES (5, 'demo', '2024-06-21');
SELECT id, score, engaged_contacts, pql_contacts, best_contact, tags FROM lead_score."Acct_account_scores" ORDER BY id;
-- One event that makes its contact a PQL: 6's demo (27 + 40), Globex's second PQL.
INSERT INTO acct.events (contact_id, event_type, occurred_at) VALUES (6, 'demo', '2024-06-21');
SELECT id, score, pql_contacts FROM lead_score."Acct_account_scores" WHERE id = 2;

-- Each score row keeps its contact's account key, which a single event's write uses to
-- find the account: one changed behind the extension's back is a difference verify()
-- names, and rescore() puts it right.
DO $$ BEGIN
  EXECUTE format('UPDATE lead_score.%I SET account_key = ''3'' WHERE contact_key = 6',
                 (SELECT state_table FROM lead_score.attachment_store a
                    JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Acct'));
END $$;
SELECT * FROM lead_score.verify('Acct');
SELECT lead_score.rescore('Acct') > 0 AS rescored;
SELECT * FROM lead_score.verify('Acct');
SELECT contact, tag, score, reason, source FROM lead_score.transitions
 WHERE profile = 'Acct' AND kind = 'account_tagged' AND contact = '2' ORDER BY id;
SELECT * FROM lead_score.verify('Acct');

-- ORDER BY score DESC LIMIT over accounts reads account rows only (and the
-- attachment's one row): the relations its plan scans.
CREATE FUNCTION acct.scanned(query text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    line text;
    found text[] := '{}';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        found := found || regexp_replace((regexp_match(line, 'Scan(?: using \S+)? on (\S+)'))[1], '_\d+$', '_<id>');
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT f FROM unnest(found) f WHERE f IS NOT NULL ORDER BY 1);
END
$$;
SELECT acct.scanned('SELECT id, score FROM lead_score."Acct_account_scores" ORDER BY score DESC LIMIT 100');

-- Rights: like the scores view, the view is everyone's, and its rows are those of the
-- accounts the reader may see in the CRM's accounts table: without SELECT on it, 42501;
-- with it, the rows its policies show (here: Acme alone). Without SELECT on the view
-- itself (revoked from PUBLIC), 42501 too.
CREATE ROLE acct_reader;
SET ROLE acct_reader;
SELECT count(*) FROM lead_score."Acct_account_scores";
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE SELECT ON lead_score."Acct_account_scores" FROM PUBLIC;
SET ROLE acct_reader;
SELECT count(*) FROM lead_score."Acct_account_scores";
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON lead_score."Acct_account_scores" TO PUBLIC;
GRANT USAGE ON SCHEMA acct TO acct_reader;
GRANT SELECT ON acct.accounts TO acct_reader;
ALTER TABLE acct.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_acme ON acct.accounts FOR SELECT USING (id = 1);
SET ROLE acct_reader;
SELECT id, contacts FROM lead_score."Acct_account_scores" ORDER BY id;
RESET ROLE;
ALTER TABLE acct.accounts DISABLE ROW LEVEL SECURITY;

-- Bad settings, each with its JSON path (22023).
SELECT lead_score.settings_problem('{"account_score": "avg"}');
SELECT lead_score.settings_problem('{"account_thresholds": {"PQA": "high"}}');
SELECT lead_score.settings_problem('{"account_thresholds": [200]}');
SELECT lead_score.settings_problem('{"buying_roles": 7}');
SELECT lead_score.update_profile('Acct', settings => '{"account_score": "median"}');
\echo :LAST_ERROR_SQLSTATE
-- A buying_roles column the contacts do not have: validate names it, publish refuses.
SELECT lead_score.update_profile('Acct', settings => '{"buying_roles": "persona"}');
SELECT * FROM lead_score.validate('Acct');
SELECT lead_score.publish('Acct');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.revert_draft('Acct');
-- Account scores are opt-in ("account_scores": true, or an "account_view"): attached
-- with accounts but without it, a profile has no account table, no view, and writes
-- that update no account; the option must be a boolean and needs "accounts" (22023).
SELECT lead_score.create_profile('Plain', settings => '{}') > 0 AS created;
SELECT lead_score.add_rule('Plain', 'Visit', '{"kind": "event", "event": "visit", "points": 1}') > 0 AS added;
SELECT lead_score.publish('Plain');
SELECT lead_score.attach('Plain', 'acct.contacts', 'acct.events', '{"accounts": "accounts", "view": "plain_scores"}');
SELECT a.account_view IS NULL AS no_account_view, to_regclass('lead_score."Plain_account_scores"') IS NULL AS no_view,
       to_regclass('lead_score.accounts_' || a.profile_id) IS NULL AS no_account_table
  FROM lead_score.attachment_store a JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Plain';
SELECT * FROM lead_score.verify('Plain');
SELECT lead_score.detach('Plain');
SELECT lead_score.attach('Plain', 'acct.contacts', 'acct.events', '{"accounts": "accounts", "view": "plain_scores", "account_scores": "yes"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.attach('Plain', 'acct.contacts', 'acct.events', '{"view": "plain_scores", "account_scores": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.drop_profile('Plain');
-- Account settings without account scores: attach refuses them (22023, the path).
CREATE TABLE acct.lone (id bigint PRIMARY KEY, role text);
SELECT lead_score.create_profile('NoAcct', settings => '{"account_thresholds": {"PQA": 1}}') > 0 AS created;
SELECT lead_score.add_rule('NoAcct', 'Visit', '{"kind": "event", "event": "visit", "points": 1}') > 0 AS added;
SELECT lead_score.publish('NoAcct');
SELECT lead_score.attach('NoAcct', 'acct.lone', 'acct.events');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.drop_profile('NoAcct');

-- Capped points: an account keeps each member's engagement settled as of its write,
-- worth what the score row's is from then on, without the capped parts that can no
-- longer reach their caps. Visits 10 each, at most 30 per contact (10 days' half-life),
-- the engagement at most 100. Contact 1 visits twice (20: below the cap, where decay
-- keeps it: its entry is plain terms), contact 2 six times (60, capped at 30, and
-- above 30 for another half-life: its entry keeps the capped part).
SET lead_score.now = '2024-07-01 00:00:00+00';
SELECT lead_score.create_profile('Capped', settings => '{"half_life": "10 days", "max_engagement": 100}') > 0 AS created;
SELECT lead_score.add_rule('Capped', 'Visit', '{"kind": "event", "event": "visit", "points": 10, "max_points": 30}') > 0 AS added;
SELECT lead_score.publish('Capped');
SELECT lead_score.attach('Capped', 'acct.contacts', 'acct.events', '{"accounts": "accounts", "account_scores": true, "view": "capped_scores"}');
INSERT INTO acct.events (contact_id, event_type, occurred_at)
SELECT c, 'visit', '2024-07-01' FROM (VALUES (1), (1), (2), (2), (2), (2), (2)) AS v(c);
-- One more for 2, one row (the fast path): still 30.
INSERT INTO acct.events (contact_id, event_type, occurred_at) VALUES (2, 'visit', '2024-07-01');
CREATE FUNCTION acct.capped_entries() RETURNS TABLE (contact text, entry_capped boolean, row_capped boolean, worth float8, same boolean)
LANGUAGE plpgsql AS $$
DECLARE
    ids record;
BEGIN
    SELECT a.profile_id AS id, a.state_table INTO ids FROM lead_score.attachment_store a
      JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Capped';
    RETURN QUERY EXECUTE format(
        'SELECT m.k, m.e::text::jsonb ? ''parts'' OR m.e::text::jsonb ? ''cap'', s.engagement::text::jsonb ? ''parts'',
                round(lead_score.value_at(m.e, lead_score.now())::numeric, 6)::float8,
                lead_score.same_worth(m.e, s.engagement, lead_score.now())
           FROM lead_score.%I x, unnest(x.contact_keys, x.engagements) AS m(k, e)
           JOIN lead_score.%I s ON s.contact_key = m.k::bigint
          WHERE x.account_key = 1 AND m.k IN (''1'', ''2'') ORDER BY m.k',
        'accounts_' || ids.id, ids.state_table);
END
$$;
SELECT * FROM acct.capped_entries();
SELECT id, score FROM lead_score."Capped_account_scores" WHERE id = 1;
SELECT * FROM lead_score.verify('Capped');
-- An entry worth the same now but not as it decays (2's cap taken away while it still
-- binds: 30 now, but 15 instead of 30 a half-life later) is a difference verify()
-- names; rescore() puts it right.
DO $$ BEGIN
  EXECUTE format('UPDATE lead_score.%I SET engagements[2] = %L WHERE account_key = 1',
                 (SELECT 'accounts_' || a.profile_id FROM lead_score.attachment_store a
                    JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Capped'),
                 '{"terms": [{"half_life": 864000, "anchor": ' || (extract(epoch FROM lead_score.now()) * 1e6)::bigint || ', "value": 30}]}');
END $$;
SELECT * FROM acct.capped_entries();
SELECT * FROM lead_score.verify('Capped');
SELECT lead_score.rescore('Capped') > 0 AS rescored;
SELECT * FROM lead_score.verify('Capped');
-- Eight days on, 1's visit (one row) keeps its entry plain: 20 · 2^-0.8 + 10 = 21.49.
SET lead_score.now = '2024-07-09 00:00:00+00';
INSERT INTO acct.events (contact_id, event_type, occurred_at) VALUES (1, 'visit', '2024-07-09');
SELECT * FROM acct.capped_entries();
-- Twelve days on, 2's visits are worth 60 · 2^-1.2 = 26.12, below the cap, where decay
-- keeps them: a rescore settles its entry to plain terms too.
SET lead_score.now = '2024-07-13 00:00:00+00';
SELECT lead_score.rescore('Capped') > 0 AS rescored;
SELECT * FROM acct.capped_entries();
SELECT * FROM lead_score.verify('Capped');
SELECT lead_score.drop_profile('Capped');
DROP FUNCTION acct.capped_entries();
RESET lead_score.now;

-- Detach drops the account table and view.
SELECT lead_score.detach('Acct');
SELECT to_regclass('lead_score."Acct_account_scores"') IS NULL AS view_gone,
       (SELECT count(*) FROM pg_class WHERE relname LIKE 'accounts\_%' AND relnamespace = 'lead_score'::regnamespace) AS account_tables;
SELECT lead_score.drop_profile('Acct');
DROP SCHEMA acct CASCADE;
DROP ROLE acct_reader;
