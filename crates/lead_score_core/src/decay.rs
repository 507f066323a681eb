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

/// A sum of points that each decay from their own time, which can be evaluated at any
/// later time and added to other such sums (`lead_score.decayed_sum`).
///
/// It keeps one term per half-life: the term's worth at its anchor (the latest time
/// added to it). Adding a later point first decays the term to the new anchor, so every
/// factor is at most 1: nothing overflows, however long the history or short the
/// half-life, and very old points underflow gracefully to 0. A half-life of `None`
/// (infinite) holds points that never decay.
///
/// Points limits (`max_points` of a rule, `dimension_caps`, `max_engagement`) make
/// parts: a capped part is a sum of its own, whose worth at any instant is clamped to
/// its cap before it counts (see `decay/capped.rs`). A sum without caps has none.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecayedSum {
    /// Sorted by half-life, infinite last; at most one term per half-life.
    pub terms: Vec<DecayTerm>,
    /// Capped parts, by key (see [`CappedPart`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<CappedPart>,
    /// The limits of the whole sum's worth, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
}

mod capped;
pub use capped::{Cap, CappedPart};

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecayTerm {
    /// Seconds; `None` for points that never decay.
    pub half_life: Option<f64>,
    /// Microseconds since the Unix epoch.
    pub anchor: i64,
    /// The term's worth at `anchor`.
    pub value: f64,
}

/// No term, sum or reading of one is larger than this either way. Far beyond any real
/// score, and far enough below float8's limit (about 1.8e308) that a score (fit plus
/// engagement) and Postgres' `sum`, `avg` and `stddev` over millions of them cannot
/// overflow.
pub const BOUND: f64 = 1e100;

/// `x` within ±[`BOUND`]. Bounded arithmetic never makes NaN; should a value read from
/// outside be one, it counts as 0 rather than spread.
pub fn bounded(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-BOUND, BOUND)
    }
}

/// `2^(−Δt/h)` for a span of microseconds (either sign) and a half-life in seconds. A
/// negative span (a reading before the anchor) gives a factor above 1, up to `+∞`:
/// callers bound the product.
fn factor(delta_micros: i64, half_life: Option<f64>) -> f64 {
    match half_life {
        None => 1.0,
        Some(h) => (-(delta_micros as f64) / 1e6 / h).exp2(),
    }
}

impl DecayTerm {
    /// The term's worth at `at`, within ±[`BOUND`]. Read before its anchor it is
    /// extrapolated back, which grows without limit when the reading is many half-lives
    /// earlier (a clock set far ahead, then back): `value·∞` (or `0·∞`) must not become
    /// a score of ±∞ or NaN, so the product is bounded; wherever it is finite and within
    /// the bound, it is exactly what it always was.
    fn value_at(&self, at: i64) -> f64 {
        if self.value == 0.0 {
            return 0.0;
        }
        bounded(self.value * factor(at.saturating_sub(self.anchor), self.half_life))
    }

    /// Fold `other` (same half-life) into this term, anchored at the later of the two.
    fn absorb(&mut self, other: DecayTerm) {
        if other.anchor > self.anchor {
            self.value = bounded(self.value_at(other.anchor) + other.value);
            self.anchor = other.anchor;
        } else {
            self.value = bounded(self.value + other.value_at(self.anchor));
        }
    }
}

impl DecayedSum {
    /// Add `points` earned at `at`, halving every `half_life` (`None`: never decaying).
    /// Points beyond ±[`BOUND`] (or not finite) count as the bound (NaN as nothing).
    pub fn add(&mut self, points: f64, at: i64, half_life: Option<HalfLife>) {
        self.add_term(DecayTerm {
            half_life: half_life.map(HalfLife::seconds),
            anchor: at,
            value: bounded(points),
        });
    }

    /// Add another sum to this one.
    ///
    /// One pass over both sums' terms (each sorted by half-life) and parts (each sorted
    /// by key): linear, however many terms either holds.
    pub fn merge(&mut self, other: &DecayedSum) {
        if !other.terms.is_empty() {
            let key = |t: &DecayTerm| t.half_life.unwrap_or(f64::INFINITY);
            let mine = std::mem::take(&mut self.terms);
            let mut merged = Vec::with_capacity(mine.len() + other.terms.len());
            let (mut a, mut b) = (mine.into_iter().peekable(), other.terms.iter().peekable());
            loop {
                let next = match (a.peek(), b.peek()) {
                    (None, None) => break,
                    (Some(_), None) => a.next(),
                    (None, Some(_)) => b.next().copied(),
                    (Some(x), Some(y)) => match key(x).total_cmp(&key(y)) {
                        std::cmp::Ordering::Less => a.next(),
                        std::cmp::Ordering::Greater => b.next().copied(),
                        std::cmp::Ordering::Equal => {
                            let (mut x, y) =
                                (a.next().expect("peeked"), *b.next().expect("peeked"));
                            x.absorb(DecayTerm { value: bounded(y.value), ..y });
                            Some(x)
                        }
                    },
                };
                merged.extend(next.map(|t| DecayTerm { value: bounded(t.value), ..t }));
            }
            self.terms = merged;
        }
        if !other.parts.is_empty() {
            self.merge_parts(&other.parts);
        }
        if self.cap.is_none() {
            self.cap = other.cap;
        }
    }

    fn add_term(&mut self, term: DecayTerm) {
        let key = |h: Option<f64>| h.unwrap_or(f64::INFINITY);
        match self.terms.binary_search_by(|t| key(t.half_life).total_cmp(&key(term.half_life))) {
            Ok(at) => self.terms[at].absorb(term),
            Err(at) => self.terms.insert(at, term),
        }
    }

    /// The sum's worth at `at`. Exact for any `at` at or after the latest point added;
    /// earlier times extrapolate (points from after `at` are not taken out). Always
    /// finite, within ±[`BOUND`], whatever `at` and the half-lives.
    pub fn value_at(&self, at: i64) -> f64 {
        let raw = self.uncapped_at(at);
        self.cap.map_or(raw, |cap| cap.clamp(raw))
    }

    /// The sum's worth at `at` before its own cap (its parts' caps applied).
    pub fn uncapped_at(&self, at: i64) -> f64 {
        // Fold from +0.0: `sum()` of no floats is -0.0, which prints as "-0". Each step
        // is bounded, so terms of +BOUND and -BOUND cancel and never make ∞ - ∞.
        let free = self.terms.iter().fold(0.0, |total, t| bounded(total + t.value_at(at)));
        self.parts.iter().fold(free, |total, p| bounded(total + p.sum.value_at(at)))
    }

    /// The latest time any point was added at, if any.
    pub fn latest(&self) -> Option<i64> {
        let parts = self.parts.iter().filter_map(|p| p.sum.latest());
        self.terms.iter().map(|t| t.anchor).chain(parts).max()
    }

    /// Every term, its parts' too.
    pub fn all_terms(&self) -> Box<dyn Iterator<Item = &DecayTerm> + '_> {
        Box::new(self.terms.iter().chain(self.parts.iter().flat_map(|p| p.sum.all_terms())))
    }

    /// The sum's stored form: a format byte, then per term its half-life in seconds
    /// (infinite for points that never decay), anchor and value, eight little-endian
    /// bytes each. A one-term sum is 25 bytes, read back without parsing anything.
    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.parts.is_empty() || self.cap.is_some() {
            return capped::to_bytes(self);
        }
        let mut bytes = Vec::with_capacity(1 + TERM_BYTES * self.terms.len());
        bytes.push(FORMAT);
        for term in &self.terms {
            bytes.extend(term.half_life.unwrap_or(f64::INFINITY).to_le_bytes());
            bytes.extend(term.anchor.to_le_bytes());
            bytes.extend(term.value.to_le_bytes());
        }
        bytes
    }

    /// Read [`to_bytes`](Self::to_bytes)' form back; `None` when it is not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<DecayedSum> {
        if bytes.first() == Some(&capped::FORMAT) {
            return capped::from_bytes(bytes);
        }
        let (&FORMAT, terms) = bytes.split_first()? else { return None };
        if !terms.len().is_multiple_of(TERM_BYTES) {
            return None;
        }
        let eight = |chunk: &[u8], at: usize| -> [u8; 8] {
            chunk[at..at + 8].try_into().expect("a term is three 8-byte fields")
        };
        let terms = terms
            .chunks_exact(TERM_BYTES)
            .map(|chunk| {
                let half_life = f64::from_le_bytes(eight(chunk, 0));
                DecayTerm {
                    half_life: half_life.is_finite().then_some(half_life),
                    anchor: i64::from_le_bytes(eight(chunk, 8)),
                    value: f64::from_le_bytes(eight(chunk, 16)),
                }
            })
            .collect();
        Some(DecayedSum { terms, ..DecayedSum::default() })
    }
}

/// The first byte of [`DecayedSum::to_bytes`]: its layout, should it ever change.
const FORMAT: u8 = 1;
const TERM_BYTES: usize = 24;

#[cfg(test)]
mod tests {
    use super::*;

    /// `points·2^(−age/half_life)`, all lengths in seconds.
    fn decay(points: f64, age_seconds: f64, half_life_seconds: f64) -> Result<f64, DecayError> {
        Ok(HalfLife::from_seconds(half_life_seconds)?.decay(points, age_seconds))
    }

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

    const MICROS_PER_DAY: i64 = 86_400_000_000;

    /// Per-event decays summed one by one: the reference the aggregate must match.
    fn reference(events: &[(f64, i64, Option<f64>)], at: i64) -> f64 {
        events
            .iter()
            .map(|&(p, t, h)| match h {
                None => p,
                Some(h) => p * (-((at - t) as f64) / 1e6 / h).exp2(),
            })
            .sum()
    }

    #[test]
    fn decayed_sum_equals_the_sum_of_per_event_decays_in_any_order() {
        let events: Vec<(f64, i64, Option<f64>)> = (0..200)
            .map(|i| {
                let points = [1.0, 3.0, -10.0, 20.0, 0.5][i % 5];
                let at =
                    (i as i64 * 7919 % 365) * MICROS_PER_DAY + (i as i64 * 13 % 86_400) * 1_000_000;
                let half_life = [Some(30.0 * DAY), Some(14.0 * DAY), None, Some(DAY)][i % 4];
                (points, at, half_life)
            })
            .collect();
        let now = 400 * MICROS_PER_DAY;
        let add_all = |order: &mut dyn Iterator<Item = &(f64, i64, Option<f64>)>| {
            let mut sum = DecayedSum::default();
            for &(p, t, h) in order {
                sum.add(p, t, h.map(|h| HalfLife::from_seconds(h).unwrap()));
            }
            sum
        };
        let forward = add_all(&mut events.iter());
        let backward = add_all(&mut events.iter().rev());
        let expected = reference(&events, now);
        for sum in [&forward, &backward] {
            assert!(close(sum.value_at(now), expected), "{} vs {expected}", sum.value_at(now));
            assert_eq!(sum.terms.len(), 4, "one term per half-life");
        }
        // Split in two, summed separately, then merged (what a parallel plan does).
        let (left, right) = events.split_at(77);
        let mut merged = add_all(&mut left.iter());
        merged.merge(&add_all(&mut right.iter()));
        assert!(close(merged.value_at(now), expected));
        assert_eq!(merged.latest(), forward.latest());
    }

    #[test]
    fn decayed_sum_never_overflows_over_a_century_of_one_day_half_lives() {
        let day = HalfLife::from_seconds(DAY).unwrap();
        let mut sum = DecayedSum::default();
        for year in 0..100 {
            sum.add(1.0, year * 365 * MICROS_PER_DAY, Some(day));
        }
        let end = 100 * 365 * MICROS_PER_DAY;
        let value = sum.value_at(end);
        assert!(value.is_finite() && value > 0.0);
        // Only the last point (365 days old) is left: 2^-365, plus underflowed dust.
        assert!(close(value, (-365.0f64).exp2()), "{value}");
        // Backfilling a very old point adds nothing measurable and breaks nothing.
        sum.add(1e6, 0, Some(day));
        assert!(close(sum.value_at(end), value));
    }

    #[test]
    fn the_stored_form_reads_back_exactly() {
        let day = HalfLife::from_seconds(DAY).unwrap();
        let mut sum = DecayedSum::default();
        sum.add(3.5, 1_700_000_000_123_456, Some(day));
        sum.add(-10.0, -42, None);
        sum.add(0.1, 1_700_000_000_000_000, HalfLife::from_seconds(30.0 * DAY).ok());
        for case in [DecayedSum::default(), sum] {
            let bytes = case.to_bytes();
            assert_eq!(bytes.len(), 1 + 24 * case.terms.len());
            assert_eq!(DecayedSum::from_bytes(&bytes), Some(case));
        }
        for malformed in [&[][..], &[2], &[1, 0, 0]] {
            assert_eq!(DecayedSum::from_bytes(malformed), None, "{malformed:?}");
        }
    }

    const YEAR_MICROS: i64 = 365 * MICROS_PER_DAY;

    /// The attack of issue 26: ±1e9 with one- and two-hour half-lives added at a clock
    /// set to 2200, read at the real clock (and the reverse), with every extreme instant.
    #[test]
    fn readings_far_before_the_anchor_stay_finite_and_bounded() {
        let hour = HalfLife::from_seconds(3600.0).unwrap();
        let two_hours = HalfLife::from_seconds(7200.0).unwrap();
        let year_2200 = 230 * YEAR_MICROS;
        let instants =
            [i64::MIN, i64::MIN + 1, -year_2200, 0, 56 * YEAR_MICROS, year_2200, i64::MAX];
        let mut both = DecayedSum::default();
        both.add(1e9, year_2200, Some(hour));
        both.add(-1e9, year_2200, Some(two_hours));
        let mut one_sided = DecayedSum::default();
        one_sided.add(1e9, year_2200, Some(hour));
        let mut negative = DecayedSum::default();
        negative.add(-1e9, year_2200, Some(two_hours));
        for at in instants {
            for sum in [&both, &one_sided, &negative] {
                let value = sum.value_at(at);
                assert!(value.is_finite() && value.abs() <= BOUND, "{value} at {at}");
            }
        }
        // Read in 2026, the one-sided sums reach the bound, and the pair cancels.
        let now = 56 * YEAR_MICROS;
        assert_eq!(one_sided.value_at(now), BOUND);
        assert_eq!(negative.value_at(now), -BOUND);
        assert_eq!(both.value_at(now), 0.0);
        // At its own instant the pair is worth exactly what was added.
        assert_eq!(both.value_at(year_2200), 0.0);
        assert_eq!(one_sided.value_at(year_2200), 1e9);
    }

    /// Later points folded into a term anchored far in the future (a write at the real
    /// clock after an adjustment dated 2200) keep it finite, and so do merges.
    #[test]
    fn folding_into_a_far_anchor_stays_finite() {
        let tiny = HalfLife::from_seconds(1e-6).unwrap();
        let hour = HalfLife::from_seconds(3600.0).unwrap();
        let mut sum = DecayedSum::default();
        sum.add(1e9, i64::MAX, Some(tiny));
        sum.add(-1e9, i64::MAX - 1, Some(hour));
        for at in [i64::MIN, 0, 56 * YEAR_MICROS, i64::MAX] {
            sum.add(1e9, at, Some(tiny));
            sum.add(-1e9, at, Some(hour));
            sum.add(1e9, at, None);
        }
        let mut merged = sum.clone();
        for _ in 0..2000 {
            merged.merge(&sum);
        }
        for s in [&sum, &merged] {
            for term in &s.terms {
                assert!(term.value.is_finite() && term.value.abs() <= BOUND, "{term:?}");
            }
            for at in [i64::MIN, -1, 0, 56 * YEAR_MICROS, i64::MAX] {
                let value = s.value_at(at);
                assert!(value.is_finite() && value.abs() <= BOUND, "{value} at {at}");
            }
        }
    }

    /// Points beyond the bound, not finite, or zero read at an infinite factor: bounded,
    /// never ∞ or NaN. (A zero term read far before its anchor is 0, not 0·∞.)
    #[test]
    fn out_of_range_points_and_zero_terms_are_bounded() {
        let tiny = HalfLife::from_seconds(1e-6).unwrap();
        let mut sum = DecayedSum::default();
        sum.add(f64::MAX, 0, None);
        sum.add(f64::MAX, 0, None);
        sum.add(f64::INFINITY, 0, Some(tiny));
        sum.add(f64::NAN, 0, HalfLife::from_seconds(60.0).ok());
        sum.add(5.0, 10, HalfLife::from_seconds(7.0).ok());
        sum.add(-5.0, 10, HalfLife::from_seconds(7.0).ok());
        for at in [i64::MIN, -1, 0, 10, i64::MAX] {
            let value = sum.value_at(at);
            assert!(value.is_finite() && value.abs() <= BOUND, "{value} at {at}");
        }
        assert_eq!(sum.value_at(i64::MAX), BOUND, "the never-decaying points, bounded");
        // A sum read back from stored bytes that hold ∞ or NaN (written by an older
        // version, say) reads as bounded too.
        let mut bytes = DecayedSum::default().to_bytes();
        for value in [f64::INFINITY, f64::NAN, f64::NEG_INFINITY] {
            bytes.extend(7.0f64.to_le_bytes());
            bytes.extend(0i64.to_le_bytes());
            bytes.extend(value.to_le_bytes());
        }
        let stored = DecayedSum::from_bytes(&bytes).unwrap();
        for at in [i64::MIN, 0, i64::MAX] {
            assert!(stored.value_at(at).is_finite(), "{} at {at}", stored.value_at(at));
        }
    }

    /// Normal readings are exactly what they were: the bound changes only what used to
    /// be ±∞ or NaN (or beyond 1e100).
    #[test]
    fn bounding_leaves_normal_readings_exact() {
        let day = HalfLife::from_seconds(DAY).unwrap();
        let mut sum = DecayedSum::default();
        sum.add(10.0, 0, Some(day));
        sum.add(-3.0, MICROS_PER_DAY, None);
        for (at, expected) in [
            (MICROS_PER_DAY, 10.0 * 0.5 - 3.0),
            (-MICROS_PER_DAY, 10.0 * 2.0 - 3.0),
            (30 * MICROS_PER_DAY, 10.0 * (-30.0f64).exp2() - 3.0),
        ] {
            assert_eq!(sum.value_at(at).to_bits(), expected.to_bits(), "at {at}");
        }
    }

    #[test]
    fn an_empty_sum_is_worth_zero() {
        assert!(DecayedSum::default().value_at(0).to_bits() == 0.0f64.to_bits(), "+0, not -0");
        assert_eq!(DecayedSum::default().latest(), None);
    }
}
