//! Maintenance of attached profiles: rescoring everyone (`rescore`, and for publish and
//! attach), one contact, what time alone changed (`tick`), and checking every stored
//! result against a recomputation (`verify`).

use std::collections::HashSet;
use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::pg::attachment::{spi_failed, texts};
use crate::pg::clock::{decision_now_unix_micros, now_unix_micros};
use crate::pg::errors::{in_subtransaction, internal, warn_skipped};
use crate::pg::everyone::score_everyone;
use crate::pg::identity::{
    as_crm_owner, extension_owner, for_caller, refuse_within_restricted_operation,
};
use crate::pg::locks::{lock_scores, lock_together};
use crate::pg::params::Params;
use crate::pg::plan_cache::{self, attached_by_name as attached, run, Attached, Statement};
use crate::pg::qualify::{all_tags, mirror_tags, qualification_before, record, settle, Cause};
use crate::pg::score_rows::{write_batch, Outcome};
use crate::pg::some_contacts::rescore_contacts;
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
    // The view reads the scored version's tag, scale and likelihood from here (before
    // the rescore copies tags, which names the PQL tag).
    let settings = &attached.compiled.settings;
    let likelihood = settings.likelihood;
    let mut args = vec![
        attachment.profile_id.into(),
        attachment.version.into(),
        settings.pql_tag.clone().into(),
        settings.score_100.curve.name().into(),
        settings.score_100.scale.into(),
    ];
    // (Under 0.1.0's SQL, before the update, there is no likelihood to record.)
    let likelihood_columns = if attachment.current_sql {
        args.push(likelihood.map(|l| l.intercept).into());
        args.push(likelihood.map(|l| l.points_per_doubling).into());
        ", likelihood_intercept = $6, likelihood_points_per_doubling = $7"
    } else {
        ""
    };
    let mark = format!(
        "UPDATE lead_score.attachment_store
            SET scored_version = $2, pql_tag = $3, score_100_curve = $4, score_100_scale = $5{likelihood_columns}
          WHERE profile_id = $1"
    );
    client.update(&mark, None, &args).unwrap_or_else(|e| internal("finishing the rescore", e));
    rewrite_everyone(client, &attached, decision_now_unix_micros(), cause)
}

/// `attached`, a profile's cache entry, loaded again once its state table is locked in
/// `mode` (see `lock_scores`); a profile detached meanwhile is not attached (55000).
pub(crate) fn attached_locking(
    client: &SpiClient<'_>,
    profile: &str,
    attached: &Attached,
    mode: u32,
) -> Rc<Attached> {
    lock_scores(attached, mode);
    self::attached(client, profile)
}

/// Score every contact in one pass and store the results that changed; drop the state
/// rows of contacts that no longer exist.
pub(crate) fn rewrite_everyone(
    client: &mut SpiClient<'_>,
    attached: &Attached,
    now: i64,
    cause: Cause,
) -> usize {
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

fn tick_attachment(client: &SpiClient<'_>, attached: &Attached, now: i64) -> Outcome {
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
    rescore_contacts(client, attached, &due, now, Cause::Tick)
}

/// A contact whose stored result differs from a recomputation: its key, its stored and
/// recomputed scores, and what differs.
type Difference = (String, Option<f64>, Option<f64>, String);

/// Every contact whose stored result differs from a full recomputation as of `now`: in
/// any part the scoring stores (fit, score, disqualifiers, dimensions, due time, tally,
/// count-limit selections), in its qualification (a disqualification or requalification
/// a write would have recorded), in the copy of its tags, or in having a score row at
/// all.
fn differences(client: &SpiClient<'_>, attached: &Attached, now: i64) -> Vec<Difference> {
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
    score_everyone(client, attached, now, |_, batch, stored| {
        // Qualification as recorded (tags in the tag store, disqualifiers in the rows),
        // settled as a write would settle it: a disqualification or requalification
        // that would be recorded was not. (A missing tag is no difference: clear_tag and
        // forget take tags away from contacts that stay over the threshold, and the
        // contact's next write tags it again.)
        let before = qualification_before(batch, &stored, &mut tags);
        let mut settled = batch.clone();
        let unrecorded = settle(attached, &mut settled, &before, Cause::Rescore, now);
        let unrecorded: HashSet<&str> = unrecorded
            .iter()
            .filter(|(_, transition)| transition.describe().0 != "tagged")
            .map(|(key, _)| key.as_str())
            .collect();
        for (((key, result), row), (_, settled)) in batch.iter().zip(&stored).zip(&settled) {
            pgrx::check_for_interrupts!();
            let mut what = match row {
                Some(row) => row.differences(result, settled.next_due, now),
                None => vec!["no score row"],
            };
            if unrecorded.contains(key.as_str()) {
                what.push("qualification");
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
    for key in stale_copies {
        pgrx::check_for_interrupts!();
        match found.iter_mut().find(|(k, ..)| *k == key) {
            Some((.., what)) => what.push_str(", tags"),
            None => found.push((key, None, None, "tags".to_owned())),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.rescore(profile)`: recompute every contact; returns how many. (Its
    /// entry records the caller: see `identity::lead_score_for_caller`.)
    #[pg_extern(security_definer, name = "rescore_for_caller")]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn rescore(profile: &str) -> i64 {
        refuse_within_restricted_operation("rescore()");
        // A full rescore reloads the profile rather than trust this backend's cache.
        plan_cache::mark_stale();
        Spi::connect_mut(|client| rescore_all(client, profile, Cause::Rescore) as i64)
    }

    /// `lead_score.rescore_for(profile, cause)`: `rescore(profile)` on behalf of
    /// publish or attach, which is what their transitions record. Internal.
    #[pg_extern(security_definer)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn rescore_for(profile: &str, cause: &str) -> i64 {
        refuse_within_restricted_operation("rescore()");
        let cause = Cause::parse(cause).unwrap_or(Cause::Rescore);
        plan_cache::mark_stale();
        Spi::connect_mut(|client| rescore_all(client, profile, cause) as i64)
    }

    /// `lead_score.rescore(profile, contact)`: recompute one contact (its key in the
    /// contacts' key type, or as text); returns 1 when it exists, 0 otherwise. (Its
    /// entry records the caller: see `identity::lead_score_for_caller`.)
    #[pg_extern(security_definer, name = "rescore_for_caller")]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn rescore_one(profile: &str, contact: &str) -> i64 {
        refuse_within_restricted_operation("rescore()");
        Spi::connect_mut(|client| {
            let cached = attached(client, profile);
            let attached = attached_locking(client, profile, &cached, pg_sys::RowExclusiveLock);
            rescore_contacts(
                client,
                &attached,
                &[contact.to_owned()],
                now_unix_micros(),
                Cause::Rescore,
            )
            .scored as i64
        })
    }

    /// `lead_score.tick()`: apply what time alone changed (events leaving windows or
    /// coming due, history conditions flipping) to the contacts that are due, in every
    /// attached profile. Idempotent; concurrent ticks serialise on the contacts' rows.
    /// Runs as the extension's owner for the role that calls it (its transitions name
    /// that role).
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn tick() -> TableIterator<
        'static,
        (name!(profile, String), name!(checked, Option<i64>), name!(changed, Option<i64>)),
    > {
        refuse_within_restricted_operation("tick()");
        let owner = Spi::connect(extension_owner);
        let rows = for_caller(owner, || {
            Spi::connect_mut(|client| {
                let what = "listing the attached profiles";
                let profiles: Vec<(i64, String)> = client
                    .select(
                        "SELECT a.profile_id, p.name FROM lead_score.attachment_store a
                       JOIN lead_score.profile_store p ON p.id = a.profile_id
                      ORDER BY a.profile_id",
                        None,
                        &[],
                    )
                    .unwrap_or_else(|e| internal(what, e))
                    .filter_map(|r| {
                        let id = r.get::<i64>(1).unwrap_or_else(|e| internal(what, e))?;
                        let name = r.get::<String>(2).unwrap_or_else(|e| internal(what, e))?;
                        Some((id, name))
                    })
                    .collect();
                let now = decision_now_unix_micros();
                let mut rows = Vec::new();
                for (id, name) in profiles {
                    pgrx::check_for_interrupts!();
                    // Each profile in a subtransaction of its own: one whose attachment is
                    // broken (a dropped table) is rolled back alone, reported, and the
                    // sweep goes on; a cancel or a shutdown is raised again.
                    let swept = in_subtransaction(|| {
                        let cached = plan_cache::attached(client, id)?;
                        // (A profile detached while this waited is skipped: a sweep goes on.)
                        if !lock_scores(&cached, pg_sys::RowExclusiveLock) {
                            return None;
                        }
                        let attached = plan_cache::attached(client, id)?;
                        let outcome = super::tick_attachment(client, &attached, now);
                        Some((outcome.scored as i64, outcome.changed as i64))
                    });
                    match swept {
                        Ok(Some((checked, changed))) => {
                            rows.push((name, Some(checked), Some(changed)))
                        }
                        Ok(None) => {}
                        Err(error) => {
                            warn_skipped(&format!("tick() skipped profile \"{name}\""), error);
                            rows.push((name, None, None));
                        }
                    }
                }
                rows
            })
        });
        TableIterator::new(rows)
    }

    /// `lead_score.verify(profile)`: after applying what is due, every contact whose
    /// stored result differs from a full recomputation from history at the same instant
    /// (see `differences`), with what differs. Empty when correct. Runs as the
    /// extension's owner for the role that calls it, as `tick()`.
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn verify(
        profile: &str,
    ) -> TableIterator<
        'static,
        (
            name!(contact, String),
            name!(stored, Option<f64>),
            name!(recomputed, Option<f64>),
            name!(difference, String),
        ),
    > {
        // It applies what is due first, as tick() does.
        refuse_within_restricted_operation("verify()");
        // Recompute with the profile as the catalog has it, not as this backend cached it.
        plan_cache::mark_stale();
        let owner = Spi::connect(extension_owner);
        let rows = for_caller(owner, || {
            Spi::connect_mut(|client| {
                let cached = attached(client, profile);
                let attached = attached_locking(client, profile, &cached, pg_sys::RowExclusiveLock);
                // One instant for applying what is due and for comparing.
                let now = decision_now_unix_micros();
                super::tick_attachment(client, &attached, now);
                super::differences(client, &attached, now)
            })
        });
        TableIterator::new(rows)
    }
}
