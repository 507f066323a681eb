//! Evaluating a profile against outcomes (reference: "Evaluating a profile against
//! outcomes"; `evaluate`, `evaluate_bands`): read a relation of outcomes as the caller
//! (`read::outcomes`), score each of its contacts as of its own instant, and hand the
//! pairs to the core's metrics (`lead_score_core::evaluation`).

use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde_json::Value as Json;

use crate::pg::base::attached::{attached_by_name, attached_edition, Attached};
use crate::pg::base::catalog::Edition;
use crate::pg::base::rights::{check_may_read_tables, Covering};
use crate::pg::read::outcomes::{outcomes_relation, parse_options, read_outcomes, OptionsFor};
use crate::pg::write::score_rows::BATCH;
use crate::pg::write::some_contacts::compute_as_of;
use lead_score_core::evaluation::{bands, metrics, BandBy, Observation};

/// What evaluating found: each contact's observation, with the counts of rows ignored
/// (NULLs) and of contacts that do not exist.
struct Evaluated {
    attached: Rc<Attached>,
    observations: Vec<Observation>,
    ignored: u64,
    unknown: u64,
    /// How `evaluate_bands()` groups them.
    by: BandBy,
}

/// Score every contact of `outcomes` as of its instant with the edition the options
/// name, beside its outcome.
fn evaluate_outcomes(
    profile: &str,
    outcomes: pg_sys::Oid,
    options: &Json,
    function: OptionsFor,
) -> Evaluated {
    Spi::connect(|client| {
        let active = attached_by_name(client, profile);
        check_may_read_tables(client, &active, "evaluate scores", Covering::AnyContact);
        let options = parse_options(options, &active, function);
        let attached = match options.edition {
            Edition::Active => active,
            edition => Rc::new(attached_edition(client, &active, edition)),
        };
        let relation = outcomes_relation(client, &attached, outcomes, &options);
        let (rows, ignored) = read_outcomes(client, &attached, &relation, &options);
        let mut observations = Vec::with_capacity(rows.len());
        for batch in rows.chunks(BATCH) {
            pgrx::check_for_interrupts!();
            let as_of: Vec<(String, i64)> = batch.iter().map(|o| (o.key.clone(), o.at)).collect();
            let converted: std::collections::HashMap<&str, bool> =
                batch.iter().map(|o| (o.key.as_str(), o.converted)).collect();
            for (key, result, at) in compute_as_of(client, &attached, &as_of, false) {
                observations.push(Observation {
                    score: result.score_at(at),
                    converted: converted.get(key.as_str()).copied().unwrap_or(false),
                    disqualified: !result.disqualified_by.is_empty(),
                });
            }
        }
        let unknown = (rows.len() - observations.len()) as u64;
        Evaluated { attached, observations, ignored, unknown, by: options.by }
    })
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.evaluate(profile, outcomes, options)`: how well the profile's scores,
    /// each as of the instant a prediction would have been made, rank and tag the
    /// contacts that converted.
    #[pg_extern(stable, parallel_restricted)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn evaluate(
        profile: &str,
        outcomes: PgRelation,
        options: default!(JsonB, "'{}'"),
    ) -> TableIterator<'static, (name!(metric, String), name!(value, Option<f64>))> {
        let found = evaluate_outcomes(profile, outcomes.oid(), &options.0, OptionsFor::Evaluate);
        let mut rows = metrics(&found.attached.compiled.settings, &found.observations);
        rows.insert(2, ("ignored".to_owned(), Some(found.ignored as f64)));
        rows.insert(3, ("unknown_contacts".to_owned(), Some(found.unknown as f64)));
        TableIterator::new(rows)
    }

    /// `lead_score.evaluate_bands(profile, outcomes, options)`: conversion by band of
    /// score (deciles), of the 1–100 score, or of stars.
    #[pg_extern(stable, parallel_restricted)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    #[allow(clippy::type_complexity)]
    fn evaluate_bands(
        profile: &str,
        outcomes: PgRelation,
        options: default!(JsonB, "'{}'"),
    ) -> TableIterator<
        'static,
        (
            name!(band, String),
            name!(low, Option<f64>),
            name!(high, Option<f64>),
            name!(contacts, i64),
            name!(positives, i64),
            name!(rate, Option<f64>),
        ),
    > {
        let found = evaluate_outcomes(profile, outcomes.oid(), &options.0, OptionsFor::Bands);
        let banded = bands(&found.attached.compiled.settings, &found.observations, found.by);
        TableIterator::new(
            banded
                .into_iter()
                .map(|b| (b.name, b.low, b.high, b.contacts as i64, b.positives as i64, b.rate)),
        )
    }
}
