-- Deterministic sample data: the same seed gives the same CRM, row for row.
-- psql variables: seed (default 42), contacts (10000), accounts (1000), events (200000).
-- Randomness comes from hashing (row number, stream, seed), not from random(), so the
-- result does not depend on execution order or parallel workers. Times are offsets
-- from the start of the current hour, spread over the last 180 days.
\if :{?seed}
\else
\set seed 42
\endif
\if :{?contacts}
\else
\set contacts 10000
\endif
\if :{?accounts}
\else
\set accounts 1000
\endif
\if :{?events}
\else
\set events 200000
\endif

-- A uniform number in [0, 1) for row n of random stream s. The seed is baked into the
-- body (psql does not expand variables inside dollar quotes) to keep it IMMUTABLE.
SELECT format($create$
    CREATE FUNCTION crm.rnd(n bigint, s integer) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $body$ SELECT (hashint8extended(n, s::bigint * 1000003 + %s) & 9007199254740991)::float8
                     / 9007199254740992 $body$ $create$, :seed::bigint)
\gexec

-- Element of a weighted list: items[i] is picked with probability weights[i]/sum(weights).
CREATE FUNCTION crm.pick(items text[], weights float8[], r float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT items[i] FROM (
        SELECT i, sum(weights[i]) OVER (ORDER BY i) / sum(weights[i]) OVER () AS upto
          FROM generate_subscripts(weights, 1) AS i) cumulative
     WHERE r < upto ORDER BY i LIMIT 1
$$;

CREATE TEMP TABLE anchor AS SELECT date_trunc('hour', now()) AS t;

INSERT INTO crm.accounts (id, name, domain, industry, employees, country, created_at)
SELECT n,
       name,
       lower(regexp_replace(name, '[^A-Za-z]', '', 'g')) || '.example',
       crm.pick('{Software,Financial Services,Healthcare,Manufacturing,Retail,Education,Logistics,Media,Government,Non-profit}',
                '{24,14,12,12,10,8,7,6,4,3}', crm.rnd(n, 3)),
       -- Log-uniform between 1 and 20 000: many small companies, a few large ones.
       greatest(1, round(exp(crm.rnd(n, 4) * ln(20000))))::integer,
       crm.pick('{US,UK,DE,FR,CA,AU,NL,IN,BR,JP}', '{40,12,10,7,6,5,4,6,5,5}', crm.rnd(n, 5)),
       (SELECT t FROM anchor) - interval '3 years' * crm.rnd(n, 6)
  FROM generate_series(1, :accounts) AS n,
       LATERAL (SELECT (ARRAY['Acme','Globex','Initech','Umbrella','Stark','Wayne','Hooli','Vandelay',
                              'Soylent','Tyrell','Cyberdyne','Wonka','Gringotts','Monarch','Oscorp',
                              'Aperture','Massive','Nakatomi','Pied Piper','Dunder'])[1 + floor(crm.rnd(n, 1) * 20)::int]
                    || ' '
                    || (ARRAY['Systems','Labs','Logistics','Health','Foods','Analytics','Capital','Robotics',
                              'Media','Energy','Software','Retail'])[1 + floor(crm.rnd(n, 2) * 12)::int]
                    || ' ' || n AS name) named;

INSERT INTO crm.contacts (id, account_id, first_name, last_name, email, job_title, role,
                          is_decision_maker, country, lifecycle_stage, created_at)
SELECT n, a.id, first_name, last_name,
       lower(first_name || '.' || last_name || n) || '@' || a.domain,
       job_title, role,
       role IN ('c_level', 'vp') OR (role = 'director' AND crm.rnd(n, 14) < 0.4),
       CASE WHEN crm.rnd(n, 15) < 0.8 THEN a.country
            ELSE crm.pick('{US,UK,DE,FR,CA,AU,NL,IN,BR,JP}', '{40,12,10,7,6,5,4,6,5,5}', crm.rnd(n, 16)) END,
       crm.pick('{subscriber,lead,mql,sql,customer}', '{30,40,15,10,5}', crm.rnd(n, 17)),
       (SELECT t FROM anchor) - interval '400 days' * crm.rnd(n, 18)
  FROM generate_series(1, :contacts) AS n
  JOIN crm.accounts a ON a.id = 1 + floor(crm.rnd(n, 10) * :accounts)::bigint
  CROSS JOIN LATERAL (SELECT
       (ARRAY['Ada','Grace','Alan','Linus','Margaret','Ken','Barbara','Dennis','Frances','Edsger',
              'Radia','Tim','Sophie','Guido','Hedy','Donald','Katherine','John','Mary','Niklaus',
              'Yukihiro','Anita','Vint','Shafi'])[1 + floor(crm.rnd(n, 11) * 24)::int] AS first_name,
       (ARRAY['Lovelace','Hopper','Turing','Torvalds','Hamilton','Thompson','Liskov','Ritchie','Allen',
              'Dijkstra','Perlman','Berners-Lee','Wilson','van Rossum','Lamarr','Knuth','Johnson',
              'McCarthy','Jackson','Wirth','Matsumoto','Borg','Cerf','Goldwasser'])[1 + floor(crm.rnd(n, 12) * 24)::int] AS last_name,
       crm.pick('{CEO,CTO,CFO,VP Sales,VP Engineering,Head of Marketing,Director of IT,Engineering Manager,Marketing Manager,Software Engineer,Data Analyst,Consultant,Intern,Student}',
                '{3,3,2,5,5,6,8,10,10,18,15,5,5,5}', crm.rnd(n, 13)) AS job_title) person
  CROSS JOIN LATERAL (SELECT CASE
       WHEN job_title IN ('CEO', 'CTO', 'CFO') THEN 'c_level'
       WHEN job_title LIKE 'VP %' OR job_title LIKE 'Head of %' THEN 'vp'
       WHEN job_title LIKE 'Director %' THEN 'director'
       WHEN job_title LIKE '% Manager' THEN 'manager'
       WHEN job_title IN ('Intern', 'Student') THEN 'student'
       ELSE 'individual' END AS role) roles;

-- Activity is skewed the way real engagement is: a few contacts are very busy, most are
-- quiet, and 30% never did anything. k**1.3 piles rows onto small k; multiplying by a prime coprime with the contact
-- count scatters those busy contacts over the id range. Recent days are busier.
INSERT INTO crm.events (contact_id, event_type, occurred_at, properties)
SELECT contact_id, event_type,
       (SELECT t FROM anchor) - interval '180 days' * power(crm.rnd(n, 22), 1.4)
                              - interval '1 second' * floor(crm.rnd(n, 23) * 3600),
       CASE event_type
         WHEN 'page_view' THEN jsonb_build_object(
             'url', crm.pick('{/,/blog/lead-scoring-101,/blog/decay-explained,/docs,/pricing,/product/crm,/product/analytics,/careers,/customers}',
                             '{20,12,8,15,12,12,8,6,7}', crm.rnd(n, 24)),
             'duration_s', floor(crm.rnd(n, 25) * 600)::int)
         WHEN 'form_submit' THEN jsonb_build_object(
             'form', crm.pick('{newsletter,contact_us,pricing_quote,ebook}', '{40,20,15,25}', crm.rnd(n, 26)))
         WHEN 'webinar_attended' THEN jsonb_build_object(
             'title', crm.pick('{Scoring in SQL,Pipeline reviews that work,Decay explained}', '{1,1,1}', crm.rnd(n, 27)))
         WHEN 'email_open' THEN jsonb_build_object('campaign', 'nurture-' || (1 + floor(crm.rnd(n, 28) * 12))::int)
         WHEN 'email_click' THEN jsonb_build_object('campaign', 'nurture-' || (1 + floor(crm.rnd(n, 28) * 12))::int)
         ELSE '{}'::jsonb
       END
  FROM generate_series(1, :events) AS n
  CROSS JOIN LATERAL (SELECT
       (floor(power(crm.rnd(n, 20), 1.3) * :contacts * 0.7)::bigint * 7919) % :contacts + 1 AS contact_id,
       crm.pick('{email_open,page_view,email_click,email_reply,form_submit,webinar_attended,trial_signup,project_created,call_booked,demo_cancelled,unsubscribed,content_download}',
                '{34,30,12,3,5,4,2,4,2,1,1,2}', crm.rnd(n, 21)) AS event_type) e;

ANALYZE crm.accounts, crm.contacts, crm.events;

-- Outcomes: which contacts converted, decided 30 days before the anchor, drawn from a
-- planted logistic model over what was known then (events up to that day, halving
-- every 30 days):
--   logit p = -3.2 + 1.1·[role is c_level or vp] + 0.6·[decision maker]
--             + 0.8·[account with 200+ employees] - 2.0·[role is student]
--             + 1.0·ln(1 + trials and projects) + 0.6·ln(1 + pricing page views)
-- A hash of the id splits the contacts 70/15/15 into train, valid and test.
CREATE TABLE crm.outcomes (
    contact_id           bigint PRIMARY KEY REFERENCES crm.contacts,
    converted            boolean NOT NULL,
    decided_at           timestamptz NOT NULL,
    split                text NOT NULL,
    planted_probability  float8 NOT NULL
);
INSERT INTO crm.outcomes
SELECT c.id, crm.rnd(c.id, 40) < p, d.at,
       CASE WHEN crm.rnd(c.id, 41) < 0.70 THEN 'train' WHEN crm.rnd(c.id, 41) < 0.85 THEN 'valid' ELSE 'test' END,
       p
  FROM crm.contacts c
  JOIN crm.accounts a ON a.id = c.account_id
 CROSS JOIN (SELECT t - interval '30 days' AS at FROM anchor) d
 CROSS JOIN LATERAL (
       SELECT coalesce(sum(power(2, -extract(epoch FROM d.at - e.occurred_at) / (30 * 86400)))
                         FILTER (WHERE e.event_type IN ('trial_signup', 'project_created')), 0) AS product,
              coalesce(sum(power(2, -extract(epoch FROM d.at - e.occurred_at) / (30 * 86400)))
                         FILTER (WHERE e.event_type = 'page_view' AND e.properties ->> 'url' = '/pricing'), 0) AS pricing
         FROM crm.events e WHERE e.contact_id = c.id AND e.occurred_at <= d.at) ev
 CROSS JOIN LATERAL (
       SELECT 1 / (1 + exp(-(-3.2 + 1.1 * (c.role IN ('c_level', 'vp'))::int + 0.6 * c.is_decision_maker::int
                                  + 0.8 * (a.employees >= 200)::int - 2.0 * (c.role = 'student')::int
                                  + 1.0 * ln(1 + ev.product) + 0.6 * ln(1 + ev.pricing)))) AS p) model;
ANALYZE crm.outcomes;
