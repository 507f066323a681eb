//! Learning a profile from outcomes (reference: "Learning a profile from outcomes";
//! `train`): candidate rules generated from the CRM's own data (`read::candidates`),
//! each contact's value of each candidate as of its instant (computed by the scoring
//! itself, so the learned rules score exactly what was learned), a ridge logistic
//! regression (`lead_score_core::learning`), and the result written into the profile's
//! draft as ordinary rules, with the likelihood that turns scores back into
//! probabilities.

use std::collections::HashMap;
use std::time::Instant;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::{JsonB, PgRelation};
use serde_json::{json, Value as Json};

use crate::pg::base::attached::{attached_by_name, Attached};
use crate::pg::base::errors::{internal, raise, Failure};
use crate::pg::base::rights::{check_may_read_tables, Covering};
use crate::pg::read::candidates::{candidates, Known};
use crate::pg::read::outcomes::{
    outcomes_relation, parse_options, read_outcomes, OptionsFor, Outcome, OutcomeOptions,
};
use crate::pg::write::score_rows::BATCH;
use crate::pg::write::some_contacts::compute_as_of;
use lead_score_core::candidates::{half_lives, number_values, Candidate};
use lead_score_core::engine::CompiledProfile;
use lead_score_core::learning::Split;
use lead_score_core::training::{choose_model, count, Row, Splitting};

/// Both outcomes need at least this many contacts in the training split.
const MIN_PER_OUTCOME: usize = 20;
/// At most this many candidate rules: each Newton step solves a system as large as the
/// candidates (its cost grows with their cube, its memory with their square), so a
/// table of hundreds of columns would train for minutes on gigabytes.
const MAX_CANDIDATES: usize = 400;

/// Each contact's value of each candidate as of its instant: 1 when a fit candidate
/// holds, an event candidate's decayed worth at one point per event.
fn candidate_values(
    client: &SpiClient<'_>,
    attached: &Attached,
    candidates: &[Candidate],
    outcomes: &[(String, bool, i64, Split)],
) -> Vec<Row> {
    let rules: Vec<(String, Json)> =
        candidates.iter().enumerate().map(|(i, c)| (format!("c{i}"), c.rule.clone())).collect();
    let compiled = CompiledProfile::compile(&json!({}), &rules)
        .unwrap_or_else(|e| internal("compiling the candidate rules", format!("{e:?}")));
    let candidate = Attached::with_compiled(client, attached.attachment.clone(), compiled);
    let mut rows = Vec::with_capacity(outcomes.len());
    for batch in outcomes.chunks(BATCH) {
        check_for_interrupts!();
        let as_of: Vec<(String, i64)> =
            batch.iter().map(|(k, _, at, _)| (k.clone(), *at)).collect();
        let by_key: HashMap<&str, (bool, Split)> =
            batch.iter().map(|(k, c, _, s)| (k.as_str(), (*c, *s))).collect();
        for (key, result, at) in compute_as_of(client, &candidate, &as_of, true) {
            check_for_interrupts!();
            let Some(&(converted, split)) = by_key.get(key.as_str()) else { continue };
            let mut values = vec![0.0; candidates.len()];
            for &index in &result.fit_rules {
                values[index] = 1.0;
            }
            for (&index, worth) in &result.by_rule {
                values[index] = worth.points.value_at(at);
            }
            rows.push(Row { converted, split, values });
        }
    }
    rows
}

/// Training writes the draft through the editing functions: 42501 before any work for
/// a caller who may not execute them.
fn check_may_edit(client: &SpiClient<'_>, profile: &str) {
    let allowed = client
        .select(
            "SELECT pg_catalog.has_function_privilege('lead_score.add_rule(text, text, jsonb)', 'EXECUTE')
                AND pg_catalog.has_function_privilege('lead_score.remove_rule(text, text)', 'EXECUTE')
                AND pg_catalog.has_function_privilege('lead_score.update_profile(text, text, text, jsonb)', 'EXECUTE')",
            Some(1),
            &[],
        )
        .and_then(|rows| rows.first().get_one::<bool>())
        .unwrap_or_else(|e| internal("checking the right to edit profiles", e));
    if allowed != Some(true) {
        raise(
            Failure::InsufficientPrivilege(format!(
                "permission denied to train profile \"{profile}\": training writes its draft"
            ))
            .hint(
                "Training needs the right to edit profiles: see \"Who may edit\" in the reference.",
            ),
        );
    }
}

/// Which split each outcome is in (see `Splitting`): the outcomes in one, with how
/// many are in none.
fn assign_splits(
    read: Vec<Outcome>,
    options: &OutcomeOptions,
) -> (Vec<(String, bool, i64, Split)>, u64) {
    let splitting = match options.split {
        None => Splitting::ByKey,
        Some(_) => Splitting::ByColumn(&options.split_names),
    };
    let mut split = Vec::with_capacity(read.len());
    let mut ignored = 0;
    for outcome in read {
        check_for_interrupts!();
        match splitting.split(&outcome.key, outcome.split.as_deref()) {
            Some(s) => split.push((outcome.key, outcome.converted, outcome.at, s)),
            None => ignored += 1,
        }
    }
    (split, ignored)
}

/// Learn `profile`'s draft from `outcomes`: returns train's metrics.
fn train_profile(
    profile: &str,
    outcomes: pg_sys::Oid,
    options: &Json,
) -> Vec<(String, Option<f64>)> {
    let started = Instant::now();
    Spi::connect(|client| {
        let attached = attached_by_name(client, profile);
        check_may_read_tables(client, &attached, "learn from the tables", Covering::AnyContact);
        check_may_edit(client, profile);
        let options = parse_options(options, &attached, OptionsFor::Train);
        let relation = outcomes_relation(client, &attached, outcomes, &options);
        let (read, unread) = read_outcomes(client, &attached, &relation, &options);
        let (outcomes, unsplit) = assign_splits(read, &options);
        let own = &attached.compiled.settings.half_life;
        let half_lives = half_lives(&own.to_string(), own.seconds());
        let known = Known::of(&outcomes);
        let identifiers = &options.identifiers;
        let mut candidates = candidates(client, &attached, &known, &half_lives, identifiers);
        if !options.value_names {
            number_values(&mut candidates);
        }
        check_candidates(profile, candidates.len());
        let rows = candidate_values(client, &attached, &candidates, &outcomes);
        check_outcomes(profile, &rows);
        let between = &mut || {
            check_for_interrupts!();
        };
        let Some(chosen) = choose_model(&rows, &candidates, half_lives.len(), between) else {
            internal("training", "no model could be fitted");
        };
        let points_per_doubling = options.points_per_doubling;
        let learned = chosen.rules(&candidates, points_per_doubling);
        let intercept = chosen.fitted.model.intercept;
        write_draft(client, profile, &learned, intercept, points_per_doubling);
        let mut auc = |split: Split| chosen.auc(&rows, split, between);
        vec![
            ("contacts".to_owned(), Some(rows.len() as f64)),
            ("ignored".to_owned(), Some((unread + unsplit) as f64)),
            ("candidates".to_owned(), Some(chosen.columns.len() as f64)),
            ("rules".to_owned(), Some(learned.len() as f64)),
            ("auc_train".to_owned(), auc(Split::Train)),
            ("auc_valid".to_owned(), auc(Split::Valid)),
            ("auc_test".to_owned(), auc(Split::Test)),
            ("log_loss_valid".to_owned(), Some(chosen.fitted.valid_log_loss)),
            ("brier_valid".to_owned(), Some(chosen.brier_valid())),
            ("lambda".to_owned(), Some(chosen.fitted.lambda)),
            ("half_life_days".to_owned(), Some(half_lives[chosen.half_life].1)),
            ("intercept".to_owned(), Some(intercept)),
            ("points_per_doubling".to_owned(), Some(points_per_doubling)),
            ("seconds".to_owned(), Some(started.elapsed().as_secs_f64())),
        ]
    })
}

/// 22023 for tables that offer no candidate; 54000 for more than `MAX_CANDIDATES`.
fn check_candidates(profile: &str, candidates: usize) {
    if candidates == 0 {
        raise(Failure::InvalidValue(format!(
            "profile \"{profile}\": the attached tables offer nothing to learn from"
        ))
        .hint("Learning reads text, boolean and number columns of the contacts and accounts, and the events' types."));
    }
    if candidates > MAX_CANDIDATES {
        raise(Failure::TooMuch(format!(
            "profile \"{profile}\": the attached tables offer {candidates} candidate rules; training takes at most {MAX_CANDIDATES}"
        ))
        .hint("Each text column of the contacts and accounts gives a candidate per value at least 2% of rows hold (up to 60), each boolean, number and time column a few, each frequent event type one per half-life tried; attach tables with fewer columns."));
    }
}

/// 22023 for fewer than `MIN_PER_OUTCOME` contacts of either outcome in the training
/// split, or an empty validation split.
fn check_outcomes(profile: &str, rows: &[Row]) {
    let (positives, negatives) =
        (count(rows, Split::Train, true), count(rows, Split::Train, false));
    if positives < MIN_PER_OUTCOME || negatives < MIN_PER_OUTCOME {
        raise(Failure::InvalidValue(format!(
            "profile \"{profile}\": too few outcomes to learn from: the training split has {positives} contacts that converted and {negatives} that did not"
        ))
        .hint(format!("Each needs at least {MIN_PER_OUTCOME}.")));
    }
    if count(rows, Split::Valid, true) + count(rows, Split::Valid, false) == 0 {
        raise(Failure::InvalidValue(format!(
            "profile \"{profile}\": the validation split is empty"
        )));
    }
}

/// Replace the draft's fit and event rules with `learned` (its disqualifiers stay) and
/// set its likelihood, through the editing functions, as the caller: only a role that
/// may edit the profile can train it. (Points the model did not learn would make the
/// likelihood wrong; `revert_draft` brings the draft back.)
fn write_draft(
    client: &SpiClient<'_>,
    profile: &str,
    learned: &[(String, Json)],
    intercept: f64,
    points_per_doubling: f64,
) {
    let what = |doing: &str, e: pgrx::spi::Error| -> ! {
        internal(format!("profile \"{profile}\": {doing}"), e)
    };
    client
        .select(
            "SELECT pg_catalog.count(lead_score.remove_rule($1, r.rule_name)) FROM lead_score.rules r
              WHERE r.profile OPERATOR(pg_catalog.=) $1 AND r.is_draft
                AND r.kind OPERATOR(pg_catalog.=) ANY (ARRAY['fit', 'event'])",
            None,
            &[profile.into()],
        )
        .unwrap_or_else(|e| what("removing the draft's fit and event rules", e));
    for (name, rule) in learned {
        check_for_interrupts!();
        client
            .select(
                "SELECT lead_score.add_rule($1, $2, $3)",
                None,
                &[profile.into(), name.as_str().into(), JsonB(rule.clone()).into()],
            )
            .unwrap_or_else(|e| what("adding a learned rule", e));
    }
    let settings =
        json!({"likelihood": {"intercept": intercept, "points_per_doubling": points_per_doubling}});
    client
        .select(
            "SELECT lead_score.update_profile($1, settings => $2)",
            None,
            &[profile.into(), JsonB(settings).into()],
        )
        .unwrap_or_else(|e| what("setting the likelihood", e));
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.train(profile, outcomes, options)`: learn the profile's draft from
    /// outcomes: learned rules and a likelihood, written as ordinary draft edits.
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn train(
        profile: &str,
        outcomes: PgRelation,
        options: default!(JsonB, "'{}'"),
    ) -> TableIterator<'static, (name!(metric, String), name!(value, Option<f64>))> {
        TableIterator::new(train_profile(profile, outcomes.oid(), &options.0))
    }
}
