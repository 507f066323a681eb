//! SQL functions exposing the decay math so users can apply it to their own data.

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::pg::errors::{raise, Failure};
use lead_score_core::decay::{HalfLife, IntervalParts};

pub(crate) fn interval_seconds(interval: &Interval) -> f64 {
    IntervalParts { months: interval.months(), days: interval.days(), micros: interval.micros() }
        .seconds()
}

/// `lead_score.decay(points, age, half_life)`: what `points` earned `age` ago are worth
/// now when they halve every `half_life`. Ages below zero (events still in the future)
/// are worth 0. Intervals are measured as `extract(epoch from ...)` measures them.
#[pg_extern(immutable, strict, parallel_safe, schema = "lead_score")]
fn decay(points: f64, age: Interval, half_life: Interval) -> f64 {
    match HalfLife::from_seconds(interval_seconds(&half_life)) {
        Ok(half_life) => half_life.decay(points, interval_seconds(&age)),
        Err(error) => raise(Failure::InvalidValue(format!("lead_score.decay: {error}"))),
    }
}
