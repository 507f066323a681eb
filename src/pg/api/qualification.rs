//! Qualification (reference: "Qualification"): the 1–100 and star scales, the
//! likelihood, and the grade and priority the scores views show, and the internal functions `clear_tag`, `forget`
//! and the transitions' SQL call (tags copied back, keys spelled as stored).

use pgrx::prelude::*;

use crate::pg::base::attached;
use crate::pg::base::clock::decision_now_unix_micros;
use crate::pg::base::errors::{raise, Failure};
use crate::pg::base::jsonb::AnyJsonb;
use crate::pg::write::accounts::refresh_accounts;
use crate::pg::write::routing;
use crate::pg::write::summaries;
use crate::pg::write::transitions;
use lead_score_core::grading::Grading;
use lead_score_core::qualification::{Curve, ScoreScale};
use lead_score_core::settings::{Likelihood, Settings};

fn scale(curve: &str, scale: f64) -> ScoreScale {
    let Some(curve) = Curve::parse(curve) else {
        raise(Failure::InvalidValue(format!(
            "unknown score_100 curve \"{curve}\"; expected \"saturating\" or \"linear\""
        )))
    };
    if !(scale.is_finite() && scale > 0.0) {
        raise(Failure::InvalidValue(format!("score_100 scale must be positive, got {scale}")));
    }
    ScoreScale { curve, scale }
}

/// Grades and bands as the scores views pass them (from `attachment_store`), or 22023
/// for arrays given by hand that no settings could make.
fn grading(names: &[Option<String>], minimums: &[Option<f64>], bands: &[Option<f64>]) -> Grading {
    Grading::from_arrays(names, minimums, bands).unwrap_or_else(|e| raise(Failure::InvalidValue(e)))
}

/// The same, for a priority: it needs at least one band.
fn banded(names: &[Option<String>], minimums: &[Option<f64>], bands: &[Option<f64>]) -> Grading {
    if bands.is_empty() {
        raise(Failure::InvalidValue("a priority needs at least one engagement band".to_owned()));
    }
    grading(names, minimums, bands)
}

#[pg_schema]
pub(crate) mod lead_score {
    use super::*;

    /// `lead_score.score_100(score, curve, scale)`: the score on a 1–100 scale.
    #[pg_extern(immutable, strict, parallel_safe)]
    pub fn score_100(score: f64, curve: &str, scale: f64) -> i32 {
        super::scale(curve, scale).score_100(score)
    }

    /// `lead_score.stars(score, curve, scale)`: 0 to 5 stars.
    #[pg_extern(immutable, strict, parallel_safe)]
    pub fn stars(score: f64, curve: &str, scale: f64) -> i16 {
        super::scale(curve, scale).stars(score)
    }

    /// `lead_score.likelihood(score, intercept, points_per_doubling)`: the probability of
    /// converting at `score`, when the log-odds are `intercept` at 0 and every
    /// `points_per_doubling` points double the odds.
    #[pg_extern(immutable, strict, parallel_safe)]
    pub fn likelihood(score: f64, intercept: f64, points_per_doubling: f64) -> f64 {
        if !(points_per_doubling.is_finite() && points_per_doubling > 0.0) {
            raise(Failure::InvalidValue(format!(
                "points_per_doubling must be positive, got {points_per_doubling}"
            )));
        }
        if !intercept.is_finite() {
            raise(Failure::InvalidValue(format!("intercept must be finite, got {intercept}")));
        }
        Likelihood { intercept, points_per_doubling }.probability(score)
    }

    /// `lead_score.grade(fit, names, minimums)`: the grade of a fit score, the first of
    /// `names` whose minimum (best first) it reaches; NULL below every minimum.
    #[pg_extern(immutable, strict, parallel_safe)]
    pub fn grade(
        fit: f64,
        names: Vec<Option<String>>,
        minimums: Vec<Option<f64>>,
    ) -> Option<String> {
        super::grading(&names, &minimums, &[]).grade_of(fit).map(str::to_owned)
    }

    /// `lead_score.priority(fit, engagement, names, minimums, bands)`: the grade and the
    /// engagement band together (`A1`); NULL below every grade.
    #[pg_extern(immutable, strict, parallel_safe)]
    pub fn priority(
        fit: f64,
        engagement: f64,
        names: Vec<Option<String>>,
        minimums: Vec<Option<f64>>,
        bands: Vec<Option<f64>>,
    ) -> Option<String> {
        super::banded(&names, &minimums, &bands).priority(fit, engagement)
    }

    /// `lead_score.priority_rank(fit, engagement, names, minimums, bands)`: the
    /// priority's place in the queue, 1 for the best grade's band 1; NULL below every
    /// grade.
    #[pg_extern(immutable, strict, parallel_safe)]
    pub fn priority_rank(
        fit: f64,
        engagement: f64,
        names: Vec<Option<String>>,
        minimums: Vec<Option<f64>>,
        bands: Vec<Option<f64>>,
    ) -> Option<i32> {
        super::banded(&names, &minimums, &bands).priority_rank(fit, engagement)
    }

    /// `lead_score.mirror_tags(profile_id, contact)`: after `clear_tag` or `forget` took
    /// tags away, copy the contact's sticky tags into its state row, and bring its due
    /// time forward to the instant fading points would carry it over a threshold it no
    /// longer holds (so `tick()` tags it again then). Internal.
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn mirror_tags(profile_id: i64, contact: &str) {
        Spi::connect_mut(|client| {
            if let Some(attached) = attached::attached(client, profile_id) {
                transitions::mirror_tags(client, &attached, Some(vec![Some(contact.to_owned())]));
                let now = decision_now_unix_micros();
                transitions::due_after_untagging(client, &attached, contact, now);
                // Its account counts it as a PQL no more.
                let key = summaries::stored_key(client, &attached, contact);
                refresh_accounts(client, &attached, &[key], None, now, transitions::Cause::Rescore);
            }
        })
    }

    /// `lead_score.check_routing(profile, settings, contacts, contact_key)`: raise if the
    /// routing of `settings` does not fit the contacts table `contacts` (oid): its column
    /// missing (42703), the key or generated (22023), an owner's value its type refuses
    /// (22P02, 22023). Nothing for settings without routing, or settings that do not
    /// compile (validate() reports those). Internal: publish and attach call it.
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn check_routing(profile: &str, settings: AnyJsonb, contacts: pg_sys::Oid, contact_key: &str) {
        let Ok(Settings { routing: Some(routing), .. }) = Settings::compile(&settings.0) else {
            return;
        };
        Spi::connect(|client| {
            routing::check_routing(client, profile, &routing, contacts, contact_key)
        })
    }

    /// `lead_score.stored_key(profile_id, contact)`: a contact key as the profile's
    /// scores, tags and transitions spell it, which is how its key type prints it
    /// (`'007'` is contact 7 of an integer key). For a profile that is not attached,
    /// the key as given. 22P02 for text that is no key of the key type. Internal.
    #[pg_extern(stable)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn stored_key(profile_id: i64, contact: &str) -> String {
        Spi::connect(|client| match attached::attached(client, profile_id) {
            Some(attached) => summaries::stored_key(client, &attached, contact),
            None => contact.to_owned(),
        })
    }
}
