//! Insight into scores: why a contact's score is what it is (`explain`).

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::pg::attachment::spi_failed;
use crate::pg::clock::{now_unix_micros, to_unix_micros};
use crate::pg::errors::{raise, Failure};
use crate::pg::params::Params;
use crate::pg::plan_cache::{attached_by_name, run, Attached, Statement};
use crate::pg::some_contacts::compute_into;
use crate::pg::summaries::{stored_key, Summaries};
use crate::scoring::engine::EventSummary;
use crate::scoring::explain::{contributions, Contribution};

/// Whether the caller may see the contact's score (row-level security on the score
/// rows follows the contacts table's), read as the caller.
fn visible(client: &SpiClient<'_>, attached: &Attached, key: &str) -> bool {
    let mut params = Params::default();
    let key = params.bind(key);
    let read = attached.statement(client, Statement::Visible, &params, false, || {
        let attachment = &attached.attachment;
        format!(
            "SELECT FROM {} WHERE contact_key = {key}::text::{}",
            attachment.state_table, attachment.key_type
        )
    });
    !run(client, attached, &read, "checking a contact's visibility", &params).is_empty()
}

/// An explanation shows what the attached tables hold about a contact (how many of its
/// events each rule counted): the caller must be allowed to read them all. 42501 if not.
fn check_may_read_tables(client: &SpiClient<'_>, attached: &Attached) {
    let attachment = &attached.attachment;
    let tables: Vec<pg_sys::Oid> = [attachment.contacts_oid, attachment.events_oid]
        .into_iter()
        .chain(attachment.accounts_oid)
        .collect();
    let what = "checking privileges on the attached tables";
    let allowed = client
        .select(
            "SELECT pg_catalog.bool_and(pg_catalog.has_table_privilege(r, 'SELECT'))
               FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS r",
            Some(1),
            &[tables.into()],
        )
        .and_then(|rows| rows.first().get_one::<bool>())
        .unwrap_or_else(|e| spi_failed(attachment, what, e));
    if allowed != Some(true) {
        raise(
            Failure::InsufficientPrivilege(format!(
                "permission denied to explain scores of profile \"{}\"",
                attachment.profile_name
            ))
            .hint("An explanation shows what the attached tables hold: it needs SELECT on each of them."),
        );
    }
}

/// The contributions to a contact's score as of `at`, recomputed from its history; no
/// rows for a contact that does not exist or that the caller may not see.
fn explain_contact(profile: &str, contact: &str, at: i64) -> Vec<Contribution> {
    Spi::connect(|client| {
        let attached = attached_by_name(client, profile);
        check_may_read_tables(client, &attached);
        let key = stored_key(client, &attached, contact);
        if !visible(client, &attached, &key) {
            return Vec::new();
        }
        let mut summaries = Summaries::default();
        summaries.insert(key.clone(), EventSummary::explaining());
        let scored = compute_into(client, &attached, std::slice::from_ref(&key), at, summaries);
        match scored.into_iter().find(|(k, _)| *k == key) {
            Some((_, result)) => contributions(&attached.compiled, &result, at),
            None => Vec::new(),
        }
    })
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.explain(profile, contact, at)`: one row per rule behind the contact's
    /// score at `at` (default: the extension's clock); the points add up to the score.
    #[pg_extern(stable)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn explain(
        profile: Option<&str>,
        contact: Option<&str>,
        at: default!(Option<TimestampWithTimeZone>, "NULL"),
    ) -> TableIterator<
        'static,
        (
            name!(rule_name, String),
            name!(kind, String),
            name!(dimension, Option<String>),
            name!(events, Option<i64>),
            name!(points, Option<f64>),
        ),
    > {
        // Not STRICT (`at` may be NULL): a NULL profile or key explains nothing.
        let rows = match (profile, contact) {
            (Some(profile), Some(contact)) => {
                let at = at.map_or_else(now_unix_micros, to_unix_micros);
                explain_contact(profile, contact, at)
            }
            _ => Vec::new(),
        };
        TableIterator::new(rows.into_iter().map(|c| {
            (c.rule_name, c.kind.to_owned(), c.dimension, c.events.map(|n| n as i64), c.points)
        }))
    }
}
