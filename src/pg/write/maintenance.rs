//! Maintenance of attached profiles, below its SQL functions (`api::live_scores`):
//! rescoring everyone (`rescore`, and for publish and attach), what time alone changed
//! (`tick`), and every stored result compared with a recomputation (`verify`).

use std::collections::{BTreeSet, HashSet};

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::pg::base::attached::{
    attached_by_name as attached, attached_locking, run, Attached, Statement,
};

use crate::pg::base::clock::{clock_simulated, decision_now_unix_micros};
use crate::pg::base::errors::{internal, spi_failed, texts};
use crate::pg::base::locks::lock_together;
use crate::pg::base::params::Params;
use crate::pg::base::rights::as_crm_owner;
use crate::pg::base::table_scan::{distinct_texts, holds_rows};
use crate::pg::write::accounts::{
    account_differences, placed_everyone, rebuild_accounts, refresh_accounts, stale_account_keys,
    Placed,
};
use crate::pg::write::everyone::score_everyone;
use crate::pg::write::recomputed;
use crate::pg::write::score_rows::{write_batch, Outcome};
use crate::pg::write::some_contacts::rescore_contacts;
use crate::pg::write::transitions::{
    all_tags, mirror_tags, qualification_before, record, settle, Cause,
};
use lead_score_core::decay::DecayedSum;
use lead_score_core::engine::ContactScore;

/// Rescore every contact of an attached profile from the full history, with its
/// active version. Takes an EXCLUSIVE lock on the profile's state table, which every
/// trigger of the profile takes first (in ROW EXCLUSIVE mode, before it reads the
/// profile): writers in flight are waited for, and writers that come meanwhile wait
/// until this commits and then score with what it wrote (and the version it
/// published); `tick()` and `rescore()` wait too, so the rows the pass finds unchanged
/// need no row lock (and no write) to stay as it found them. Readers do not wait. The
/// attached tables are only read, under ACCESS SHARE locks taken with it (see
/// `lock_together`): this never holds one lock while it waits for another, so it never
/// deadlocks with a writer, whatever tables the writer's transaction holds.
pub(crate) fn rescore_all(client: &mut SpiClient<'_>, profile: &str, cause: Cause) -> usize {
    let before_locks = attached(client, profile);
    let attachment = &before_locks.attachment;
    let read =
        [Some(attachment.contacts_oid), Some(attachment.events_oid), attachment.accounts_oid];
    let locks: Vec<(pg_sys::Oid, u32)> =
        std::iter::once((attachment.state_oid, pg_sys::ExclusiveLock))
            .chain(read.into_iter().flatten().map(|oid| (oid, pg_sys::AccessShareLock)))
            .filter(|(oid, _)| *oid != pg_sys::InvalidOid)
            .collect();
    lock_together(&locks);
    let attached = attached_locking(client, profile, &before_locks, pg_sys::ExclusiveLock);
    let attachment = &attached.attachment;
    // The view reads the scored version's tag, scale, likelihood and grades from here (before
    // the rescore copies tags, which names the PQL tag).
    let settings = &attached.compiled.settings;
    let likelihood = settings.likelihood;
    let mut params = Params::default();
    let profile_id = params.bind(attachment.profile_id);
    let version = params.bind(attachment.version);
    let pql_tag = params.bind(settings.pql_tag.clone());
    let curve = params.bind(settings.score_100.curve.name());
    let scale = params.bind(settings.score_100.scale);
    // (Under 0.1.0's SQL, before the update, there is no likelihood to record.)
    let likelihood_columns = if attachment.current_sql {
        let intercept = params.bind(likelihood.map(|l| l.intercept));
        let per_doubling = params.bind(likelihood.map(|l| l.points_per_doubling));
        format!(
            ", likelihood_intercept = {intercept}, likelihood_points_per_doubling = {per_doubling}"
        )
    } else {
        String::new()
    };
    // Nor, before 0.3.0's, grades (and its settings_problem() lets none be published).
    let grading_columns = if attachment.grades_stored {
        let grading = settings.grading.as_ref();
        let names = params
            .bind(grading.map(|g| g.grades.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()));
        let minimums =
            params.bind(grading.map(|g| g.grades.iter().map(|(_, m)| *m).collect::<Vec<_>>()));
        let bands = params.bind(grading.filter(|g| !g.bands.is_empty()).map(|g| g.bands.clone()));
        format!(", grade_names = {names}, grade_minimums = {minimums}, engagement_bands = {bands}")
    } else {
        String::new()
    };
    // And the account scores view its scoring and whether it shows roles.
    let account_columns = if attachment.account_scores.is_some() {
        let accounts = &settings.accounts;
        let scoring = params.bind(accounts.scoring.name());
        let roles = params.bind(accounts.buying_roles.is_some());
        format!(", account_scoring = {scoring}, account_roles = {roles}")
    } else {
        String::new()
    };
    let mark = format!(
        "UPDATE lead_score.attachment_store
            SET scored_version = {version}, pql_tag = {pql_tag}, score_100_curve = {curve},
                score_100_scale = {scale}{likelihood_columns}{grading_columns}{account_columns}
          WHERE profile_id = {profile_id}"
    );
    client
        .update(&mark, None, params.args())
        .unwrap_or_else(|e| internal("finishing the rescore", e));
    let now = decision_now_unix_micros();
    let scored = rewrite_everyone(client, &attached, now, cause);
    // (A rewrite leaves rows whose result is unchanged as they are; `rescore` also
    // mends a ceiling below its row's bound, which `verify` names.)
    if matches!(cause, Cause::Rescore) {
        raise_ceilings(client, &attached, now);
    }
    scored
}

/// Raise every ceiling below its row's bound as of `now` to it.
fn raise_ceilings(client: &mut SpiClient<'_>, attached: &Attached, now: i64) {
    if !attached.attachment.ceiling_stored {
        return;
    }
    let raise_them = format!(
        "UPDATE {state} s SET ceiling = lead_score.score_ceiling(s.fit, s.engagement, least(to_timestamp($1 / 1e6), transaction_timestamp()))
          WHERE s.ceiling < lead_score.score_ceiling(s.fit, s.engagement, least(to_timestamp($1 / 1e6), transaction_timestamp()))",
        state = attached.attachment.state_table
    );
    client
        .update(raise_them.as_str(), None, &[(now as f64).into()])
        .unwrap_or_else(|e| spi_failed(&attached.attachment, "raising the score ceilings", e));
}

/// Rescore the contacts that have an event in `tables`: tables that just became, or
/// stopped being, partitions of the profile's partitioned events table (the schema
/// guard's `follow_partitions`, which Postgres fires no trigger for). Only those
/// contacts' histories changed. The score table is held EXCLUSIVE as by `rescore_all`:
/// a writer in flight is waited for, and one that comes meanwhile waits, and takes the
/// lock only after this commits, when it sees the tree as committed (taking a lock
/// reads the catalog's news). Returns how many contacts it scored.
pub(crate) fn rescore_events_in(
    client: &mut SpiClient<'_>,
    profile: &str,
    tables: &[pg_sys::Oid],
    cause: Cause,
) -> usize {
    let before_locks = attached(client, profile);
    let attachment = &before_locks.attachment;
    // Only a table holding a row changes the scores: the empty one pg_partman attaches
    // each month costs no lock on the score table. Each table is read by its oid (no
    // name looked up: its schema may be another role's, who can revoke USAGE on it) as
    // its owner, restricted, like every read of a CRM table.
    let tables: Vec<pg_sys::Oid> = tables
        .iter()
        .copied()
        .filter(|&oid| {
            as_crm_owner(attachment.crm_owner, |_| holds_rows(oid, "an events partition"))
        })
        .collect();
    if tables.is_empty() {
        return 0;
    }
    let tables = &tables[..];
    let read =
        [Some(attachment.contacts_oid), Some(attachment.events_oid), attachment.accounts_oid];
    let locks: Vec<(pg_sys::Oid, u32)> =
        std::iter::once((attachment.state_oid, pg_sys::ExclusiveLock))
            .chain(read.into_iter().flatten().map(|oid| (oid, pg_sys::AccessShareLock)))
            .chain(tables.iter().map(|&oid| (oid, pg_sys::AccessShareLock)))
            .filter(|(oid, _)| *oid != pg_sys::InvalidOid)
            .collect();
    lock_together(&locks);
    let attached = attached_locking(client, profile, &before_locks, pg_sys::ExclusiveLock);
    let attachment = &attached.attachment;
    // Their contacts (as text), as the tables' owner; then, as keys, sorted and
    // without duplicates (the key type's input function: a built-in one).
    let contact_column = &attachment.event_contact_name;
    let found: BTreeSet<String> = as_crm_owner(attachment.crm_owner, |_| {
        tables
            .iter()
            .flat_map(|&oid| distinct_texts(oid, contact_column, "an events partition"))
            .collect()
    });
    let found: Vec<Option<String>> = found.into_iter().map(Some).collect();
    let mut params = Params::default();
    let found = params.bind(found);
    let query = format!(
        "SELECT k::text AS key FROM (SELECT DISTINCT t::{key_type} AS k FROM unnest({found}::text[]) AS t) named
          ORDER BY k",
        key_type = attachment.key_type
    );
    let keys = as_crm_owner(attachment.crm_owner, |_| {
        texts(
            client.select(&query, None, params.args()),
            attachment,
            "finding the partitions' contacts",
        )
    });
    let now = decision_now_unix_micros();
    let scored = rescore_contacts(client, &attached, &keys, now, cause);
    refresh_accounts(client, &attached, &keys, None, now, cause);
    scored.scored
}

/// Score every contact in one pass and store the results that changed; drop the state
/// rows of contacts that no longer exist.
pub(crate) fn rewrite_everyone(
    client: &mut SpiClient<'_>,
    attached: &Attached,
    now: i64,
    cause: Cause,
) -> usize {
    // (Every contact is recomputed from its history: an events INSERT of this
    // statement whose trigger is still to fire must not add to any.)
    recomputed::note_everyone(attached.attachment.profile_id);
    let mut tags = all_tags(client, attached);
    let scored = score_everyone(client, attached, now, |client, batch, stored| {
        let before = qualification_before(batch, &stored, &mut tags);
        let found = settle(attached, batch, &before, cause, now);
        let changed: Vec<&(String, ContactScore)> = batch
            .iter()
            .zip(&stored)
            .filter(|((_, result), row)| !row.as_ref().is_some_and(|row| row.holds(result)))
            .map(|(contact, _)| contact)
            .collect();
        write_batch(client, attached, &changed, now);
        record(client, attached, &found, cause, now);
    });
    let attachment = &attached.attachment;
    // Tags of contacts that no longer exist go (their transitions stay); the others'
    // copies in the state rows are brought in line (after attach, they start empty).
    // Which contacts exist is read as the tables' owner (`gone_contacts`); the deletes
    // run with the extension's rights and read no CRM table.
    let tagged = texts(
        client.select(
            "SELECT DISTINCT t.contact_key FROM lead_score.tag_store t WHERE t.profile_id = $1",
            None,
            &[attachment.profile_id.into()],
        ),
        attachment,
        "reading tags",
    );
    let gone = gone_contacts(client, attached, tagged);
    if !gone.is_empty() {
        client
            .update(
                "DELETE FROM lead_score.tag_store t
                  WHERE t.profile_id = $1 AND t.contact_key = ANY ($2::text[])",
                None,
                &[attachment.profile_id.into(), gone.into()],
            )
            .unwrap_or_else(|e| spi_failed(attachment, "removing tags of deleted contacts", e));
    }
    mirror_tags(client, attached, None);
    let orphans = format!(
        "SELECT s.contact_key::text FROM {state} s WHERE {gone}",
        state = attachment.state_table,
        gone = attachment.no_contact("s.contact_key")
    );
    let orphans = as_crm_owner(attachment.crm_owner, |_| {
        texts(client.select(&orphans, None, &[]), attachment, "finding deleted contacts")
    });
    if !orphans.is_empty() {
        let delete = format!(
            "DELETE FROM {state} s WHERE s.contact_key = ANY ($1::text[]::{key_type}[])",
            state = attachment.state_table,
            key_type = attachment.key_type
        );
        client
            .update(&delete, None, &[orphans.into()])
            .unwrap_or_else(|e| spi_failed(attachment, "removing deleted contacts' scores", e));
    }
    rebuild_accounts(client, attached, now, cause);
    scored
}

/// Of the given contact keys (as text), those of no contact: read as the CRM tables'
/// owner.
fn gone_contacts(client: &SpiClient<'_>, attached: &Attached, keys: Vec<String>) -> Vec<String> {
    if keys.is_empty() {
        return keys;
    }
    let attachment = &attached.attachment;
    let query = format!(
        "SELECT k FROM unnest($1::text[]) AS k WHERE {gone}",
        gone = attachment.no_contact_by_text("k")
    );
    as_crm_owner(attachment.crm_owner, |_| {
        texts(client.select(&query, None, &[keys.into()]), attachment, "finding deleted contacts")
    })
}

pub(crate) fn tick_attachment(client: &SpiClient<'_>, attached: &Attached, now: i64) -> Outcome {
    let mut params = Params::default();
    let now_param = params.bind(now as f64);
    let due_query = attached.statement(client, Statement::Due, &params, false, || {
        format!(
            // (Named `key`: `ORDER BY contact_key` would sort the text output.)
            "SELECT s.contact_key::text AS key FROM {} s
              WHERE s.next_due <= to_timestamp({now_param} / 1e6) ORDER BY s.contact_key",
            attached.attachment.state_table
        )
    });
    let what = "finding the contacts that are due";
    let due = run(client, attached, &due_query, what, &params).texts();
    let outcome = rescore_contacts(client, attached, &due, now, Cause::Tick);
    refresh_accounts(client, attached, &due, None, now, Cause::Tick);
    tighten_ceilings(client, attached, now);
    outcome
}

/// How many of the highest ceilings each `tick()` brings down to what their rows can
/// still reach: writes only ever raise a ceiling, so a contact that was hot and went
/// quiet keeps one far above its score, and `lead_score.top` would read it every time.
const CEILINGS_TIGHTENED: i64 = 1000;

/// Bring the highest ceilings down to their rows' bounds as of `now` (each still a
/// bound from then on: `lead_score.score_ceiling`), where that is lower: the top of
/// the ceiling index holds the rows that can reach the top of the list.
fn tighten_ceilings(client: &SpiClient<'_>, attached: &Attached, now: i64) {
    if !attached.attachment.ceiling_stored {
        return;
    }
    let mut params = Params::default();
    let now_param = params.bind(now as f64);
    let tighten = attached.statement(client, Statement::TightenCeilings, &params, true, || {
        format!(
            "UPDATE {state} s SET ceiling = lead_score.score_ceiling(s.fit, s.engagement, least(to_timestamp({now_param} / 1e6), transaction_timestamp()))
               FROM (SELECT t.contact_key FROM {state} t ORDER BY t.ceiling DESC LIMIT {CEILINGS_TIGHTENED}) top
              WHERE s.contact_key = top.contact_key
                AND s.ceiling > lead_score.score_ceiling(s.fit, s.engagement, least(to_timestamp({now_param} / 1e6), transaction_timestamp()))",
            state = attached.attachment.state_table
        )
    });
    run(client, attached, &tighten, "tightening the score ceilings", &params);
}

/// The contacts whose ceiling is below their score as of `now` (`verify`: the ceiling
/// must bound the score, or `lead_score.top` would miss them), where `now` is no more
/// than an hour before their last write (see `lead_score.score_ceiling`). With
/// `lead_score.now` set, none: a clock set back reads extrapolations no ceiling bounds,
/// and `top` reads every row then.
fn ceiling_differences(client: &SpiClient<'_>, attached: &Attached, now: i64) -> Vec<Difference> {
    let attachment = &attached.attachment;
    if clock_simulated() || !attachment.ceiling_stored {
        return Vec::new();
    }
    let query = format!(
        "SELECT s.contact_key::text, s.ceiling, s.fit + lead_score.value_at(s.engagement, to_timestamp($1 / 1e6))
           FROM {state} s
          WHERE s.ceiling < s.fit + lead_score.value_at(s.engagement, to_timestamp($1 / 1e6))
            AND s.scored_at - interval '1 hour' <= to_timestamp($1 / 1e6)
          ORDER BY s.contact_key",
        state = attachment.state_table
    );
    let what = "checking the score ceilings";
    client
        .select(query.as_str(), None, &[(now as f64).into()])
        .unwrap_or_else(|e| spi_failed(attachment, what, e))
        .filter_map(|r| {
            pgrx::check_for_interrupts!();
            let key = r.get::<String>(1).unwrap_or_else(|e| spi_failed(attachment, what, e))?;
            let ceiling = r.get::<f64>(2).unwrap_or_else(|e| spi_failed(attachment, what, e));
            let score = r.get::<f64>(3).unwrap_or_else(|e| spi_failed(attachment, what, e));
            Some((key, ceiling, score, "ceiling".to_owned()))
        })
        .collect()
}

/// A contact whose stored result differs from a recomputation: its key, its stored and
/// recomputed scores, and what differs.
pub(crate) type Difference = (String, Option<f64>, Option<f64>, String);

/// Every contact whose stored result differs from a full recomputation as of `now`: in
/// any part the scoring stores (fit, score, disqualifiers, dimensions, due time, tally,
/// count-limit selections), in its qualification (a disqualification or requalification
/// a write would have recorded), in the copy of its tags, or in having a score row at
/// all.
pub(crate) fn differences(
    client: &SpiClient<'_>,
    attached: &Attached,
    now: i64,
) -> Vec<Difference> {
    let attachment = &attached.attachment;
    // State rows of contacts that no longer exist (the others come beside their contact).
    let orphans = format!(
        "SELECT s.contact_key::text, s.fit, s.engagement::text FROM {state} s WHERE {gone}",
        state = attachment.state_table,
        gone = attachment.no_contact("s.contact_key")
    );
    let what = "finding deleted contacts";
    let mut found: Vec<Difference> = as_crm_owner(attachment.crm_owner, |_| {
        client
            .select(&orphans, None, &[])
            .unwrap_or_else(|e| spi_failed(attachment, what, e))
            .map(|r| {
                pgrx::check_for_interrupts!();
                let key = r.get::<String>(1).unwrap_or_else(|e| spi_failed(attachment, what, e));
                let fit = r.get::<f64>(2).unwrap_or_else(|e| spi_failed(attachment, what, e));
                let sum = r.get::<String>(3).unwrap_or_else(|e| spi_failed(attachment, what, e));
                let worth = sum.and_then(|sum| serde_json::from_str::<DecayedSum>(&sum).ok());
                let kept = fit.zip(worth).map(|(fit, worth)| fit + worth.value_at(now));
                (key.unwrap_or_default(), kept, None, "no contact".to_owned())
            })
            .collect()
    });
    let mut tags = all_tags(client, attached);
    let stage_log = latest_stage_moves(client, attached);
    score_everyone(client, attached, now, |_, batch, stored| {
        // Qualification as recorded (tags in the tag store, disqualifiers in the rows),
        // settled as a write would settle it: a disqualification or requalification
        // that would be recorded was not. (A missing tag is no difference: clear_tag and
        // forget take tags away from contacts that stay over the threshold, and the
        // contact's next write tags it again.)
        let before = qualification_before(batch, &stored, &mut tags);
        let mut settled = batch.clone();
        let unrecorded = settle(attached, &mut settled, &before, Cause::Rescore, now);
        // A stage not entered is a difference too, unless the contact was moved back by
        // hand (set_stage): like a cleared tag, its next write moves it up again.
        let moved_back =
            |key: &str| stage_log.get(key).is_some_and(|(kind, _)| kind == "stage_set");
        let (mut missed_stages, mut unrecorded_other) = (HashSet::new(), HashSet::new());
        for (key, transition) in &unrecorded {
            match transition.describe().0 {
                "tagged" => {}
                "stage_changed" if moved_back(key) => {}
                "stage_changed" => {
                    missed_stages.insert(key.as_str());
                }
                _ => {
                    unrecorded_other.insert(key.as_str());
                }
            }
        }
        let unrecorded = unrecorded_other;
        for (((key, result), row), (_, settled)) in batch.iter().zip(&stored).zip(&settled) {
            pgrx::check_for_interrupts!();
            let mut what = match row {
                Some(row) => row.differences(result, settled.next_due, now),
                None => vec!["no score row"],
            };
            if unrecorded.contains(key.as_str()) {
                what.push("qualification");
            }
            // The stage a row holds is the one its latest stage transition names.
            let logged = stage_log.get(key.as_str()).map(|(_, stage)| stage.as_str());
            let stored_stage = row.as_ref().and_then(|row| row.stage.as_deref());
            if missed_stages.contains(key.as_str())
                || logged.is_some_and(|logged| stored_stage.is_some_and(|s| s != logged))
            {
                what.push("stage");
            }
            if !what.is_empty() {
                let kept = row.as_ref().map(|row| row.fit + row.engagement.value_at(now));
                found.push((key.clone(), kept, Some(result.score_at(now)), what.join(", ")));
            }
        }
    });
    // The copy of each contact's tags in its score row agrees with the tag store, and
    // no tag is kept for a contact without a score row (a deleted one's tags go too).
    let mut params = Params::default();
    let profile_id = params.bind(attachment.profile_id);
    let pql_tag = params.bind(attached.compiled.settings.pql_tag.clone());
    let copies = format!(
        "SELECT coalesce(s.contact_key::text, g.contact_key) FROM {state} s
           FULL JOIN (SELECT t.contact_key, array_agg(t.tag ORDER BY t.tag) AS tags,
                             max(t.tagged_at) FILTER (WHERE t.tag = {pql_tag}) AS pql_at
                        FROM lead_score.tag_store t WHERE t.profile_id = {profile_id}
                       GROUP BY t.contact_key) g ON g.contact_key = s.contact_key::text
          WHERE s.contact_key IS NULL
             OR (s.tags, s.pql_at) IS DISTINCT FROM (coalesce(g.tags, '{{}}'), g.pql_at)",
        state = attachment.state_table
    );
    let what = "comparing the copies of tags";
    let stale_copies: Vec<String> = client
        .select(&copies, None, params.args())
        .unwrap_or_else(|e| spi_failed(attachment, what, e))
        .filter_map(|r| r.get::<String>(1).unwrap_or_else(|e| spi_failed(attachment, what, e)))
        .collect();
    // And the account key kept in each score row agrees with the contacts table.
    // (Where every contact belongs, read once for both account checks.)
    let placed = match attached.attachment.account_scores {
        Some(_) => placed_everyone(client, attached),
        None => Placed::default(),
    };
    let stale_keys = stale_account_keys(client, attached, &placed);
    let stale = stale_copies.into_iter().map(|key| (key, "tags"));
    for (key, difference) in stale.chain(stale_keys.into_iter().map(|key| (key, "account key"))) {
        pgrx::check_for_interrupts!();
        match found.iter_mut().find(|(k, ..)| *k == key) {
            Some((.., what)) => {
                what.push_str(", ");
                what.push_str(difference);
            }
            None => found.push((key, None, None, difference.to_owned())),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    // Then each account whose row differs from a rebuild from the contacts and their
    // score rows.
    found.extend(ceiling_differences(client, attached, now));
    found.extend(account_differences(client, attached, &placed, now));
    found.extend(table_differences(client, attached));
    found
}

/// Each contact's latest stage transition (`stage_changed` or `stage_set`) recorded for
/// the profile's table, by key: its kind and the stage it moved the contact to.
fn latest_stage_moves(
    client: &SpiClient<'_>,
    attached: &Attached,
) -> std::collections::HashMap<String, (String, String)> {
    let attachment = &attached.attachment;
    if attached.compiled.settings.stages.is_empty() || !attachment.transitions_by_table {
        return Default::default();
    }
    let rows = client
        .select(
            "SELECT DISTINCT ON (t.contact) t.contact, t.kind, t.new_state
               FROM lead_score.transitions t
              WHERE t.profile = $1 AND t.contacts = $2::regclass AND t.key_column = $3::name
                AND t.kind IN ('stage_changed', 'stage_set')
              ORDER BY t.contact, t.id DESC",
            None,
            &[
                attachment.profile_name.as_str().into(),
                attachment.contacts_oid.into(),
                attachment.contact_key_name.as_str().into(),
            ],
        )
        .unwrap_or_else(|e| spi_failed(attachment, "reading stage transitions", e));
    let what = "reading stage transitions";
    rows.filter_map(|r| {
        pgrx::check_for_interrupts!();
        let text =
            |n: usize| r.get::<String>(n).unwrap_or_else(|e| spi_failed(attachment, what, e));
        Some((text(1)?, (text(2)?, text(3)?)))
    })
    .collect()
}

/// The tables the profile's writes would not keep current: its contacts, events and
/// accounts tables (`contact` `table <name>`) and, for a partitioned events table,
/// each partition under it at every level (`partition <name>`). `triggers`: one of the
/// profile's triggers is missing (its owner dropped one: the schema guard mends a
/// partition only when a command touches it); `triggers disabled`: one of them does
/// not fire for the CRM's writes (`ALTER TABLE ... DISABLE TRIGGER`, or `ENABLE
/// REPLICA TRIGGER`); `triggers skip replication`: one of them fires for the CRM's
/// writes but not for replicated ones (`ENABLE TRIGGER` undid attach's `ENABLE ALWAYS`:
/// a logical-replication apply worker's writes would leave scores stale); `detach pending`: an interrupted `DETACH ... CONCURRENTLY` left a
/// partition no longer read through its parent, its contacts' scores stale until
/// `FINALIZE`. Ours are known by what they are (`lead_score.profile_triggers`), the
/// tree by pg_inherits (`lead_score.partitions_under`): only the catalog is read, and
/// no partition is locked.
fn table_differences(client: &SpiClient<'_>, attached: &Attached) -> Vec<Difference> {
    let attachment = &attached.attachment;
    if !attachment.triggers_known {
        return Vec::new();
    }
    let query = "WITH tables(label, relation, watched, pending, sort) AS (
                     SELECT 'table ' OPERATOR(pg_catalog.||) r.relation::pg_catalog.regclass::pg_catalog.text,
                            r.relation, r.watched, false, r.sort
                       FROM (VALUES ($2::pg_catalog.oid, 'contacts', 1), ($1, 'events', 2), ($3, 'accounts', 3))
                            AS r(relation, watched, sort)
                      WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) r.relation)
                     UNION ALL
                     SELECT 'partition ' OPERATOR(pg_catalog.||) t.relation::pg_catalog.regclass::pg_catalog.text,
                            t.relation, 'events', t.detach_pending, 4
                       FROM lead_score.partitions_under($1) t
                      WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1
                                       AND c.relkind OPERATOR(pg_catalog.=) 'p')
                 )
                 SELECT t.label,
                        pg_catalog.concat_ws(', ',
                            CASE WHEN (SELECT pg_catalog.count(DISTINCT g.operation) FROM lead_score.profile_triggers g
                                        WHERE g.relation OPERATOR(pg_catalog.=) t.relation
                                          AND g.profile_id OPERATOR(pg_catalog.=) $4
                                          AND g.watched OPERATOR(pg_catalog.=) t.watched)
                                      OPERATOR(pg_catalog.<) lead_score.profile_trigger_count(t.relation::pg_catalog.regclass)
                                 THEN 'triggers' END,
                            CASE WHEN EXISTS (SELECT FROM lead_score.profile_triggers g
                                               WHERE g.relation OPERATOR(pg_catalog.=) t.relation
                                                 AND g.profile_id OPERATOR(pg_catalog.=) $4
                                                 AND g.watched OPERATOR(pg_catalog.=) t.watched
                                                 AND NOT g.enabled) THEN 'triggers disabled' END,
                            CASE WHEN EXISTS (SELECT FROM lead_score.profile_triggers g
                                               WHERE g.relation OPERATOR(pg_catalog.=) t.relation
                                                 AND g.profile_id OPERATOR(pg_catalog.=) $4
                                                 AND g.watched OPERATOR(pg_catalog.=) t.watched
                                                 AND NOT g.replicated) THEN 'triggers skip replication' END,
                            CASE WHEN t.pending THEN 'detach pending' END)
                   FROM tables t
                  ORDER BY t.sort, t.label";
    let what = "checking the attached tables' triggers";
    client
        .select(
            query,
            None,
            &[
                attachment.events_oid.into(),
                attachment.contacts_oid.into(),
                attachment.accounts_oid.into(),
                attachment.profile_id.into(),
            ],
        )
        .unwrap_or_else(|e| spi_failed(attachment, what, e))
        .filter_map(|r| {
            let relation = r.get::<String>(1).unwrap_or_else(|e| spi_failed(attachment, what, e));
            let difference = r.get::<String>(2).unwrap_or_else(|e| spi_failed(attachment, what, e));
            relation.zip(difference.filter(|d| !d.is_empty())).map(|(r, d)| (r, None, None, d))
        })
        .collect()
}
