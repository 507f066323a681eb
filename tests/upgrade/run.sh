#!/usr/bin/env bash
# The update test: a database made with release 0.1.0 is updated in place with
# ALTER EXTENSION pg_lead_score UPDATE, and one dumped from 0.1.0 is restored into the
# current version. Nothing stored is lost, verify() is empty, writes, publish and tick()
# keep working, and the extension's objects are exactly those of a fresh install.
# On PostgreSQL 15, 0.1.0 is built once from its commit (exported with git archive) and
# cached in ~/.cache/pg_lead_score. 0.1.0 was never built for newer versions: there the
# database is made with 0.1.0's install script (sql/pg_lead_score--0.1.0.sql) on the
# current library, which keeps every symbol that script names. Installs files into the
# Postgres being tested (root). Run by
# scripts/test against its cluster (PGHOST/PGPORT/PGUSER set); prints one line per check
# as "ok: ..." or "FAILED: ...", and exits non-zero when any failed.
set -euo pipefail
shopt -s inherit_errexit
source "$(dirname "$0")/../../scripts/lib/common.sh"
cd "$REPO_ROOT"

OLD_VERSION=0.1.0
OLD_COMMIT=e6c9618
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pg_lead_score
old_src=$cache/v$OLD_VERSION-src
old_target=$cache/v$OLD_VERSION-target
package=$old_target/release/pg_lead_score-pg$PG_MAJOR
psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
work=$(mktemp -d /tmp/lead_score_upgrade.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
failures=0
check() { # check NAME COMMAND...: run it, say ok or FAILED
    local name=$1
    shift
    if "$@" >"$work/check.log" 2>&1; then
        echo "ok: $name"
    else
        echo "FAILED: $name"
        head -40 "$work/check.log" >&2
        failures=$((failures + 1))
    fi
}

# Release 0.1.0, built from its commit once (PostgreSQL 15 only).
if [ "$PG_MAJOR" = 15 ] && [ ! -f "$package$("$PG_CONFIG" --pkglibdir)/pg_lead_score.so" ]; then
    say "building release $OLD_VERSION from $OLD_COMMIT (cached in $cache)"
    rm -rf "$old_src"
    mkdir -p "$old_src"
    git -C "$REPO_ROOT" archive "$OLD_COMMIT" | tar -x -C "$old_src"
    (cd "$old_src" && CARGO_TARGET_DIR=$old_target cargo pgrx package --pg-config "$PG_CONFIG" >&2)
fi
old_script=$package$("$PG_CONFIG" --sharedir)/extension/pg_lead_score--$OLD_VERSION.sql
if [ "$PG_MAJOR" = 15 ]; then
    check "sql/pg_lead_score--$OLD_VERSION.sql is what $OLD_COMMIT generates" \
        cmp "$old_script" "sql/pg_lead_score--$OLD_VERSION.sql"
fi

install_old() {
    if [ "$PG_MAJOR" = 15 ]; then
        as_root cp "$package$("$PG_CONFIG" --pkglibdir)/pg_lead_score.so" "$("$PG_CONFIG" --pkglibdir)/"
        as_root cp "$package$("$PG_CONFIG" --sharedir)"/extension/* "$("$PG_CONFIG" --sharedir)/extension/"
    else
        install_new
        as_root cp "sql/pg_lead_score--$OLD_VERSION.sql" "$("$PG_CONFIG" --sharedir)/extension/"
    fi
}
install_new() {
    install_extension debug >&2
}
fresh_db() {
    "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >&2
}
snapshot() { "${psql[@]}" -d "$1" -f tests/upgrade/snapshot.sql >"$2"; }
describe() { "${psql[@]}" -d "$1" -f tests/upgrade/describe.sql >"$2"; }
all_true() { # all_true DB FILE: every line of FILE's output ends in |t
    "${psql[@]}" -d "$1" -f "$2" >"$work/out" && cat "$work/out" &&
        [ -s "$work/out" ] && ! grep -v '|t$' "$work/out"
}

say "update test (PostgreSQL $PG_MAJOR): a CRM scored by $OLD_VERSION"
install_old
fresh_db lead_score_upgrade
"${psql[@]}" -d lead_score_upgrade -f tests/upgrade/before.sql >"$work/before.log"
snapshot lead_score_upgrade "$work/made"
"$PG_BIN/pg_dump" -Fc -d lead_score_upgrade -f "$work/dump"
check "the $OLD_VERSION database has scores, tags, disqualifications and transitions" \
    grep -q "tagged.*|tick\|disqualified" "$work/made"

say "update test: the new library under $OLD_VERSION's SQL"
install_new
check "$OLD_VERSION's SQL runs on the new library (writes, rescore, verify, score)" \
    "${psql[@]}" -d lead_score_upgrade -c "SET lead_score.now = '2024-06-01'" \
    -c "INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (30, 'demo', '2024-06-01')" \
    -c "SELECT lead_score.rescore('Sales')" \
    -c "DO \$\$ BEGIN IF EXISTS (SELECT FROM lead_score.verify('Sales')) THEN RAISE 'verify'; END IF; END \$\$" \
    -c "SELECT lead_score.score('Sales', 30::bigint)"

say "update test: ALTER EXTENSION pg_lead_score UPDATE"
snapshot lead_score_upgrade "$work/before_update"
# A view of the user's on a scores view: rebuilding the scores view would drop it, so
# the update refuses (2BP01, naming it) and leaves the extension as it was.
refused_update() {
    "${psql[@]}" -d lead_score_upgrade \
        -c "CREATE VIEW public.hot_leads AS SELECT * FROM lead_score.\"Sales_scores\" WHERE score > 10" &&
        ! "${psql[@]}" -d lead_score_upgrade -v VERBOSITY=verbose \
            -c "ALTER EXTENSION pg_lead_score UPDATE" >"$work/refused.log" 2>&1 &&
        grep -q "2BP01: the scores view .* cannot gain its new columns: public.hot_leads depend" "$work/refused.log" &&
        [ "$("${psql[@]}" -d lead_score_upgrade -Atc \
            "SELECT extversion FROM pg_extension WHERE extname = 'pg_lead_score'")" = "$OLD_VERSION" ] &&
        "${psql[@]}" -d lead_score_upgrade -c "DROP VIEW public.hot_leads"
}
check "the update refuses to drop a user's view built on a scores view (2BP01) and changes nothing" refused_update
check "ALTER EXTENSION pg_lead_score UPDATE" \
    "${psql[@]}" -d lead_score_upgrade -c "ALTER EXTENSION pg_lead_score UPDATE"
snapshot lead_score_upgrade "$work/after_update"
check "every profile, version, rule, change, tag, transition and score row is still there" \
    diff "$work/before_update" "$work/after_update"
fresh_db lead_score_fresh
"${psql[@]}" -d lead_score_fresh -c "CREATE EXTENSION pg_lead_score"
describe lead_score_fresh "$work/fresh.objects"
describe lead_score_upgrade "$work/updated.objects"
check "the updated extension's objects are those of a fresh install" \
    diff "$work/fresh.objects" "$work/updated.objects"
check "the updated database works (verify, writes, publish, tick)" \
    all_true lead_score_upgrade tests/upgrade/after.sql

say "update test: a $OLD_VERSION dump restored into the new version"
fresh_db lead_score_restored
check "pg_restore of the $OLD_VERSION dump" \
    "$PG_BIN/pg_restore" --exit-on-error -d lead_score_restored "$work/dump"
check "lead_score.upgrade_attachments() after the restore" \
    "${psql[@]}" -d lead_score_restored -c "SELECT lead_score.upgrade_attachments()"
snapshot lead_score_restored "$work/restored"
check "the restored database holds what the $OLD_VERSION one did" \
    diff "$work/made" "$work/restored"
describe lead_score_restored "$work/restored.objects"
check "the restored extension's objects are those of a fresh install" \
    diff "$work/fresh.objects" "$work/restored.objects"
check "the restored database works (verify, writes, publish, tick)" \
    all_true lead_score_restored tests/upgrade/after.sql

[ "$failures" -eq 0 ]
