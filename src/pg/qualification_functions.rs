//! SQL functions of the 1–100 and star scales, used by the scores views.

use pgrx::prelude::*;

use crate::pg::errors::{raise, Failure};
use crate::scoring::qualification::{Curve, ScoreScale};

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
}
