-- lead_score.schedule() registers tick() with pg_cron, and pg_cron runs it: a contact
-- whose only event is dated two seconds ahead is tagged by the scheduled tick, on the
-- real clock (pg_cron's sessions do not see this session's settings).
\set SHOW_CONTEXT never
CREATE EXTENSION pg_cron;
CREATE EXTENSION pg_lead_score;

CREATE TABLE contacts (id bigint PRIMARY KEY);
CREATE TABLE events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
CREATE INDEX ON events (contact_id);
INSERT INTO contacts VALUES (1), (2);
SELECT lead_score.create_profile('Cron', settings => '{"pql_threshold": 5}') > 0 AS created;
SELECT lead_score.add_rule('Cron', 'Trial started', '{"kind": "event", "event": "trial", "points": 5, "half_life": null}') > 0 AS added;
SELECT lead_score.publish('Cron');
SELECT lead_score.attach('Cron', 'contacts', 'events');

-- A future-dated event counts from its own time on: nothing yet.
INSERT INTO events (contact_id, event_type, occurred_at) VALUES (1, 'trial', now() + interval '2 seconds');
SELECT id, score, is_pql FROM lead_score."Cron_scores" ORDER BY id;

SELECT lead_score.schedule('1 minute') > 0 AS scheduled;
SELECT jobname, schedule, command, database, active FROM cron.job;
-- Scheduling again replaces the job rather than adding a second one.
SELECT lead_score.schedule('1 minute') > 0 AS scheduled_again;
SELECT count(*) AS jobs FROM cron.job;

-- pg_cron 1.4 starts jobs at whole minutes: wait up to two of them for the tag, and for
-- pg_cron to record the run's end (it does so after the job's own transaction commits).
DO $$
BEGIN
    FOR attempt IN 1..130 LOOP
        EXIT WHEN EXISTS (SELECT FROM lead_score.transitions WHERE profile = 'Cron' AND source = 'tick')
              AND NOT EXISTS (SELECT FROM cron.job_run_details WHERE status IN ('starting', 'running'));
        PERFORM pg_sleep(1);
    END LOOP;
END
$$;
SELECT contact, kind, tag, score, reason, source FROM lead_score.transitions WHERE profile = 'Cron' ORDER BY id;
SELECT id, score, is_pql, tags FROM lead_score."Cron_scores" ORDER BY id;
SELECT status, return_message FROM cron.job_run_details ORDER BY runid LIMIT 1;

SELECT lead_score.unschedule() AS unscheduled;
SELECT count(*) AS jobs FROM cron.job;
