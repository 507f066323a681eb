#!/usr/bin/env bash
# Scoring on a logical-replication subscriber: the CRM's tables published by one
# database and subscribed to by another of the same cluster (its own, with
# wal_level = logical), where a profile is attached. The apply worker writes with
# session_replication_role = replica; attach's triggers are ENABLE ALWAYS, so its
# replicated inserts, updates and deletes (and the initial copy) keep the scores exact:
# the scores equal those of the same profile attached on the publisher, and verify()
# is empty on the subscriber after each step. Prints "ok: ..." lines, or "FAILED: ...".
# Run by scripts/test (sources scripts/lib/common.sh for the cluster helpers).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/lib/common.sh
source "$REPO_ROOT/scripts/lib/common.sh"
REPLICATION_PORT=54332
cluster_stop replication --remove
trap 'cluster_stop replication --remove' EXIT
cluster_start replication "$REPLICATION_PORT" "wal_level = logical" "max_replication_slots = 4" \
    "max_wal_senders = 4" "max_logical_replication_workers = 4"
psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
failures=0
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1: expected '$2', got '$3'"; failures=$((failures + 1)); fi
}

"${psql[@]}" -d postgres -c "CREATE DATABASE crm_primary" -c "CREATE DATABASE crm_subscriber"
schema='
CREATE TABLE contacts (id bigint PRIMARY KEY, country text);
CREATE TABLE events (id bigint PRIMARY KEY, contact_id bigint, event_type text, occurred_at timestamptz);
'
profile="
CREATE EXTENSION pg_lead_score;
SELECT lead_score.create_profile('Replicated', settings => '{\"half_life\": \"10 days\", \"pql_threshold\": 20}');
SELECT lead_score.add_rule('Replicated', 'US', '{\"kind\": \"fit\", \"when\": {\"field\": \"country\", \"op\": \"eq\", \"value\": \"US\"}, \"points\": 5}');
SELECT lead_score.add_rule('Replicated', 'Visit', '{\"kind\": \"event\", \"event\": \"visit\", \"points\": 3}');
SELECT lead_score.add_rule('Replicated', 'Demo', '{\"kind\": \"event\", \"event\": \"demo\", \"points\": 20, \"half_life\": null}');
SELECT lead_score.publish('Replicated');
SELECT lead_score.attach('Replicated', 'contacts', 'events');
"
"${psql[@]}" -d crm_primary -c "$schema" >/dev/null
"${psql[@]}" -d crm_primary >/dev/null <<'SQL'
INSERT INTO contacts SELECT g, (ARRAY['US', 'DE'])[1 + g % 2] FROM generate_series(1, 50) AS g;
INSERT INTO events SELECT g, 1 + g % 50, (ARRAY['visit', 'visit', 'demo'])[1 + g % 3], '2024-06-01'::timestamptz - g * interval '3 hours'
  FROM generate_series(1, 400) AS g;
CREATE PUBLICATION crm FOR TABLE contacts, events;
SELECT pg_create_logical_replication_slot('crm_subscriber', 'pgoutput');
SQL
# The subscriber: the same tables, the profile attached before the subscription's
# initial copy (which its triggers score too), and the same profile on the primary,
# whose scores are the reference.
"${psql[@]}" -d crm_subscriber -c "$schema" -c "$profile" >/dev/null
"${psql[@]}" -d crm_primary -c "$profile" >/dev/null
modes=$("${psql[@]}" -At -d crm_subscriber -c "SELECT string_agg(tgenabled::text || ':' || n, ' ' ORDER BY tgenabled)
    FROM (SELECT tgenabled, count(*) AS n FROM pg_trigger WHERE tgname LIKE 'lead_score%'
             AND tgrelid IN ('contacts'::regclass, 'events'::regclass) GROUP BY 1) m")
check "attach's triggers on the subscriber: 2 for both (truncate), 6 for the CRM's writes, 6 for replicated ones" \
    "A:2 O:6 R:6" "$modes"
"${psql[@]}" -d crm_subscriber -c "CREATE SUBSCRIPTION crm
    CONNECTION 'host=$PGHOST port=$PGPORT dbname=crm_primary user=postgres'
    PUBLICATION crm WITH (create_slot = false, slot_name = 'crm_subscriber')" >/dev/null

# wait_for SQL EXPECTED: poll the subscriber until SQL returns EXPECTED (30 s at most).
wait_for() {
    local got=""
    for _ in $(seq 1 150); do
        got=$("${psql[@]}" -At -d crm_subscriber -c "$1")
        [ "$got" = "$2" ] && return 0
        sleep 0.2
    done
    echo "FAILED: waiting for replication: '$1' gave '$got', expected '$2'"
    return 1
}
compare() { # compare STEP: the subscriber's scores equal the primary's, verify() empty
    local primary subscriber stale
    primary=$("${psql[@]}" -At -d crm_primary -c "SET lead_score.now = '2024-06-02'" -c "SELECT string_agg(id || ':' || round(score::numeric, 9) || ':' || is_pql, ' ' ORDER BY id) FROM lead_score.\"Replicated_scores\"")
    subscriber=$("${psql[@]}" -At -d crm_subscriber -c "SET lead_score.now = '2024-06-02'" -c "SELECT string_agg(id || ':' || round(score::numeric, 9) || ':' || is_pql, ' ' ORDER BY id) FROM lead_score.\"Replicated_scores\"")
    check "$1: the subscriber's scores equal the primary's" "$primary" "$subscriber"
    stale=$("${psql[@]}" -At -d crm_subscriber -c "SET lead_score.now = '2024-06-02'" -c "SELECT count(*) FROM lead_score.verify('Replicated')")
    check "$1: verify() on the subscriber is empty" 0 "$stale"
}

wait_for "SELECT count(*) FROM events" 400
wait_for "SELECT count(*) FROM contacts" 50
compare "initial copy"

# Replicated writes: single-row and multi-row inserts, an update moving an event to
# another contact, a delete, a contact update (its fit), a new contact with events.
"${psql[@]}" -d crm_primary >/dev/null <<'SQL'
INSERT INTO events VALUES (1001, 1, 'demo', '2024-06-01 12:00');
INSERT INTO events SELECT 1001 + g, 2 + g % 5, 'visit', '2024-06-01 13:00' FROM generate_series(1, 20) AS g;
UPDATE events SET contact_id = 7 WHERE id = 3;
DELETE FROM events WHERE id = 6;
UPDATE contacts SET country = 'US' WHERE id = 2;
INSERT INTO contacts VALUES (51, 'US');
INSERT INTO events VALUES (2001, 51, 'demo', '2024-06-01 14:00');
SQL
wait_for "SELECT count(*) FROM events WHERE id = 2001" 1
wait_for "SELECT count(*) FROM events WHERE id = 6" 0
compare "replicated writes"

# A row trigger disabled on the subscriber: verify() names it, and the contact a
# replicated event then left stale; enabled again and rescored, nothing is stale.
"${psql[@]}" -d crm_subscriber -c "ALTER TABLE events DISABLE TRIGGER lead_score_1_events_insert_replicated" >/dev/null
"${psql[@]}" -d crm_primary -c "INSERT INTO events VALUES (3001, 9, 'demo', '2024-06-01 15:00')" >/dev/null
wait_for "SELECT count(*) FROM events WHERE id = 3001" 1
skipped=$("${psql[@]}" -At -d crm_subscriber -c "SET lead_score.now = '2024-06-02'" \
    -c "SELECT string_agg(contact || ' | ' || difference, '; ' ORDER BY contact) FROM lead_score.verify('Replicated')")
check "verify() names a row trigger disabled, and the contact its replicated write left stale" \
    "9 | score, tally; table public.events | triggers skip replication" "$skipped"
"${psql[@]}" -d crm_subscriber -c "ALTER TABLE events ENABLE REPLICA TRIGGER lead_score_1_events_insert_replicated" \
    -c "SELECT lead_score.rescore('Replicated')" >/dev/null
compare "enabled again and rescored"

"${psql[@]}" -d crm_subscriber -c "DROP SUBSCRIPTION crm" >/dev/null
"${psql[@]}" -d postgres -c "DROP DATABASE crm_subscriber" -c "DROP DATABASE crm_primary" >/dev/null
[ "$failures" -eq 0 ]
