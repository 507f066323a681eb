//! Exact half-life decay: points worth `p` at time `t_i` are worth `p·2^(−(t−t_i)/h)` at `t`.

use std::fmt;

const SECONDS_PER_DAY: i64 = 86_400;
const DAYS_PER_MONTH: i64 = 30;
const MONTHS_PER_YEAR: i32 = 12;

/// A Postgres interval as it is stored: months, days and microseconds kept apart,
/// because their lengths in seconds are a convention, not a fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntervalParts {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl IntervalParts {
    /// The interval's length in seconds, by the same convention as Postgres'
    /// `extract(epoch from interval)`: a year is 365.25 days, any other month 30 days,
    /// a day 86 400 seconds. Users can then check any figure we compute in plain SQL.
    pub fn seconds(self) -> f64 {
        let years = i64::from(self.months / MONTHS_PER_YEAR);
        let months = i64::from(self.months % MONTHS_PER_YEAR);
        // Quarter days keep the 365.25-day year in exact integer arithmetic, as Postgres does.
        let quarter_days = 1461 * years + 4 * DAYS_PER_MONTH * months + 4 * i64::from(self.days);
        let whole_seconds = quarter_days * (SECONDS_PER_DAY / 4);
        whole_seconds as f64 + self.micros as f64 / 1_000_000.0
    }
}

/// Why a decay could not be computed. Only the half-life can be wrong: every age and
/// every number of points has a defined value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DecayError {
    /// The half-life was zero, negative or not a number (its length in seconds).
    NonPositiveHalfLife(f64),
}

impl fmt::Display for DecayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecayError::NonPositiveHalfLife(seconds) => {
                write!(f, "half-life must be positive, got {seconds} seconds")
            }
        }
    }
}

impl std::error::Error for DecayError {}

/// A validated half-life, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HalfLife(f64);

impl HalfLife {
    pub fn from_seconds(seconds: f64) -> Result<Self, DecayError> {
        // NaN fails `is_finite`, so only real positive lengths pass.
        if !seconds.is_finite() || seconds <= 0.0 {
            return Err(DecayError::NonPositiveHalfLife(seconds));
        }
        Ok(HalfLife(seconds))
    }

    pub fn seconds(self) -> f64 {
        self.0
    }

    /// What `points` earned `age_seconds` ago are worth now: `points·2^(−age/h)`.
    ///
    /// A negative age is an event that has not happened yet: it is worth nothing until
    /// its own time comes, then counts in full and starts to decay.
    pub fn decay(self, points: f64, age_seconds: f64) -> f64 {
        if age_seconds < 0.0 {
            return 0.0;
        }
        points * (-age_seconds / self.0).exp2()
    }
}

/// `points·2^(−age/half_life)`, all lengths in seconds; see [`HalfLife::decay`].
pub fn decay(points: f64, age_seconds: f64, half_life_seconds: f64) -> Result<f64, DecayError> {
    Ok(HalfLife::from_seconds(half_life_seconds)?.decay(points, age_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = 86_400.0;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn interval_seconds_follow_extract_epoch() {
        // (months, days, micros) -> what `extract(epoch from interval)` returns in Postgres 15.
        let cases: &[(i32, i32, i64, f64)] = &[
            (0, 0, 0, 0.0),
            (0, 0, 1_500_000, 1.5),
            (0, 1, 0, DAY),
            (0, 14, 0, 14.0 * DAY),
            (1, 0, 0, 30.0 * DAY),
            (12, 0, 0, 365.25 * DAY),
            (13, 2, 3_000_000, 365.25 * DAY + 30.0 * DAY + 2.0 * DAY + 3.0),
            (-1, 0, 0, -30.0 * DAY),
            (-13, 0, 0, -(365.25 + 30.0) * DAY),
            (0, -1, 0, -DAY),
            (0, 0, -1, -0.000_001),
            (1200, 0, 0, 100.0 * 365.25 * DAY),
        ];
        for &(months, days, micros, expected) in cases {
            let got = IntervalParts { months, days, micros }.seconds();
            assert!(
                close(got, expected),
                "{months} months {days} days {micros} us: got {got}, want {expected}"
            );
        }
    }

    #[test]
    fn decay_matches_closed_form_at_several_ages() {
        let h = 30.0 * DAY;
        // (points, age in half-lives, expected)
        let cases: &[(f64, f64, f64)] = &[
            (10.0, 0.0, 10.0),
            (10.0, 1.0, 5.0),
            (10.0, 2.0, 2.5),
            (10.0, 3.0, 1.25),
            (10.0, 0.5, 10.0 / std::f64::consts::SQRT_2),
            (-10.0, 1.0, -5.0),
            (0.0, 5.0, 0.0),
            (8.0, 10.0, 8.0 / 1024.0),
            (1.0, 100.0, 2f64.powi(-100)),
        ];
        for &(points, half_lives, expected) in cases {
            let got = decay(points, half_lives * h, h).unwrap();
            assert!(
                close(got, expected),
                "{points} points after {half_lives} half-lives: got {got}, want {expected}"
            );
        }
    }

    #[test]
    fn decay_equals_natural_exponential_form() {
        let h = 14.0 * DAY;
        for age_days in [0.0, 0.25, 1.0, 7.0, 13.9, 14.0, 45.5, 365.0] {
            let age = age_days * DAY;
            let expected = 3.0 * (-std::f64::consts::LN_2 * age / h).exp();
            assert!(close(decay(3.0, age, h).unwrap(), expected), "age {age_days} days");
        }
    }

    #[test]
    fn future_events_are_worth_nothing_until_they_happen() {
        let h = HalfLife::from_seconds(DAY).unwrap();
        assert_eq!(h.decay(5.0, -1.0), 0.0);
        assert_eq!(h.decay(5.0, -365.0 * DAY), 0.0);
        assert_eq!(h.decay(5.0, 0.0), 5.0);
    }

    #[test]
    fn very_old_points_underflow_to_zero_without_error() {
        let h = HalfLife::from_seconds(DAY).unwrap();
        assert_eq!(h.decay(1e6, 100.0 * 365.25 * DAY), 0.0);
    }

    #[test]
    fn non_positive_or_invalid_half_lives_are_rejected() {
        for bad in [0.0, -1.0, -DAY, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(HalfLife::from_seconds(bad).is_err(), "{bad} accepted");
            assert!(decay(1.0, DAY, bad).is_err(), "{bad} accepted by decay()");
        }
        assert_eq!(
            decay(1.0, 0.0, 0.0).unwrap_err().to_string(),
            "half-life must be positive, got 0 seconds"
        );
    }

    #[test]
    fn special_point_values_pass_through_ieee_rules() {
        let h = HalfLife::from_seconds(DAY).unwrap();
        assert!(h.decay(f64::NAN, DAY).is_nan());
        assert_eq!(h.decay(f64::INFINITY, DAY), f64::INFINITY);
    }
}
