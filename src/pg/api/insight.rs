//! Insight into scores (reference: "Previewing a change before publishing", and the
//! readers of "Live scores" that recompute): why a contact's score is what it is
//! (`explain`), how it got there (`score_history`), what it could do next
//! (`next_actions`), every contact's score at another time (`scores_at`), and what
//! publishing a draft or another version would change (`preview`).

use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use std::collections::HashMap;

use crate::pg::base::attached::{attached_by_name, attached_edition};
use crate::pg::base::catalog::Edition;
use crate::pg::base::clock::{from_unix_micros, now_unix_micros, to_unix_micros};
use crate::pg::base::errors::{internal, raise, Failure};
use crate::pg::base::rights::{check_may_read_tables, Covering};
use crate::pg::write::everyone::score_everyone;
use crate::pg::write::routing;
use crate::pg::write::score_rows::{standing, Standing};
use crate::pg::write::some_contacts::{compute_at, compute_into};
use crate::pg::write::summaries::Summaries;
use crate::pg::write::transitions::{all_tags, qualification_before, settle, Cause};
use lead_score_core::engine::EventSummary;
use lead_score_core::explain::{contributions, Contribution};
use lead_score_core::next_actions::{next_actions, NextAction};

/// The contributions to a contact's score as of `at`, recomputed from its history; no
/// rows for a contact that does not exist or that the caller may not see.
fn explain_contact(profile: &str, contact: &str, at: i64) -> Vec<Contribution> {
    Spi::connect(|client| {
        let attached = attached_by_name(client, profile);
        check_may_read_tables(client, &attached, "explain scores", Covering::OneContact);
        let Some(Standing { key, stage, .. }) = standing(client, &attached, contact) else {
            return Vec::new();
        };
        let mut summaries = Summaries::default();
        summaries.insert(key.clone(), EventSummary::explaining());
        let scored = compute_into(client, &attached, std::slice::from_ref(&key), at, summaries);
        let Some((_, result)) = scored.into_iter().find(|(k, _)| *k == key) else {
            return Vec::new();
        };
        let mut found = contributions(&attached.compiled, &result, at);
        // The stage it is in (since before `at`), with the points earned in it: part
        // of the event and adjustment rows above, so not added to them again.
        if let Some((stage, _, base)) = stage.filter(|(_, entered, _)| *entered <= at) {
            found.push(Contribution {
                rule_name: stage,
                kind: "stage",
                dimension: None,
                events: None,
                points: Some(result.engagement.value_at(at) - base.value_at(at)),
            });
        }
        found
    })
}

/// At most this many steps in one score history.
const MAX_STEPS: i64 = 100_000;

/// The instants from `since` to `until` (inclusive) every `step`, as Postgres counts an
/// interval (months and days by the calendar); 22023 for a step that is not positive,
/// `until` before `since`, or more than `MAX_STEPS` steps.
fn steps(client: &SpiClient<'_>, since: i64, until: i64, step: Interval) -> Vec<i64> {
    if until < since {
        raise(Failure::InvalidValue("until must not be before since".to_owned()));
    }
    let (since, until) = (from_unix_micros(since), from_unix_micros(until));
    let (positive, spelled) = client
        .select(
            "SELECT $1::pg_catalog.interval OPERATOR(pg_catalog.>) '0'::pg_catalog.interval,
                    $1::pg_catalog.text",
            Some(1),
            &[step.into()],
        )
        .and_then(|rows| rows.first().get_two::<bool, String>())
        .unwrap_or_else(|e| internal("comparing the step with zero", e));
    if positive != Some(true) {
        let spelled = spelled.unwrap_or_default();
        raise(Failure::InvalidValue(format!(
            "step must be a positive interval, got \"{spelled}\""
        )));
    }
    let instants: Vec<i64> = client
        .select(
            "SELECT pg_catalog.generate_series($1::pg_catalog.timestamptz, $2::pg_catalog.timestamptz,
                                               $3::pg_catalog.interval) LIMIT $4",
            None,
            &[since.into(), until.into(), step.into(), (MAX_STEPS + 1).into()],
        )
        .and_then(|rows| {
            rows.map(|row| {
                pgrx::check_for_interrupts!();
                row.get::<TimestampWithTimeZone>(1).map(|at| at.map(to_unix_micros))
            })
            .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_else(|e| internal("listing the steps", e))
        .into_iter()
        .flatten()
        .collect();
    if instants.len() as i64 > MAX_STEPS {
        raise(
            Failure::InvalidValue(format!("a score history has at most {MAX_STEPS} steps"))
                .hint("Use a longer step or a shorter period."),
        );
    }
    instants
}

/// A contact's score at each step from `since` to `until`, from one read of its events
/// and one of the contact; no rows for a contact that does not exist or that the caller
/// may not see.
fn history(
    profile: &str,
    contact: &str,
    since: i64,
    until: i64,
    step: Interval,
) -> Vec<(i64, f64, f64, f64)> {
    Spi::connect(|client| {
        let attached = attached_by_name(client, profile);
        check_may_read_tables(client, &attached, "recompute scores", Covering::OneContact);
        let instants = steps(client, since, until, step);
        let Some(Standing { key, .. }) = standing(client, &attached, contact) else {
            return Vec::new();
        };
        let each = instants.iter().map(|&at| (at, Summaries::default())).collect();
        let scored = compute_at(client, &attached, std::slice::from_ref(&key), each);
        instants
            .iter()
            .zip(scored)
            .filter_map(|(&at, scored)| {
                pgrx::check_for_interrupts!();
                let (_, result) = scored.into_iter().find(|(k, _)| *k == key)?;
                let engagement = result.engagement.value_at(at);
                Some((at, result.fit + engagement, result.fit, engagement))
            })
            .collect()
    })
}

/// The event rules worth most to a contact now (see `next_actions`), from its stored
/// result, read as the caller: no rows for a contact that does not exist or that the
/// caller may not see.
fn next_actions_for(profile: &str, contact: &str, n: usize, now: i64) -> Vec<NextAction> {
    Spi::connect(|client| {
        let attached = attached_by_name(client, profile);
        let Some(found) = standing(client, &attached, contact) else { return Vec::new() };
        let score = found.fit + found.engagement.value_at(now);
        let limits = &found.limits;
        next_actions(&attached.compiled, score, &found.tags, found.disqualified, limits, n)
    })
}

/// One contact in a preview: its score now and with the candidate version, their
/// ranks, and what publishing would do to it.
struct Previewed {
    contact: String,
    active_score: Option<f64>,
    new_score: f64,
    active_rank: Option<i64>,
    new_rank: i64,
    change: Option<String>,
}

/// Score every contact with the draft (or `version`) beside its stored score, in one
/// pass, writing nothing; in key order.
fn preview_contacts(profile: &str, version: Option<i32>) -> Vec<Previewed> {
    Spi::connect(|client| {
        let active = attached_by_name(client, profile);
        let edition = version.map_or(Edition::Draft, Edition::Version);
        let candidate = attached_edition(client, &active, edition);
        let routing = candidate.compiled.settings.routing.as_ref();
        if let Some(routing) = routing.filter(|_| candidate.attachment.routing_sql) {
            let attachment = &candidate.attachment;
            routing::check_routing(
                client,
                &attachment.profile_name,
                routing,
                attachment.contacts_oid,
                &attachment.contact_key_name,
            );
        }
        let now = now_unix_micros();
        let mut tags = all_tags(client, &active);
        let mut found = Vec::new();
        score_everyone(client, &candidate, now, |inner, batch, stored| {
            let before = qualification_before(batch, &stored, &mut tags);
            let mut settled = batch.clone();
            let changes = settle(&candidate, &mut settled, &before, Cause::Publish, now);
            let mut by_contact: HashMap<&str, Vec<String>> = HashMap::new();
            for (key, transition) in &changes {
                by_contact.entry(key.as_str()).or_default().push(transition.label());
            }
            // Publishing routes the contacts it gives the routing tag that have no owner.
            if let Some(routing) = routing.filter(|_| candidate.attachment.routing_sql) {
                let tagged: Vec<&str> = changes
                    .iter()
                    .filter(|(_, t)| t.describe().1 == Some(routing.tag.as_str()))
                    .filter(|(_, t)| t.describe().0 == "tagged")
                    .map(|(key, _)| key.as_str())
                    .collect();
                if !tagged.is_empty() {
                    for key in routing::unassigned(inner, &candidate, routing, &tagged, false) {
                        if let Some(said) = by_contact.get_mut(key.as_str()) {
                            said.push("routed".to_owned());
                        }
                    }
                }
            }
            for ((key, result), row) in batch.iter().zip(&stored) {
                pgrx::check_for_interrupts!();
                found.push(Previewed {
                    contact: key.clone(),
                    active_score: row.as_ref().map(|r| r.fit + r.engagement.value_at(now)),
                    new_score: result.score_at(now),
                    active_rank: None,
                    new_rank: 0,
                    change: by_contact.remove(key.as_str()).map(|c| c.join(", ")),
                });
            }
        });
        rank(&mut found);
        found
    })
}

/// Each contact's rank by new and by active score: 1 + how many score higher (as
/// `rank()` counts); no active rank without an active score.
fn rank(found: &mut [Previewed]) {
    // How many of the scores (sorted, highest first) are strictly greater.
    let rank_of = |scores: &[f64], score: f64| scores.partition_point(|s| *s > score) as i64 + 1;
    let mut new: Vec<f64> = found.iter().map(|p| p.new_score).collect();
    let mut active: Vec<f64> = found.iter().filter_map(|p| p.active_score).collect();
    new.sort_by(|a, b| b.total_cmp(a));
    active.sort_by(|a, b| b.total_cmp(a));
    for previewed in found {
        previewed.new_rank = rank_of(&new, previewed.new_score);
        previewed.active_rank = previewed.active_score.map(|score| rank_of(&active, score));
    }
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
    /// `lead_score.score_history(profile, contact, since, until, step)`: the contact's
    /// score at each step from `since` to `until` (default: the extension's clock), each
    /// as exact as `score(profile, contact, at)`.
    #[pg_extern(stable, parallel_restricted)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn score_history(
        profile: Option<&str>,
        contact: Option<&str>,
        since: Option<TimestampWithTimeZone>,
        until: default!(Option<TimestampWithTimeZone>, "NULL"),
        step: default!(Option<Interval>, "'1 day'"),
    ) -> TableIterator<
        'static,
        (
            name!(at, TimestampWithTimeZone),
            name!(score, f64),
            name!(fit_score, f64),
            name!(engagement_score, f64),
        ),
    > {
        // Not STRICT (`until` may be NULL): a NULL profile, key, start or step gives no rows.
        let rows = match (profile, contact, since, step) {
            (Some(profile), Some(contact), Some(since), Some(step)) => {
                let until = until.map_or_else(now_unix_micros, to_unix_micros);
                history(profile, contact, to_unix_micros(since), until, step)
            }
            _ => Vec::new(),
        };
        TableIterator::new(
            rows.into_iter()
                .map(|(at, score, fit, engagement)| (from_unix_micros(at), score, fit, engagement)),
        )
    }

    /// `lead_score.next_actions(profile, contact, n)`: the `n` positive event rules that
    /// would add the most points if the contact did them now, with the tags they would
    /// give.
    #[pg_extern(stable)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn next_actions(
        profile: Option<&str>,
        contact: Option<&str>,
        n: default!(Option<i32>, 3),
    ) -> TableIterator<
        'static,
        (
            name!(rule_name, String),
            name!(event, String),
            name!(points, f64),
            name!(crosses, Option<String>),
        ),
    > {
        let n = match n {
            None => 3,
            Some(n) if n >= 0 => n as usize,
            Some(n) => raise(Failure::InvalidValue(format!("n must not be negative, got {n}"))),
        };
        // Not STRICT (`n` may be NULL): a NULL profile or key suggests nothing.
        let found = match (profile, contact) {
            (Some(profile), Some(contact)) => {
                next_actions_for(profile, contact, n, now_unix_micros())
            }
            _ => Vec::new(),
        };
        TableIterator::new(found.into_iter().map(|a| (a.rule_name, a.event, a.points, a.crosses)))
    }

    /// `lead_score.scores_at(profile, at)`: every contact as it stood at `at`,
    /// recomputed from history in one pass (events after `at` not yet counted, windows
    /// and limits judged at `at`; contact and account fields as they are now); writes
    /// nothing. In key order.
    #[pg_extern(security_definer)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn scores_at(
        profile: &str,
        at: TimestampWithTimeZone,
    ) -> TableIterator<
        'static,
        (
            name!(contact, String),
            name!(score, f64),
            name!(fit_score, f64),
            name!(engagement_score, f64),
            name!(disqualified, bool),
        ),
    > {
        let at = to_unix_micros(at);
        let mut rows = Vec::new();
        Spi::connect(|client| {
            let attached = attached_by_name(client, profile);
            score_everyone(client, &attached, at, |_, batch, _| {
                rows.extend(batch.drain(..).map(|(key, result)| {
                    let engagement = result.engagement.value_at(at);
                    let disqualified = !result.disqualified_by.is_empty();
                    (key, result.fit + engagement, result.fit, engagement, disqualified)
                }));
            });
        });
        TableIterator::new(rows)
    }

    /// `lead_score.preview(profile, version)`: every contact scored with the draft (or
    /// a published `version`) beside its score now, with both ranks and what publishing
    /// would do to it; writes nothing. By new rank, then contact.
    #[pg_extern(security_definer)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn preview(
        profile: Option<&str>,
        version: default!(Option<i32>, "NULL"),
    ) -> TableIterator<
        'static,
        (
            name!(contact, String),
            name!(active_score, Option<f64>),
            name!(new_score, f64),
            name!(active_rank, Option<i64>),
            name!(new_rank, i64),
            name!(change, Option<String>),
        ),
    > {
        // Not STRICT (`version` may be NULL): a NULL profile previews nothing.
        let Some(profile) = profile else { return TableIterator::new(Vec::new()) };
        let mut found = preview_contacts(profile, version);
        found.sort_by_key(|p| p.new_rank);
        TableIterator::new(
            found.into_iter().map(|p| {
                (p.contact, p.active_score, p.new_score, p.active_rank, p.new_rank, p.change)
            }),
        )
    }
}
