-- Profiles: draft, validate, publish, version, revert; every error names the profile,
-- the rule and the JSON path, carries a proper SQLSTATE, and changes nothing.
\set SHOW_CONTEXT never
\set VERBOSITY default

-- A fingerprint of the whole catalog, to show that failed calls leave it as it was.
CREATE FUNCTION pg_temp.catalog_fingerprint() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(format('%s/%s/%s/%s', name, description, draft_settings, active_version), ',' ORDER BY name) FROM lead_score.profiles),
        (SELECT string_agg(format('%s/%s/%s', profile, rule_name, rule), ',' ORDER BY profile, rule_name, version) FROM lead_score.rules),
        (SELECT string_agg(format('%s/%s', profile, version), ',' ORDER BY profile, version) FROM lead_score.profile_versions),
        (SELECT count(*) FROM lead_score.profile_changes)))
$$;

-- Create: a new profile is a draft with no rules.
SELECT lead_score.create_profile('Enterprise', 'Big accounts', '{"half_life": "45 days", "pql_threshold": 60}') > 0 AS created;
SELECT lead_score.create_profile('SMB') > 0 AS created;
SELECT name, description, status, active_version, has_unpublished_changes, draft_rules, draft_settings
  FROM lead_score.profiles ORDER BY name;

-- Rules go into the draft.
SELECT lead_score.add_rule('Enterprise', 'Target country',
    '{"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}') > 0 AS added;
SELECT lead_score.add_rule('Enterprise', 'Big company',
    '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}') > 0 AS added;
SELECT lead_score.add_rule('Enterprise', 'Pricing page',
    '{"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"}, "points": 3, "half_life": "14 days"}') > 0 AS added;
SELECT profile, rule_name, version, is_draft, is_active, kind FROM lead_score.rules ORDER BY profile, rule_name;

-- validate() is empty when the draft is publishable; publish() returns the version.
SELECT * FROM lead_score.validate('Enterprise');
SELECT lead_score.publish('Enterprise') AS version;
SELECT name, status, active_version, has_unpublished_changes FROM lead_score.profiles WHERE name = 'Enterprise';
SELECT profile, version, is_active, rules, settings FROM lead_score.profile_versions;

-- Editing a published profile edits its draft; version 1 keeps its rules.
SELECT lead_score.update_rule('Enterprise', 'Big company',
    '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 100}, "points": 15}');
SELECT lead_score.remove_rule('Enterprise', 'Target country');
SELECT lead_score.update_profile('Enterprise', settings => '{"pql_threshold": 80}');
SELECT name, active_version, has_unpublished_changes, draft_settings FROM lead_score.profiles WHERE name = 'Enterprise';
SELECT rule_name, version, rule -> 'points' AS points FROM lead_score.rules
 WHERE profile = 'Enterprise' ORDER BY version NULLS FIRST, rule_name;

-- Publishing again makes version 2 active; version 1 stays readable.
SELECT lead_score.publish('Enterprise') AS version;
SELECT profile, version, is_active, rules, settings FROM lead_score.profile_versions ORDER BY version;
-- Publishing with nothing changed keeps the active version.
SELECT lead_score.publish('Enterprise') AS version;

-- Reverting the draft to version 1 and publishing rolls back (as version 3).
SELECT lead_score.revert_draft('Enterprise', 1);
SELECT name, active_version, has_unpublished_changes, draft_settings FROM lead_score.profiles WHERE name = 'Enterprise';
SELECT lead_score.publish('Enterprise') AS version;
SELECT rule_name, rule -> 'points' AS points FROM lead_score.rules WHERE profile = 'Enterprise' AND version = 3 ORDER BY 1;

-- Renaming and describing take effect at once; a null setting goes back to its default.
SELECT lead_score.update_profile('SMB', new_name => 'Small business', description => 'Under 25 people');
SELECT lead_score.update_profile('Small business', settings => '{"half_life": "7 days", "pql_tag": "Hot"}');
SELECT lead_score.update_profile('Small business', settings => '{"pql_tag": null}');
SELECT name, description, draft_settings FROM lead_score.profiles WHERE name = 'Small business';

-- Published versions are immutable, even for the owner writing the tables directly.
UPDATE lead_score.rule_store SET body = '{}' WHERE version = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE lead_score.version_store SET settings = '{}';
\echo :LAST_ERROR_SQLSTATE

-- Errors: each names what is at fault, has a proper SQLSTATE, and changes nothing.
SELECT pg_temp.catalog_fingerprint() AS before \gset

SELECT lead_score.add_rule('Enterprise', 'Big company',
    '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": "abc"}, "points": 10}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Odd', '{"kind": "bonus", "points": 10}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Odd', '{"kind": "fit", "when": {"field": "x", "op": "resembles", "value": 1}, "points": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Odd', '{"kind": "fit", "when": {"field": "x", "op": "eq", "value": 1}, "points": 1, "weight": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Odd', '{"kind": "fit", "when": {"field": "x", "op": "matches", "value": "(a"}, "points": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Odd', '{"kind": "event", "event": "x", "points": 1, "within": "a while"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Odd', '{"kind": "event", "event": "x", "points": 1, "half_life": "0 days"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Odd', '{"kind": "fit", "when": {"field": "x", "op": "in", "value": []}, "points": 1}');
\echo :LAST_ERROR_SQLSTATE
-- duplicate rule name
SELECT lead_score.add_rule('Enterprise', 'Big company',
    '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}');
\echo :LAST_ERROR_SQLSTATE
-- unknown profile, unknown rule
SELECT lead_score.add_rule('Nope', 'A rule', '{"kind": "fit", "when": {"field": "x", "op": "eq", "value": 1}, "points": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_rule('Enterprise', 'No such rule', '{"kind": "fit", "when": {"field": "x", "op": "eq", "value": 1}, "points": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.remove_rule('Enterprise', 'No such rule');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.publish('Nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lead_score.validate('Nope');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.drop_profile('Nope');
\echo :LAST_ERROR_SQLSTATE
-- bad names and NULLs
SELECT lead_score.create_profile('Enterprise');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile('  ');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile(' Padded');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile(repeat('x', 64));
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.create_profile(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', '', '{"kind": "fit", "when": {"field": "x", "op": "eq", "value": 1}, "points": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.add_rule('Enterprise', 'Null rule', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Enterprise', new_name => 'Small business');
\echo :LAST_ERROR_SQLSTATE
-- bad settings
SELECT lead_score.create_profile('Broken', settings => '{"half_life": "0 days"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Enterprise', settings => '{"pql_treshold": 50}');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.update_profile('Enterprise', settings => '"fast"');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_fingerprint() = :'before' AS catalog_unchanged;

-- publishing an empty profile; reverting a never-published one; a missing version
SELECT lead_score.create_profile('Empty') > 0 AS created;
SELECT pg_temp.catalog_fingerprint() AS before \gset
SELECT * FROM lead_score.validate('Empty');
SELECT lead_score.publish('Empty');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.revert_draft('Empty');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.revert_draft('Enterprise', 42);
\echo :LAST_ERROR_SQLSTATE

SELECT pg_temp.catalog_fingerprint() = :'before' AS catalog_unchanged;

-- A draft rule that became invalid (here: written around the editing functions, as a
-- restore from an older dump might) is reported by validate() and blocks publish.
UPDATE lead_score.rule_store SET body = '{"kind": "fit", "when": {"field": "x", "op": "gte", "value": "abc"}, "points": 1}'
 WHERE version IS NULL AND name = 'Big company';
SELECT * FROM lead_score.validate('Enterprise');
SELECT lead_score.publish('Enterprise');
\echo :LAST_ERROR_SQLSTATE
SELECT lead_score.revert_draft('Enterprise');

-- The change log says who changed what, and when.
SELECT profile, action, rule_name, version, by = current_user AS by_me
  FROM lead_score.profile_changes ORDER BY id;

-- Dropping a profile removes its versions and rules; the log keeps the story.
SELECT lead_score.drop_profile('Empty');
SELECT lead_score.drop_profile('Small business');
SELECT name FROM lead_score.profiles ORDER BY 1;
SELECT count(*) AS orphan_rules FROM lead_score.rule_store r
 WHERE NOT EXISTS (SELECT FROM lead_score.profile_store p WHERE p.id = r.profile_id);
SELECT profile, action FROM lead_score.profile_changes WHERE action = 'drop_profile' ORDER BY id;

-- Templates: every suggestion is a valid rule and can be added with one statement.
SELECT rule_name, rule ->> 'kind' AS kind, rule -> 'points' AS points, lead_score.rule_problem(rule) AS problem
  FROM lead_score.suggested_rules();
SELECT lead_score.create_profile('From templates') > 0 AS created;
SELECT count(lead_score.add_rule('From templates', rule_name, rule)) AS added
  FROM lead_score.suggested_rules();
SELECT lead_score.publish('From templates') AS version;
SELECT kind, count(*) FROM lead_score.rules WHERE profile = 'From templates' AND version = 1 GROUP BY 1 ORDER BY 1;
