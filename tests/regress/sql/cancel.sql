-- Every long call can be cancelled: with a statement_timeout of 200ms, each call over a
-- workload that takes seconds without one fails with 57014 (query_canceled), and does
-- so within a second of starting (printed as a yes or no, whatever the machine's speed).
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET lead_score.now = '2024-06-01 00:00:00+00';

CREATE SCHEMA cx;
CREATE TABLE cx.contacts (id integer PRIMARY KEY, country text);
CREATE TABLE cx.events (id serial PRIMARY KEY, contact_id integer, kind text, channel text, at timestamptz);
INSERT INTO cx.contacts SELECT g, 'US' FROM generate_series(1, 100) g;
INSERT INTO cx.events (contact_id, kind, channel, at) VALUES (1, 'visit', 'web', '2024-05-31 12:00');
SELECT lead_score.create_profile('Cancel', settings => '{"half_life": "10 days"}') > 0 AS created;
-- Ten rules that each compare an event's channel with 2,000 others: each event takes
-- long enough to score that 10,000 of a contact's events take seconds.
SELECT count(lead_score.add_rule('Cancel', 'Visit ' || r, jsonb_build_object(
         'kind', 'event', 'event', 'visit', 'points', 1,
         'when', jsonb_build_object('field', 'channel', 'op', 'not_in',
                                    'value', (SELECT jsonb_agg('channel ' || c) FROM generate_series(1, 2000) c)))))
         AS rules
  FROM generate_series(1, 10) r;
SELECT count(lead_score.add_rule('Cancel', rule_name, rule::jsonb)) AS rules FROM (VALUES
  ('Recent', '{"kind": "event", "event": "visit", "points": 5, "within": "1 day"}'),
  ('First visits', '{"kind": "event", "event": "visit", "points": 10, "count": {"max": 3}}')
) AS r(rule_name, rule);
SELECT lead_score.publish('Cancel') AS version;
CREATE INDEX ON cx.events (contact_id, at);
SELECT lead_score.attach('Cancel', 'cx.contacts', 'cx.events', '{"event_type": "kind", "event_time": "at"}');
-- Contacts 1 and 2 get 10,000 events each behind the triggers' back (scoring them as
-- they come would take as long as the calls below). Contact 1 stays due at noon on June
-- 1st, when its visit of May 31st leaves the window of "Recent": tick() rescores it.
ALTER TABLE cx.events DISABLE TRIGGER USER;
INSERT INTO cx.events (contact_id, kind, channel, at)
  SELECT 1 + g % 100 / 50, 'visit', 'web', '2024-05-01'::timestamptz + g * interval '1 minute'
    FROM generate_series(1, 20000) g;
ALTER TABLE cx.events ENABLE TRIGGER USER;
SELECT format('lead_score.%I', state_table) AS state FROM lead_score.attachment_store a
  JOIN lead_score.profile_store p ON p.id = a.profile_id WHERE p.name = 'Cancel' \gset
SELECT next_due FROM :state WHERE contact_key = 1;
SELECT md5(string_agg(s::text, ',' ORDER BY s.contact_key)) AS scores_before FROM :state s \gset
CREATE TABLE cx.outcomes (id integer, converted boolean);
INSERT INTO cx.outcomes VALUES (1, true), (2, false);

-- Run `call` and say how it ended: canceled (57014) within a second of starting, or not.
CREATE FUNCTION cx.cancelled(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  EXECUTE call;
  RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
  RETURN SQLSTATE || CASE WHEN clock_timestamp() - started < interval '1 second'
                          THEN ' within a second' ELSE ' too late' END;
END
$$;

SET statement_timeout = '200ms';
SELECT cx.cancelled($$SELECT count(*) FROM lead_score.score_history('Cancel', '1', '2024-05-31 08:00', '2024-06-01', '8 hours')$$) AS score_history;
SELECT cx.cancelled($$SELECT count(*) FROM lead_score.explain('Cancel', '1')$$) AS explain;
SELECT cx.cancelled($$SELECT count(*) FROM lead_score.scores_at('Cancel', '2024-05-20')$$) AS scores_at;
SELECT cx.cancelled($$SELECT count(*) FROM lead_score.preview('Cancel', 1)$$) AS preview;
SELECT cx.cancelled($$SELECT count(*) FROM lead_score.evaluate('Cancel', 'cx.outcomes', '{"key": "id"}')$$) AS evaluate;
SELECT cx.cancelled($$SELECT lead_score.rescore('Cancel')$$) AS rescore;
SELECT cx.cancelled($$SELECT lead_score.rescore('Cancel', '2')$$) AS rescore_one;
SELECT cx.cancelled($$SELECT count(*) FROM lead_score.verify('Cancel')$$) AS verify;
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT cx.cancelled($$SELECT count(*) FROM lead_score.tick()$$) AS tick;
SET lead_score.now = '2024-06-01 00:00:00+00';
SELECT cx.cancelled($$SELECT lead_score.score_record('Cancel', '{}',
    (SELECT jsonb_agg(jsonb_build_object('event_type', 'visit', 'channel', 'web', 'at', '2024-05-01'::timestamptz + g * interval '1 minute'))
       FROM generate_series(1, 10000) g))$$) AS score_record;
RESET statement_timeout;

-- The canceled calls wrote nothing: every score row is as it was (contact 1 still due).
SELECT md5(string_agg(s::text, ',' ORDER BY s.contact_key)) = :'scores_before' AS unchanged FROM :state s;
SELECT lead_score.detach('Cancel');
DROP SCHEMA cx CASCADE;
