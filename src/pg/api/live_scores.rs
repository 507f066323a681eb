//! Live scores (reference: "Live scores"): the triggers that keep an attached profile's
//! scores current, its maintenance (`rescore`, `tick`, `verify`), its readers for
//! everyone (a contact's `score`, the tally of events in `stats`), and the small
//! functions the scores views, attach, detach and publish use.

use std::collections::BTreeMap;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;
use serde_json::{Map, Value as Json};

use crate::pg::base::attached::{
    self, attached_by_name as attached, attached_locking, lock_scores,
};
use crate::pg::base::attachment::Attachment;
use crate::pg::base::clock::{
    clock_simulated, decision_now_unix_micros, now_unix_micros, to_unix_micros,
};
use crate::pg::base::errors::{
    in_subtransaction, internal, raise, spi_failed, warn_skipped, Failure,
};
use crate::pg::base::locks;
use crate::pg::base::queries::Watched;
use crate::pg::base::rights::{
    as_crm_owner, check_may_read_tables, extension_owner, for_caller,
    refuse_within_restricted_operation, Covering,
};
use crate::pg::read::top_scores::{top_scores, TopAsked};
use crate::pg::write::accounts::refresh_accounts;
use crate::pg::write::maintenance::{self, differences, rescore_all, tick_attachment};
use crate::pg::write::score_rows::standing;
use crate::pg::write::some_contacts::{compute_batch, rescore_contacts};
use crate::pg::write::statement::keep_current;
use crate::pg::write::summaries::stored_key;
use crate::pg::write::transitions::Cause;
use lead_score_core::decay::DecayedSum;
use lead_score_core::engine::EventTally;

/// The entries of a dimensions object that are decayed sums; anything else is skipped.
fn decayed_entries(dimensions: Json) -> impl Iterator<Item = (String, DecayedSum)> {
    let entries = match dimensions {
        Json::Object(entries) => entries,
        _ => Map::new(),
    };
    entries.into_iter().filter_map(|(label, sum)| {
        let sum: DecayedSum = serde_json::from_value(sum).ok()?;
        Some((label, sum))
    })
}

fn event_stats(client: &SpiClient<'_>, attachment: &Attachment) -> Vec<(String, i64)> {
    let sums = format!(
        "SELECT coalesce(sum(tally[1]), 0)::bigint, coalesce(sum(tally[2]), 0)::bigint, coalesce(sum(tally[3]), 0)::bigint,
                coalesce(sum(tally[4]), 0)::bigint, coalesce(sum(tally[5]), 0)::bigint, coalesce(sum(tally[6]), 0)::bigint
           FROM {}",
        attachment.state_table
    );
    let orphans = format!(
        "SELECT count(*) FILTER (WHERE e.{contact} IS NULL),
                count(*) FILTER (WHERE e.{contact} IS NOT NULL
                                   AND {gone})
           FROM {events} e",
        contact = attachment.event_contact,
        gone = attachment.no_contact(&format!("e.{}", attachment.event_contact)),
        events = attachment.events
    );
    let mut counts = vec![0i64; 8];
    let sums = client
        .select(&sums, Some(1), &[])
        .unwrap_or_else(|e| spi_failed(attachment, "counting scored events", e));
    let row = sums.first();
    for (i, count) in counts.iter_mut().take(6).enumerate() {
        *count = row
            .get::<i64>(i + 1)
            .unwrap_or_else(|e| spi_failed(attachment, "counting scored events", e))
            .unwrap_or(0);
    }
    // Reading the events table: as its owner.
    as_crm_owner(attachment.crm_owner, |_| {
        let found = client
            .select(&orphans, Some(1), &[])
            .unwrap_or_else(|e| spi_failed(attachment, "counting events without a contact", e));
        let row = found.first();
        let count = |column| {
            row.get::<i64>(column)
                .unwrap_or_else(|e| spi_failed(attachment, "counting events without a contact", e))
                .unwrap_or(0)
        };
        counts[6] = count(1);
        counts[7] = count(2);
    });
    EventTally::REASONS
        .iter()
        .chain(&["null_contact", "unknown_contact"])
        .zip(counts)
        .map(|(reason, count)| (reason.to_string(), count))
        .collect()
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.stats(profile)`: how many events were scored, and how many were
    /// ignored and why, so that silent drops are visible. The counts cover every event
    /// and contact: for a caller who may read all of the attached tables (42501 if not).
    /// It runs as the caller (the score rows it sums are readable by it then).
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn stats(profile: &str) -> TableIterator<'static, (name!(reason, String), name!(events, i64))> {
        let rows = Spi::connect(|client| {
            let attached = attached(client, profile);
            check_may_read_tables(client, &attached, "count the events", Covering::AnyContact);
            super::event_stats(client, &attached.attachment)
        });
        TableIterator::new(rows)
    }

    /// `lead_score.score(profile, contact, at)`: a contact's score. Without `at`, at
    /// the extension's clock, read in O(1) from its stored sums; with `at`, as it stood
    /// (or will stand) at `at`, recomputed from the contact's events. NULL for a contact
    /// that does not exist or that the caller may not see. (Parallel restricted: the
    /// recompute reads the CRM's tables as their owner, which a parallel worker cannot
    /// switch to.)
    #[pg_extern(stable, parallel_restricted)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn score(
        profile: Option<&str>,
        contact: Option<&str>,
        at: default!(Option<TimestampWithTimeZone>, "NULL"),
    ) -> Option<f64> {
        // Not STRICT (`at` may be NULL), so NULL profiles and keys arrive here: no score.
        let (profile, contact) = (profile?, contact?);
        Spi::connect(|client| {
            let attached = attached(client, profile);
            // (An unknown contact, or one the caller may not see: NULL.)
            let found = standing(client, &attached, contact)?;
            let Some(at) = at else {
                return Some(found.fit + found.engagement.value_at(now_unix_micros()));
            };
            // Exact at any time: the contact's history as of `at`, which shows when its
            // events happened: for callers who may read the attached tables.
            check_may_read_tables(client, &attached, "recompute scores", Covering::OneContact);
            let at = to_unix_micros(at);
            let scored = compute_batch(client, &attached, std::slice::from_ref(&found.key), at);
            scored.into_iter().find(|(k, _)| *k == found.key).map(|(_, r)| r.score_at(at))
        })
    }

    /// `lead_score.top(profile, n, min_score, pql, disqualified)`: the `n` best
    /// contacts by current score (all for NULL), best first, at least `min_score`, and
    /// with `pql` / `disqualified` as given (either for NULL): what `ORDER BY score DESC
    /// LIMIT n` over the scores view returns, read from the score rows in descending
    /// ceiling order (an index) until no later row can beat the ones found (every row,
    /// with `lead_score.now` set). Read as the caller, as the view is.
    #[pg_extern(stable)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn top(
        profile: Option<&str>,
        n: default!(Option<i32>, 100),
        min_score: default!(Option<f64>, "NULL"),
        pql: default!(Option<bool>, "NULL"),
        disqualified: default!(Option<bool>, "NULL"),
    ) -> TableIterator<'static, (name!(contact, String), name!(score, f64))> {
        let Some(profile) = profile else {
            raise(Failure::NullValue("lead_score.top: the profile is NULL".to_owned()))
        };
        let n = match n {
            Some(n) if n < 0 => raise(Failure::InvalidValue(format!(
                "lead_score.top: n must be 0 or more (NULL: every contact), got {n}"
            ))),
            n => n.map(|n| n as usize),
        };
        if min_score.is_some_and(f64::is_nan) {
            raise(Failure::InvalidValue("lead_score.top: min_score is NaN".to_owned()));
        }
        let asked = TopAsked { every_row: clock_simulated(), n, min_score, pql, disqualified };
        let found = Spi::connect(|client| {
            let attached = attached(client, profile);
            top_scores(client, &attached, &asked, now_unix_micros()).0
        });
        TableIterator::new(found.into_iter().map(|f| (f.key, f.score)))
    }

    /// `lead_score.dimension_scores(dimensions, at)`: each dimension's worth at `at`.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn dimension_scores(dimensions: JsonB, at: TimestampWithTimeZone) -> JsonB {
        let at = to_unix_micros(at);
        JsonB(Json::Object(
            super::decayed_entries(dimensions.0)
                .map(|(label, sum)| (label, Json::from(sum.value_at(at))))
                .collect(),
        ))
    }

    /// `lead_score.dimensions_add(a, b)`: two stored dimension sums (label to decayed
    /// sum) added label by label. Used by the triggers' fast path.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn dimensions_add(a: JsonB, b: JsonB) -> JsonB {
        let mut sums: BTreeMap<String, DecayedSum> = super::decayed_entries(a.0).collect();
        for (label, sum) in super::decayed_entries(b.0) {
            sums.entry(label).or_default().merge(&sum);
        }
        JsonB(serde_json::to_value(sums).unwrap_or_else(|_| Json::Object(Map::new())))
    }

    /// `lead_score.rescore(profile)`: recompute every contact; returns how many. (Its
    /// entry records the caller: see `api::rights::lead_score_for_caller`.)
    #[pg_extern(security_definer, name = "rescore_for_caller")]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn rescore(profile: &str) -> i64 {
        refuse_within_restricted_operation("rescore()");
        // A full rescore reloads the profile rather than trust this backend's cache.
        attached::mark_stale();
        Spi::connect_mut(|client| rescore_all(client, profile, Cause::Rescore) as i64)
    }

    /// `lead_score.rescore_for(profile, cause)`: `rescore(profile)` on behalf of
    /// publish or attach, which is what their transitions record. Internal.
    #[pg_extern(security_definer)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn rescore_for(profile: &str, cause: &str) -> i64 {
        refuse_within_restricted_operation("rescore()");
        let cause = Cause::parse(cause).unwrap_or(Cause::Rescore);
        attached::mark_stale();
        Spi::connect_mut(|client| rescore_all(client, profile, cause) as i64)
    }

    /// `lead_score.rescore_events_in(profile, tables)`: rescore the contacts with an
    /// event in `tables`, which just became or stopped being partitions of the profile's
    /// events table (the schema guard's `follow_partitions`). Internal.
    #[pg_extern(security_definer)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn rescore_events_in(profile: &str, tables: Vec<pg_sys::Oid>) -> i64 {
        refuse_within_restricted_operation("rescore()");
        attached::mark_stale();
        Spi::connect_mut(|client| {
            maintenance::rescore_events_in(client, profile, &tables, Cause::Rescore) as i64
        })
    }

    /// `lead_score.rescore(profile, contact)`: recompute one contact (its key in the
    /// contacts' key type, or as text); returns 1 when it exists, 0 otherwise. (Its
    /// entry records the caller: see `api::rights::lead_score_for_caller`.)
    #[pg_extern(security_definer, name = "rescore_for_caller")]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn rescore_one(profile: &str, contact: &str) -> i64 {
        refuse_within_restricted_operation("rescore()");
        Spi::connect_mut(|client| {
            let cached = attached(client, profile);
            let attached = attached_locking(client, profile, &cached, pg_sys::RowExclusiveLock);
            let now = now_unix_micros();
            let scored =
                rescore_contacts(client, &attached, &[contact.to_owned()], now, Cause::Rescore);
            // (Account rows name the key as the key type prints it: '007' is 7.)
            let key = stored_key(client, &attached, contact);
            refresh_accounts(client, &attached, &[key], None, now, Cause::Rescore);
            scored.scored as i64
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
                        let cached = attached::attached(client, id)?;
                        // (A profile detached while this waited is skipped: a sweep goes on.)
                        if !lock_scores(&cached, pg_sys::RowExclusiveLock) {
                            return None;
                        }
                        let attached = attached::attached(client, id)?;
                        let outcome = tick_attachment(client, &attached, now);
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
        attached::mark_stale();
        let owner = Spi::connect(extension_owner);
        let rows = for_caller(owner, || {
            Spi::connect_mut(|client| {
                let cached = attached(client, profile);
                let attached = attached_locking(client, profile, &cached, pg_sys::RowExclusiveLock);
                // One instant for applying what is due and for comparing.
                let now = decision_now_unix_micros();
                tick_attachment(client, &attached, now);
                differences(client, &attached, now)
            })
        });
        TableIterator::new(rows)
    }

    #[pg_trigger]
    fn on_events_change<'a>(
        trigger: &'a pgrx::PgTrigger<'a>,
    ) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, pgrx::PgTriggerError> {
        keep_current(trigger, Watched::Events);
        Ok(None)
    }

    #[pg_trigger]
    fn on_contacts_change<'a>(
        trigger: &'a pgrx::PgTrigger<'a>,
    ) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, pgrx::PgTriggerError> {
        keep_current(trigger, Watched::Contacts);
        Ok(None)
    }

    #[pg_trigger]
    fn on_accounts_change<'a>(
        trigger: &'a pgrx::PgTrigger<'a>,
    ) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, pgrx::PgTriggerError> {
        keep_current(trigger, Watched::Accounts);
        Ok(None)
    }

    /// `lead_score.lock_together(relations, mode)`: `lock_together` for attach and
    /// detach, every relation in one mode (NULLs skipped). Internal, executable by the
    /// extension's owner only: it locks any relation, without a privilege check.
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn lock_together(relations: Vec<Option<pg_sys::Oid>>, mode: &str) {
        let Some(mode) = locks::lock_mode(mode) else {
            internal("lock_together", format!("no lock mode {mode}"))
        };
        let locks: Vec<(pg_sys::Oid, u32)> =
            relations.into_iter().flatten().map(|oid| (oid, mode)).collect();
        locks::lock_together(&locks);
    }

    /// `lead_score.invalidate_scoring_cache()`: make every backend reload attached
    /// profiles (this one at once, others when this transaction commits). Called by
    /// attach, detach and publish; not for users.
    #[pg_extern(security_definer)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn invalidate_scoring_cache() {
        attached::mark_stale();
        let oid = Spi::connect(attached::attachment_store_oid);
        if oid != pg_sys::InvalidOid {
            // SAFETY: a plain relation oid; the message is sent at commit.
            unsafe { pg_sys::CacheInvalidateRelcacheByRelid(oid) };
        }
    }
}
