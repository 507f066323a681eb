-- Detach every profile whose tables all still exist, and attach it again with the same
-- options (as attachment_store records them): what a fresh attach() makes, for
-- profile_objects.sql to compare with what the update left.
SET search_path = pg_catalog;
SET lead_score.now = '2024-06-02 00:00:00+00';
DO $$
DECLARE
    a record;
    options jsonb;
BEGIN
    FOR a IN SELECT s.*, p.name AS profile
               FROM lead_score.attachment_store s JOIN lead_score.profile_store p ON p.id = s.profile_id
              WHERE to_regclass(s.contacts::oid::regclass::text) IS NOT NULL
                AND to_regclass(s.events::oid::regclass::text) IS NOT NULL
                AND (s.accounts IS NULL OR to_regclass(s.accounts::oid::regclass::text) IS NOT NULL)
              ORDER BY s.profile_id
    LOOP
        options := jsonb_strip_nulls(jsonb_build_object(
            'contact_key', a.contact_key, 'event_contact', a.event_contact, 'event_type', a.event_type,
            'event_time', a.event_time, 'event_props', a.event_props, 'accounts', a.accounts::text,
            'contact_account', a.contact_account, 'account_key', a.account_key, 'view', a.view_name,
            'account_view', a.account_view));
        PERFORM lead_score.detach(a.profile);
        PERFORM lead_score.attach(a.profile, a.contacts, a.events, options);
    END LOOP;
END
$$;
