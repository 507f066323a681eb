#!/usr/bin/env bash
# pg_dump / pg_restore round trip of a database with an attached profile: the catalog
# (profiles, versions, rules, change log, attachments) and the scores come back equal,
# verify() is empty, and the restored triggers keep scores current.
# Run by scripts/test against its cluster (PGHOST/PGPORT/PGUSER set); prints one line.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
source_db=lead_score_dump_source
target_db=lead_score_dump_target
dump=$(mktemp /tmp/lead_score_dump.XXXXXX)
trap 'rm -f "$dump"' EXIT

"${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $source_db" -c "DROP DATABASE IF EXISTS $target_db" \
    -c "CREATE DATABASE $source_db" -c "CREATE DATABASE $target_db"
"${psql[@]}" -d "$source_db" >/dev/null <<'SQL'
CREATE EXTENSION pg_lead_score;
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (id bigint PRIMARY KEY, employees integer);
CREATE TABLE crm.contacts (id bigint PRIMARY KEY, account_id bigint REFERENCES crm.accounts, country text);
CREATE TABLE crm.events (id bigserial PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz, props jsonb);
CREATE INDEX ON crm.events (contact_id, occurred_at);
INSERT INTO crm.accounts SELECT g, g * 10 FROM generate_series(1, 20) AS g;
INSERT INTO crm.contacts SELECT g, 1 + g % 20, (ARRAY['US', 'DE'])[1 + g % 2] FROM generate_series(1, 200) AS g;
INSERT INTO crm.events (contact_id, event_type, occurred_at, props)
SELECT 1 + g % 200, (ARRAY['click', 'page_view', 'trial'])[1 + g % 3], '2024-06-01'::timestamptz - g * interval '1 hour',
       jsonb_build_object('url', CASE WHEN g % 5 = 0 THEN '/pricing' ELSE '/' END)
  FROM generate_series(1, 3000) AS g;
SELECT lead_score.create_profile('Dumped', 'survives pg_dump', '{"half_life": "30 days"}');
SELECT lead_score.add_rule('Dumped', 'US', '{"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1}');
SELECT lead_score.add_rule('Dumped', 'Big', '{"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 100}, "points": 5}');
SELECT lead_score.add_rule('Dumped', 'Click', '{"kind": "event", "event": "click", "points": 2}');
SELECT lead_score.add_rule('Dumped', 'Pricing', '{"kind": "event", "event": "page_view", "points": 3, "when": {"field": "props.url", "op": "eq", "value": "/pricing"}}');
SELECT lead_score.add_rule('Dumped', 'Trial', '{"kind": "event", "event": "trial", "points": 15, "count": "once", "half_life": null}');
SELECT lead_score.publish('Dumped');
SELECT lead_score.update_rule('Dumped', 'Click', '{"kind": "event", "event": "click", "points": 3}');
SELECT lead_score.publish('Dumped');
SELECT lead_score.add_rule('Dumped', 'Draft only', '{"kind": "event", "event": "webinar", "points": 8}');
SELECT lead_score.attach('Dumped', 'crm.contacts', 'crm.events', '{"accounts": "accounts", "event_props": "props"}');
SET lead_score.now = '2024-06-01 00:00:00+00';
SELECT lead_score.adjust('Dumped', 3::bigint, 7, 'met at the trade show', '14 days');
SELECT lead_score.adjust('Dumped', 4::bigint, -2.5, 'bounced email');
SQL

"$PG_BIN/pg_dump" -Fc -d "$source_db" -f "$dump"
"$PG_BIN/pg_restore" --exit-on-error -d "$target_db" "$dump"

# Everything users can see, in a canonical form.
snapshot() {
    SNAPSHOT_CLOCK='2024-06-02 00:00:00+00' "${psql[@]}" -At -d "$1" <<'SQL'
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT 'profile', name, description, status, active_version, has_unpublished_changes, draft_settings FROM lead_score.profiles ORDER BY name;
SELECT 'version', profile, version, is_active, rules, settings, published_by FROM lead_score.profile_versions ORDER BY 2, 3;
SELECT 'rule', profile, rule_name, version, rule FROM lead_score.rules ORDER BY 2, 3, 4 NULLS FIRST;
SELECT 'change', id, profile, action, rule_name, version FROM lead_score.profile_changes ORDER BY id;
SELECT 'attachment', profile, contacts, events, event_props, accounts, scores, scored_version FROM lead_score.attachments;
SELECT 'score', id, round(score::numeric, 9), round(fit_score::numeric, 9), disqualified_by FROM lead_score."Dumped_scores" ORDER BY id;
SELECT 'adjustment', id, profile, contact, points, half_life, points_now, reason, adjusted_at, adjusted_by FROM lead_score.adjustments ORDER BY id;
SQL
}
# Each snapshot is taken on its own, so that a failing query stops the run (a process
# substitution's failure would go unnoticed), and must hold every contact's score.
before=$(mktemp /tmp/lead_score_snapshot.XXXXXX)
after=$(mktemp /tmp/lead_score_snapshot.XXXXXX)
trap 'rm -f "$dump" "$before" "$after"' EXIT
snapshot "$source_db" >"$before"
snapshot "$target_db" >"$after"
scores=$(grep -c '^score|' "$before" || true)
if [ "$scores" -ne 200 ]; then
    echo "dump round trip: FAILED, the source snapshot holds $scores scores, not 200" >&2
    exit 1
fi
if ! diff "$before" "$after" >/dev/null; then
    diff "$before" "$after" | head -40 >&2
    echo "dump round trip: FAILED, the restored database differs" >&2
    exit 1
fi

# The restored database works: verify() is empty, triggers score new writes, and the
# catalog's sequences continue where they were (no duplicate ids).
result=$("${psql[@]}" -At -d "$target_db" <<'SQL'
SET lead_score.now = '2024-06-02 00:00:00+00';
SELECT count(*) FROM lead_score.verify('Dumped');
SELECT lead_score.score('Dumped', 1::bigint) AS before \gset
INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (1, 'click', '2024-06-02');
SELECT lead_score.score('Dumped', 1::bigint) - :before;
SELECT lead_score.add_rule('Dumped', 'After restore', '{"kind": "event", "event": "demo", "points": 1}') >
       (SELECT max(id) FROM lead_score.rule_store WHERE name <> 'After restore');
SELECT lead_score.adjust('Dumped', 5::bigint, 1, 'after restore') = 3;
SQL
)
expected=$'0\n3\nt\nt'
if [ "$result" != "$expected" ]; then
    printf 'dump round trip: FAILED after restore; got:\n%s\n' "$result" >&2
    exit 1
fi

# The schema guard came back with the extension: renaming a column a rule reads is
# refused (2BP01). A restore over a database that holds the attachment, dropping each
# object before it restores it (pg_restore --clean), still works: the guard lets a
# table go once the profile's triggers are gone, and the database is as dumped.
guard=$("${psql[@]}" -d "$target_db" -v VERBOSITY=sqlstate \
    -c "ALTER TABLE crm.contacts RENAME COLUMN country TO country_code" 2>&1 || true)
if [ "$guard" != "ERROR:  2BP01" ]; then
    printf 'dump round trip: FAILED, the restored schema guard let a rename through; got:\n%s\n' "$guard" >&2
    exit 1
fi
"$PG_BIN/pg_dump" -Fc -d "$source_db" -f "$dump"
"$PG_BIN/pg_restore" --clean --if-exists --exit-on-error -d "$source_db" "$dump"
snapshot "$source_db" >"$after"
if ! diff "$before" "$after" >/dev/null; then
    diff "$before" "$after" | head -40 >&2
    echo "dump round trip: FAILED, pg_restore --clean changed the database" >&2
    exit 1
fi
"${psql[@]}" -d postgres -c "DROP DATABASE $source_db" -c "DROP DATABASE $target_db"
echo "dump round trip: ok"
