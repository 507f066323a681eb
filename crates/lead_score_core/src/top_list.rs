//! The top of the list by current score, without reading every score row.
//!
//! Each score row keeps a *ceiling*: a score it cannot exceed from its last write on
//! (its fit plus its engagement's [`ceiling_at`](crate::decay::DecayedSum::ceiling_at)),
//! rounded up to a coarse grid ([`ceiling_step`]) so that most writes leave it as it is
//! (an unchanged indexed column keeps Postgres' updates HOT). Rows are read in
//! descending ceiling order (an index); each row's exact score is computed, and the
//! reading stops once the `n` best scores found are all at least the next row's
//! ceiling: no row after it can beat them (Fagin's threshold algorithm, with one list).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Steps of the ceilings' grid per doubling: a ceiling is at most 2^(1/8) − 1, about
/// 9%, above the bound it rounds.
const STEPS_PER_DOUBLING: f64 = 8.0;
/// Bounds smaller than this in magnitude round to it (or to 0 from below).
const SMALLEST: f64 = 1.0 / 1_048_576.0;

/// The smallest value of the grid (0, ±2^(k/8) for whole k) at or above `bound`.
pub fn ceiling_step(bound: f64) -> f64 {
    if bound.is_nan() {
        return f64::INFINITY;
    }
    if bound > 0.0 {
        if bound <= SMALLEST {
            return SMALLEST;
        }
        if !bound.is_finite() {
            return bound;
        }
        let mut step = ((bound.log2() * STEPS_PER_DOUBLING).ceil() / STEPS_PER_DOUBLING).exp2();
        // (Rounding in log2 or exp2 may land just below.)
        while step < bound {
            step *= (1.0 / STEPS_PER_DOUBLING).exp2();
        }
        step
    } else if bound < 0.0 {
        let magnitude = -bound;
        if magnitude < SMALLEST {
            return 0.0;
        }
        if !magnitude.is_finite() {
            return bound;
        }
        let mut step =
            ((magnitude.log2() * STEPS_PER_DOUBLING).floor() / STEPS_PER_DOUBLING).exp2();
        while step > magnitude {
            step /= (1.0 / STEPS_PER_DOUBLING).exp2();
        }
        -step
    } else {
        0.0
    }
}

/// One contact found: its key and exact score.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub key: String,
    pub score: f64,
}

/// Worst first (the heap's top is the one to drop): lower score, then the later key in
/// the order rows were offered (ties keep the first offered).
struct Ranked {
    score: f64,
    order: u64,
    key: String,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.order.cmp(&other.order))
    }
}

/// The best `n` rows offered (all of them for `None`), at or above `minimum`.
pub struct TopList {
    n: Option<usize>,
    minimum: f64,
    kept: BinaryHeap<Ranked>,
    offered: u64,
}

impl TopList {
    pub fn new(n: Option<usize>, minimum: Option<f64>) -> TopList {
        TopList {
            n,
            minimum: minimum.unwrap_or(f64::NEG_INFINITY),
            kept: BinaryHeap::new(),
            offered: 0,
        }
    }

    /// Whether no row whose ceiling is `ceiling` (nor any after it, in descending
    /// ceiling order) can still enter the list.
    pub fn done_before(&self, ceiling: f64) -> bool {
        if ceiling < self.minimum || self.n == Some(0) {
            return true;
        }
        match (self.n, self.kept.peek()) {
            (Some(n), Some(worst)) if self.kept.len() >= n => ceiling < worst.score,
            _ => false,
        }
    }

    /// A row read, with its exact score.
    pub fn offer(&mut self, key: String, score: f64) {
        self.offered += 1;
        if score < self.minimum || score.is_nan() {
            return;
        }
        self.kept.push(Ranked { score, order: self.offered, key });
        if let Some(n) = self.n {
            while self.kept.len() > n {
                self.kept.pop();
            }
        }
    }

    /// How many rows were offered.
    pub fn offered(&self) -> u64 {
        self.offered
    }

    /// The rows kept, best first.
    pub fn into_sorted(self) -> Vec<Found> {
        let mut kept = self.kept.into_vec();
        kept.sort();
        kept.into_iter().map(|r| Found { key: r.key, score: r.score }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_up_to_the_grid() {
        for bound in [1e-9, 0.001, 0.5, 1.0, 3.0, 17.25, 99.9, 1e6, -1e-9, -0.3, -1.0, -42.0, -1e6]
        {
            let step = ceiling_step(bound);
            assert!(step >= bound, "{step} < {bound}");
            // At most one step above (or SMALLEST, or 0 from below).
            let slack = (1.0 / STEPS_PER_DOUBLING).exp2();
            if bound > SMALLEST {
                assert!(step <= bound * slack * (1.0 + 1e-12), "{step} for {bound}");
            } else if bound < -SMALLEST {
                assert!(-step >= -bound / slack * (1.0 - 1e-12), "{step} for {bound}");
            }
            // On the grid: stepping again changes nothing.
            assert_eq!(ceiling_step(step), step, "{bound}");
        }
        assert_eq!(ceiling_step(0.0), 0.0);
        assert_eq!(ceiling_step(f64::INFINITY), f64::INFINITY);
        assert_eq!(ceiling_step(f64::NAN), f64::INFINITY);
        // Nearby bounds share a step: most writes leave the indexed ceiling as it is.
        assert_eq!(ceiling_step(40.1), ceiling_step(41.0));
    }

    /// Rows offered in descending ceiling order (ceilings at or above the scores) give
    /// the same top as sorting every score.
    #[test]
    fn the_threshold_stops_early_and_agrees_with_a_full_sort() {
        let rows: Vec<(String, f64, f64)> = (0..500)
            .map(|i| {
                let score = ((i * 7919) % 1000) as f64 / 10.0 - 20.0;
                let ceiling = ceiling_step(score + ((i * 31) % 17) as f64);
                (format!("c{i}"), score, ceiling)
            })
            .collect();
        let mut by_ceiling = rows.clone();
        by_ceiling.sort_by(|a, b| b.2.total_cmp(&a.2));
        for (n, minimum) in [
            (Some(10), None),
            (Some(1), None),
            (Some(0), None),
            (None, Some(50.0)),
            (Some(5), Some(75.0)),
        ] {
            let mut list = TopList::new(n, minimum);
            let mut read = 0;
            for (key, score, ceiling) in &by_ceiling {
                if list.done_before(*ceiling) {
                    break;
                }
                read += 1;
                list.offer(key.clone(), *score);
            }
            let found = list.into_sorted();
            let mut expected: Vec<&(String, f64, f64)> =
                rows.iter().filter(|r| minimum.is_none_or(|m| r.1 >= m)).collect();
            expected.sort_by(|a, b| b.1.total_cmp(&a.1));
            let expected: Vec<f64> =
                expected.iter().take(n.unwrap_or(usize::MAX)).map(|r| r.1).collect();
            assert_eq!(
                found.iter().map(|f| f.score).collect::<Vec<_>>(),
                expected,
                "{n:?} {minimum:?}"
            );
            if n == Some(10) {
                assert!(read < 100, "read {read} rows for the top 10");
            }
        }
    }
}
