-- Point the profile at the CRM's own tables: every contact is scored from its full
-- history, and triggers keep the scores current from now on.
\echo 'Attaching profile "Demo" to crm.contacts / crm.events / crm.accounts'
SELECT clock_timestamp() AS started \gset
SELECT lead_score.attach('Demo', 'crm.contacts', 'crm.events',
                         '{"accounts": "crm.accounts", "event_props": "properties", "account_scores": true}');
SELECT (SELECT count(*) FROM lead_score."Demo_scores") AS contacts_scored,
       (SELECT count(*) FROM crm.events) AS events_read,
       round(extract(epoch FROM clock_timestamp() - :'started'::timestamptz)::numeric, 2) AS seconds;
