//! SQL functions of the 1–100 and star scales and of the likelihood, used by the scores
//! views.

use pgrx::prelude::*;

use crate::pg::errors::{raise, Failure};
use lead_score_core::qualification::{Curve, ScoreScale};
use lead_score_core::settings::Likelihood;

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
}
