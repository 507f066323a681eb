#!/usr/bin/env bash
# The update test, from every release to the current version: a database made with the
# release is updated in place with ALTER EXTENSION pg_lead_score UPDATE, and one dumped
# from it is restored into the current version. Nothing stored is lost, verify() is
# empty, writes, publish and tick() keep working, and the extension's objects are
# exactly those of a fresh install.
#
# Each release is built once from its commit (exported with git archive) and cached in
# ~/.cache/pg_lead_score; the databases are made with the release's own library and
# install script. (0.1.0 was only ever built for PostgreSQL 15: on newer versions its
# database is made with its frozen install script on the current library, which keeps
# every symbol that script names.) Each release's frozen install script,
# sql/install/pg_lead_score--VERSION.sql, must give a database the same objects as the script
# the release's build generates: pgrx writes the generated script's statements in an
# order that changes from build to build, so the scripts are compared by what they
# create, never byte for byte.
#
# Installs files into the Postgres being tested (root). Run by scripts/test against its
# cluster (PGHOST/PGPORT/PGUSER set); prints one line per check as "ok: ..." or
# "FAILED: ...", and exits non-zero when any failed.
set -euo pipefail
shopt -s inherit_errexit
source "$(dirname "$0")/../../scripts/lib/common.sh"
cd "$REPO_ROOT"

# Every release, oldest first, as VERSION:COMMIT.
RELEASES=(0.1.0:e6c9618 0.2.0:b3ff167)
CURRENT=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pg_lead_score
psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
pkglibdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension
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

# The package directory of release VERSION built for this PostgreSQL.
release_package() { echo "$cache/v$1-pg$PG_MAJOR"; }
# built_for_this_pg VERSION: was the release ever built for this PostgreSQL?
built_for_this_pg() { [ "$1" != 0.1.0 ] || [ "$PG_MAJOR" = 15 ]; }

# build_release VERSION COMMIT: the release's package, built once. A debug build: the
# install script it generates is the release's all the same, and it builds in a third of
# the time. The releases share one target directory, so their dependencies build once.
build_release() {
    local version=$1 commit=$2 src package
    src=$cache/v$version-src
    package=$(release_package "$version")
    [ -f "$package$pkglibdir/pg_lead_score.so" ] && return 0
    say "building release $version from $commit for PostgreSQL $PG_MAJOR (cached in $cache)"
    rm -rf "$src" "$package"
    mkdir -p "$src"
    git -C "$REPO_ROOT" archive "$commit" | tar -x -C "$src"
    (cd "$src" && CARGO_TARGET_DIR=$cache/release-target cargo pgrx package --debug \
        --pg-config "$PG_CONFIG" --out-dir "$package" >&2)
}

# install_release VERSION: the release's library and scripts (or, where it was never
# built, its frozen script on the current library).
install_release() {
    local package
    if built_for_this_pg "$1"; then
        package=$(release_package "$1")
        as_root cp "$package$pkglibdir/pg_lead_score.so" "$pkglibdir/"
        as_root cp "$package$extdir"/* "$extdir/"
    else
        install_new
        as_root cp "sql/install/pg_lead_score--$1.sql" "$extdir/"
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
all_true() { # all_true DB FILE [PSQL-ARGS...]: every line of FILE's output ends in |t
    local db=$1 file=$2
    shift 2
    "${psql[@]}" -d "$db" "$@" -f "$file" >"$work/out" && cat "$work/out" &&
        [ -s "$work/out" ] && ! grep -v '|t$' "$work/out"
}
# objects_of_script VERSION SCRIPT OUT: the objects (and the rows of the extension's
# tables) a database gets from CREATE EXTENSION with SCRIPT as VERSION's install script.
objects_of_script() {
    local version=$1 script=$2 out=$3
    as_root cp "$script" "$extdir/pg_lead_score--$version.sql"
    fresh_db lead_score_script
    "${psql[@]}" -d lead_score_script -c "CREATE EXTENSION pg_lead_score VERSION '$version'"
    describe lead_score_script "$out"
    "${psql[@]}" -d lead_score_script -f tests/upgrade/contents.sql >>"$out"
}
# frozen_script_check VERSION: sql/install/pg_lead_score--VERSION.sql creates what the release's
# build generates, and the comparison sees a one-line change (a GRANT taken away).
frozen_script_check() {
    local version=$1 frozen=sql/install/pg_lead_score--$1.sql generated
    generated=$(release_package "$version")$extdir/pg_lead_score--$version.sql
    objects_of_script "$version" "$generated" "$work/generated.objects" &&
        objects_of_script "$version" "$frozen" "$work/frozen.objects" &&
        diff "$work/generated.objects" "$work/frozen.objects" &&
        # The negative control: a copy with one GRANT line dropped must differ.
        grep -m1 -n '^GRANT .*;$' "$frozen" >"$work/grant_line" &&
        sed "$(cut -d: -f1 "$work/grant_line")d" "$frozen" >"$work/mutated.sql" &&
        objects_of_script "$version" "$work/mutated.sql" "$work/mutated.objects" &&
        ! diff -q "$work/frozen.objects" "$work/mutated.objects" >/dev/null &&
        as_root cp "$generated" "$extdir/pg_lead_score--$version.sql"
}

for release in "${RELEASES[@]}"; do
    version=${release%%:*}
    commit=${release#*:}
    if built_for_this_pg "$version"; then
        build_release "$version" "$commit"
        install_release "$version"
        check "sql/install/pg_lead_score--$version.sql creates what $commit generates (a dropped GRANT would show)" \
            frozen_script_check "$version"
    fi
done

# The databases of every release, and their dumps.
for release in "${RELEASES[@]}"; do
    version=${release%%:*}
    db=lead_score_from_${version//./_}
    say "update test (PostgreSQL $PG_MAJOR): a CRM scored by $version"
    install_release "$version"
    fresh_db "$db"
    "${psql[@]}" -d "$db" -v old_version="$version" -f tests/upgrade/before.sql >"$work/before.log"
    snapshot "$db" "$work/made_$version"
    "$PG_BIN/pg_dump" -Fc -d "$db" -f "$work/dump_$version"
    check "the $version database has tags, disqualifications and tick() transitions" \
        all_true "$db" tests/upgrade/made.sql
    # The leak 0.1.0 had (a contacts key column named contact_key made the state
    # table's policy compare the key with itself): reproduced, so after.sql shows it
    # closed. 0.2.0 never had it.
    if [ "$version" = 0.1.0 ]; then leaked=10; else leaked=2; fi
    check "$version: the representative sees $leaked of the 10 score rows of contacts keyed by contact_key" \
        test "$("${psql[@]}" -d "$db" -Atc "SET ROLE lead_score_upgrade_rep" \
            -c 'SELECT count(*) FROM lead_score."Leads_scores"')" = "$leaked"
done

say "update test: the new library under the releases' SQL"
install_new
for release in "${RELEASES[@]}"; do
    version=${release%%:*}
    check "$version's SQL runs on the new library (writes, rescore, verify, score)" \
        "${psql[@]}" -d "lead_score_from_${version//./_}" -c "SET lead_score.now = '2024-06-02'" \
        -c "BEGIN" \
        -c "INSERT INTO crm.events (contact_id, event_type, occurred_at) VALUES (30, 'demo', '2024-06-02')" \
        -c "SELECT lead_score.rescore('Sales')" \
        -c "DO \$\$ BEGIN IF EXISTS (SELECT FROM lead_score.verify('Sales')) THEN RAISE 'verify'; END IF; END \$\$" \
        -c "SELECT lead_score.score('Sales', 30::bigint)" \
        -c "ROLLBACK"
done

fresh_db lead_score_fresh
"${psql[@]}" -d lead_score_fresh -c "CREATE EXTENSION pg_lead_score"
describe lead_score_fresh "$work/fresh.objects"

# A view of the user's on a scores view: rebuilding the scores view (0.1.0 -> 0.2.0)
# would drop it, so the update refuses (2BP01, naming it) and leaves the extension as it
# was.
refused_update() {
    local db=$1 old=$2
    "${psql[@]}" -d "$db" \
        -c "CREATE VIEW public.hot_leads AS SELECT * FROM lead_score.\"Sales_scores\" WHERE score > 10" &&
        ! "${psql[@]}" -d "$db" -v VERBOSITY=verbose \
            -c "ALTER EXTENSION pg_lead_score UPDATE" >"$work/refused.log" 2>&1 &&
        cat "$work/refused.log" &&
        grep -q "2BP01: the scores view .* cannot gain its new columns: public.hot_leads depend" "$work/refused.log" &&
        [ "$("${psql[@]}" -d "$db" -Atc \
            "SELECT extversion FROM pg_extension WHERE extname = 'pg_lead_score'")" = "$old" ] &&
        "${psql[@]}" -d "$db" -c "DROP VIEW public.hot_leads"
}

# same_as_fresh_attach DB: the objects attach() made for DB's profiles (state tables,
# policies, scores views, triggers) equal what attach() makes now, once each profile is
# detached and attached again (profile_objects.sql; there must be some to compare).
same_as_fresh_attach() {
    local db=$1
    "${psql[@]}" -d "$db" -f tests/upgrade/profile_objects.sql >"$work/kept.profiles" &&
        grep -q '^== ' "$work/kept.profiles" &&
        "${psql[@]}" -d "$db" -f tests/upgrade/reattach.sql >&2 &&
        "${psql[@]}" -d "$db" -f tests/upgrade/profile_objects.sql >"$work/attached.profiles" &&
        diff "$work/kept.profiles" "$work/attached.profiles"
}

for release in "${RELEASES[@]}"; do
    version=${release%%:*}
    db=lead_score_from_${version//./_}
    say "update test: ALTER EXTENSION pg_lead_score UPDATE from $version"
    snapshot "$db" "$work/before_update"
    if [ "$version" = 0.1.0 ]; then
        check "$version: the update refuses to drop a user's view built on a scores view (2BP01) and changes nothing" \
            refused_update "$db" "$version"
    fi
    check "$version: ALTER EXTENSION pg_lead_score UPDATE" \
        "${psql[@]}" -d "$db" -c "ALTER EXTENSION pg_lead_score UPDATE"
    snapshot "$db" "$work/after_update"
    check "$version: every profile, version, rule, change, tag, transition, adjustment and score row is still there" \
        diff "$work/before_update" "$work/after_update"
    describe "$db" "$work/updated.objects"
    check "$version: the updated extension's objects are those of a fresh install" \
        diff "$work/fresh.objects" "$work/updated.objects"
    check "$version: the updated database works (verify, writes, publish, tick, no leak)" \
        all_true "$db" tests/upgrade/after.sql -v new_version="$CURRENT"
    check "$version: each profile's state table, policy, scores view and triggers are those a fresh attach() makes" \
        same_as_fresh_attach "$db"

    say "update test: a $version dump restored into $CURRENT"
    fresh_db lead_score_restored
    check "$version: pg_restore of the dump" \
        "$PG_BIN/pg_restore" --exit-on-error -d lead_score_restored "$work/dump_$version"
    check "$version: lead_score.upgrade_attachments() after the restore" \
        "${psql[@]}" -d lead_score_restored -c "SELECT lead_score.upgrade_attachments()"
    snapshot lead_score_restored "$work/restored"
    check "$version: the restored database holds what the $version one did" \
        diff "$work/made_$version" "$work/restored"
    describe lead_score_restored "$work/restored.objects"
    check "$version: the restored extension's objects are those of a fresh install" \
        diff "$work/fresh.objects" "$work/restored.objects"
    check "$version: the restored database works (verify, writes, publish, tick, no leak)" \
        all_true lead_score_restored tests/upgrade/after.sql -v new_version="$CURRENT"
    check "$version: each restored profile's objects are those a fresh attach() makes" \
        same_as_fresh_attach lead_score_restored
done

[ "$failures" -eq 0 ]
