//! Readers of attached profiles, for everyone: a contact's score, the tally of events
//! (`stats`), and the small functions the scores views and attach use.

use std::collections::BTreeMap;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;
use serde_json::{Map, Value as Json};

use crate::pg::attachment::{spi_failed, Attachment};
use crate::pg::clock::{now_unix_micros, to_unix_micros};
use crate::pg::identity::as_crm_owner;
use crate::pg::insight::{check_may_read_tables, Covering};
use crate::pg::jsonb::AnyJsonb;
use crate::pg::plan_cache::attached_by_name as attached;
use crate::pg::score_rows::standing;
use crate::pg::some_contacts::compute_batch;
use lead_score_core::condition::Source;
use lead_score_core::decay::DecayedSum;
use lead_score_core::engine::EventTally;
use lead_score_core::rule::Rule;

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

    /// `lead_score.rule_fields(rule)`: the fields a valid rule reads, with where they
    /// come from (`contact`, `account`, `event`, `props`) and the column they name.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn rule_fields(
        rule: AnyJsonb,
    ) -> TableIterator<
        'static,
        (name!(source, String), name!(field, String), name!(column_name, String)),
    > {
        let rows: Vec<(String, String, String)> = match Rule::compile(&rule.0) {
            Err(_) => Vec::new(),
            Ok(rule) => rule
                .fields()
                .into_iter()
                .map(|f| {
                    let source = match f.source {
                        Source::Contact => "contact",
                        Source::Account => "account",
                        Source::Event => "event",
                        Source::Props => "props",
                    };
                    (source.to_owned(), f.text.clone(), f.path.join("."))
                })
                .collect(),
        };
        TableIterator::new(rows)
    }
}
