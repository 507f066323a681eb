//! Capped parts of a decayed sum: HubSpot-style score limits, exact at every instant.
//!
//! A rule with `max_points` (or `min_points`) keeps its points in a part of its own;
//! a dimension with a cap keeps its rules' points (capped rules as parts within) in a
//! part; `max_engagement` caps the whole engagement. Each part is a [`DecayedSum`]
//! whose worth at an instant is its terms' and inner parts' worth, clamped to its cap:
//! a capped rule decays below its cap and then counts in full again, with no state
//! kept per instant. Reading stays O(number of caps), whatever the history.

use super::{bounded, DecayTerm, DecayedSum, BOUND};
use crate::interrupt::Between;

/// The limits of a part's worth.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cap {
    pub min: f64,
    pub max: f64,
}

impl Cap {
    /// At most `max` (positive points' limit).
    pub fn at_most(max: f64) -> Cap {
        Cap { min: -BOUND, max }
    }

    /// At least `min` (negative points' limit).
    pub fn at_least(min: f64) -> Cap {
        Cap { min, max: BOUND }
    }

    pub fn clamp(self, x: f64) -> f64 {
        bounded(x).clamp(self.min.min(self.max), self.max)
    }
}

/// One capped part of a sum: a rule's or a dimension's (`key`, numbered by the
/// compiled profile), with its cap in `sum.cap`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CappedPart {
    pub key: u32,
    pub sum: DecayedSum,
}

impl DecayedSum {
    /// The part `key`, made with `cap` when there is none yet.
    pub(super) fn part_mut(&mut self, key: u32, cap: Option<Cap>) -> &mut DecayedSum {
        let at = match self.parts.binary_search_by_key(&key, |p| p.key) {
            Ok(at) => at,
            Err(at) => {
                let sum = DecayedSum { cap, ..DecayedSum::default() };
                self.parts.insert(at, CappedPart { key, sum });
                at
            }
        };
        let part = &mut self.parts[at].sum;
        if part.cap.is_none() {
            part.cap = cap;
        }
        part
    }

    /// Merge `others` (sorted by key) into this sum's parts (sorted by key), in one pass.
    pub(super) fn merge_parts(&mut self, others: &[CappedPart]) {
        let mine = std::mem::take(&mut self.parts);
        let mut merged = Vec::with_capacity(mine.len() + others.len());
        let (mut a, mut b) = (mine.into_iter().peekable(), others.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next().cloned(),
                (Some(x), Some(y)) if x.key < y.key => a.next(),
                (Some(x), Some(y)) if x.key > y.key => b.next().cloned(),
                _ => {
                    let (mut x, y) = (a.next().expect("peeked"), b.next().expect("peeked"));
                    x.sum.merge(&y.sum);
                    Some(x)
                }
            };
            merged.extend(next);
        }
        self.parts = merged;
    }

    /// This sum as a value typed in by hand may hold it, made into one the engine makes:
    /// terms sorted by half-life with one per half-life, parts sorted by key with one
    /// per key, at most [`MAX_DEPTH`] levels of parts. An error for what no sum holds: a
    /// half-life that is not a positive number, a value or cap that is not a number, a
    /// cap whose minimum is above its maximum, deeper parts.
    pub fn checked(self) -> Result<DecayedSum, String> {
        self.checked_at(0)
    }

    fn checked_at(self, depth: usize) -> Result<DecayedSum, String> {
        if depth > MAX_DEPTH {
            return Err(format!("capped parts nest at most {MAX_DEPTH} deep"));
        }
        if let Some(cap) = self.cap {
            if cap.min.is_nan() || cap.max.is_nan() || cap.min > cap.max {
                return Err(format!("a cap needs min <= max, got {} and {}", cap.min, cap.max));
            }
        }
        let mut terms = self.terms;
        for term in &terms {
            if term.half_life.is_some_and(|h| !(h.is_finite() && h > 0.0)) || term.value.is_nan() {
                return Err("a term needs a positive half-life (or null) and a number".to_owned());
            }
        }
        terms.sort_by(|a, b| {
            a.half_life.unwrap_or(f64::INFINITY).total_cmp(&b.half_life.unwrap_or(f64::INFINITY))
        });
        let mut sum =
            DecayedSum { terms: Vec::with_capacity(terms.len()), parts: Vec::new(), cap: self.cap };
        for term in terms {
            match sum.terms.last_mut() {
                Some(last) if last.half_life == term.half_life => last.absorb(term),
                _ => sum.terms.push(DecayTerm { value: bounded(term.value), ..term }),
            }
        }
        let mut parts = self.parts;
        parts.sort_by_key(|p| p.key);
        for part in parts {
            let checked = part.sum.checked_at(depth + 1)?;
            match sum.parts.last_mut() {
                Some(last) if last.key == part.key => last.sum.merge(&checked),
                _ => sum.parts.push(CappedPart { key: part.key, sum: checked }),
            }
        }
        Ok(sum)
    }

    /// Add `points` as [`add`](Self::add) does, inside the nested parts `path` (each a
    /// key and its cap, outermost first); an empty path adds a free term.
    pub fn add_in(
        &mut self,
        path: &[(u32, Cap)],
        points: f64,
        at: i64,
        half_life: Option<super::HalfLife>,
    ) {
        match path.split_first() {
            None => self.add(points, at, half_life),
            Some((&(key, cap), inner)) => {
                self.part_mut(key, Some(cap)).add_in(inner, points, at, half_life)
            }
        }
    }

    /// The part `key`, if any.
    pub fn part(&self, key: u32) -> Option<&DecayedSum> {
        self.parts.iter().find(|p| p.key == key).map(|p| &p.sum)
    }

    /// The same worth as this sum's at every instant from `at` on, with every cap that
    /// can no longer bind taken away: a part whose cap no reading from `at` on can reach
    /// becomes free terms, and so does the whole sum's. What an account keeps of each
    /// member (one write per event): most capped parts are below their caps and stay
    /// there until points are added, which only the member's own sum ever sees.
    ///
    /// A decaying term's worth after `at` lies between 0 and its worth at `at`, and a
    /// term that never decays keeps its worth, so a sum of free terms stays within the
    /// sum of its negative and the sum of its positive terms' worths at `at`: a cap
    /// holding both never binds. A part (or sum) with a point after `at` is left as it
    /// is (read before its latest point, a sum is an extrapolation, not bounded so).
    pub fn settled(&self, at: i64) -> DecayedSum {
        let mut settled =
            DecayedSum { terms: self.terms.clone(), parts: Vec::new(), cap: self.cap };
        for part in &self.parts {
            let inner = part.sum.settled(at);
            if inner.parts.is_empty() && inner.cap.is_none() {
                settled.merge(&inner);
            } else {
                settled.parts.push(CappedPart { key: part.key, sum: inner });
            }
        }
        if let Some(cap) = settled.cap {
            let settles =
                settled.parts.is_empty() && settled.terms.iter().all(|t| t.anchor <= at) && {
                    let worths = settled.terms.iter().map(|t| t.value_at(at));
                    let (low, high) = worths.fold((0.0, 0.0), |(low, high), w: f64| {
                        (low + w.min(0.0), high + w.max(0.0))
                    });
                    cap.min <= low && high <= cap.max
                };
            if settles {
                settled.cap = None;
            }
        }
        settled
    }

    /// A worth this sum never exceeds at any instant from `at` on: a decaying term's
    /// worth after `at` lies between 0 and its worth at `at` (a term anchored later,
    /// read at `at`, is extrapolated back, above what it will be worth), a term that
    /// never decays keeps its worth, so positive terms count their worth at `at` and
    /// negative ones nothing; each part's bound is clamped by its cap (clamping is
    /// monotone), and so is the whole. What the top of the list is found by (see
    /// `lead_score.top`).
    pub fn ceiling_at(&self, at: i64) -> f64 {
        let free = self.terms.iter().fold(0.0, |total, t| bounded(total + t.value_at(at).max(0.0)));
        let raw = self.parts.iter().fold(free, |total, p| bounded(total + p.sum.ceiling_at(at)));
        self.cap.map_or(raw, |cap| cap.clamp(raw))
    }

    /// Whether this sum and `other` are worth the same, to within rounding, at `at`
    /// and at one and at four of each of their half-lives after it: how `verify` tells
    /// an account's member entry (settled when it was written, see
    /// [`settled`](Self::settled)) from a stale one.
    pub fn same_worth(&self, other: &DecayedSum, at: i64, between: Between<'_>) -> bool {
        let mut instants = vec![at];
        for term in self.all_terms().chain(other.all_terms()) {
            if let Some(h) = term.half_life {
                let micros = (h * 1e6).min(1e15) as i64;
                instants.push(at.saturating_add(micros));
                instants.push(at.saturating_add(micros.saturating_mul(4)));
            }
        }
        instants.sort_unstable();
        instants.dedup();
        // (Each reading sums every term: a sum typed by hand may hold thousands of
        // half-lives, so the readings are a loop that can be stopped.)
        instants.into_iter().all(|t| {
            between();
            let (a, b) = (self.value_at(t), other.value_at(t));
            (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
        })
    }

    /// How much this sum's own cap takes away at `at` (negative when it cuts positive
    /// points, positive when it lifts negative ones): its worth minus its uncapped worth.
    pub fn cut_at(&self, at: i64) -> f64 {
        self.value_at(at) - self.uncapped_at(at)
    }
}

/// The first byte of a capped sum's stored form. (2 was a wider form no release
/// wrote.)
pub(super) const FORMAT: u8 = 3;

/// A capped sum's stored form: [`FORMAT`], then the sum, recursively: its cap (a byte
/// saying which limits follow: see [`CapLimits`]), the term count and terms (as the
/// plain form has them), the part count and parts (key, then the part's sum); counts
/// and keys as LEB128 varints. Every event rewrites the sums it touches, and a part
/// is most often a rule's one term under a one-sided cap: 36 bytes.
pub(super) fn to_bytes(sum: &DecayedSum) -> Vec<u8> {
    let mut bytes = vec![FORMAT];
    write(sum, &mut bytes);
    bytes
}

/// Which of a cap's limits its stored form carries; one absent is the bound.
#[derive(Clone, Copy)]
enum CapLimits {
    None = 0,
    Max = 1,
    Min = 2,
    Both = 3,
}

impl CapLimits {
    fn of(cap: Option<Cap>) -> CapLimits {
        match cap {
            None => CapLimits::None,
            Some(Cap { min, .. }) if min == -BOUND => CapLimits::Max,
            Some(Cap { max, .. }) if max == BOUND => CapLimits::Min,
            Some(_) => CapLimits::Both,
        }
    }
}

fn write(sum: &DecayedSum, bytes: &mut Vec<u8>) {
    let limits = CapLimits::of(sum.cap);
    bytes.push(limits as u8);
    if let Some(cap) = sum.cap {
        if matches!(limits, CapLimits::Min | CapLimits::Both) {
            bytes.extend(cap.min.to_le_bytes());
        }
        if matches!(limits, CapLimits::Max | CapLimits::Both) {
            bytes.extend(cap.max.to_le_bytes());
        }
    }
    write_varint(sum.terms.len() as u32, bytes);
    for term in &sum.terms {
        bytes.extend(term.half_life.unwrap_or(f64::INFINITY).to_le_bytes());
        bytes.extend(term.anchor.to_le_bytes());
        bytes.extend(term.value.to_le_bytes());
    }
    write_varint(sum.parts.len() as u32, bytes);
    for part in &sum.parts {
        write_varint(part.key, bytes);
        write(&part.sum, bytes);
    }
}

fn write_varint(mut n: u32, bytes: &mut Vec<u8>) {
    while n >= 0x80 {
        bytes.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
}

/// Read [`to_bytes`]' form back; `None` when it is not one.
pub(super) fn from_bytes(bytes: &[u8]) -> Option<DecayedSum> {
    let (&FORMAT, mut rest) = bytes.split_first()? else { return None };
    let sum = read(&mut rest, 0)?;
    rest.is_empty().then_some(sum)
}

fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    let (head, tail) = rest.split_at_checked(N)?;
    *rest = tail;
    head.try_into().ok()
}

/// A varint of at most five bytes that fits in 32 bits.
fn read_varint(rest: &mut &[u8]) -> Option<u32> {
    let mut n: u64 = 0;
    for shift in (0..35).step_by(7) {
        let [byte] = take::<1>(rest)?;
        n |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return u32::try_from(n).ok();
        }
    }
    None
}

/// How deep parts nest: a rule's in a dimension's in the engagement, with room to spare.
pub const MAX_DEPTH: usize = 3;

fn read(rest: &mut &[u8], depth: usize) -> Option<DecayedSum> {
    if depth > MAX_DEPTH {
        return None;
    }
    let f64_at = |rest: &mut &[u8]| take(rest).map(f64::from_le_bytes);
    let cap = match take::<1>(rest)?[0] {
        0 => None,
        1 => Some(Cap { min: -BOUND, max: f64_at(rest)? }),
        2 => Some(Cap { min: f64_at(rest)?, max: BOUND }),
        3 => Some(Cap { min: f64_at(rest)?, max: f64_at(rest)? }),
        _ => return None,
    };
    let count = read_varint(rest)? as usize;
    let mut terms: Vec<DecayTerm> = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let half_life = f64_at(rest)?;
        terms.push(DecayTerm {
            half_life: half_life.is_finite().then_some(half_life),
            anchor: i64::from_le_bytes(take(rest)?),
            value: f64_at(rest)?,
        });
    }
    let count = read_varint(rest)? as usize;
    let mut parts = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let key = read_varint(rest)?;
        parts.push(CappedPart { key, sum: read(rest, depth + 1)? });
    }
    Some(DecayedSum { terms, parts, cap })
}

#[cfg(test)]
mod tests {
    use super::super::HalfLife;
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn days(n: f64) -> Option<HalfLife> {
        Some(HalfLife::from_seconds(n * 86_400.0).unwrap())
    }

    #[test]
    fn a_capped_rule_decays_below_its_cap_then_counts_in_full() {
        let mut sum = DecayedSum::default();
        let cap = [(7, Cap::at_most(20.0))];
        for _ in 0..4 {
            sum.add_in(&cap, 10.0, 0, days(10.0));
        }
        sum.add(5.0, 0, None);
        // 40 capped at 20, plus 5 free.
        assert_eq!(sum.value_at(0), 25.0);
        // One half-life on: 20, exactly at the cap.
        assert!((sum.value_at(10 * DAY) - 25.0).abs() < 1e-12);
        // Two: 10, below the cap, in full.
        assert!((sum.value_at(20 * DAY) - 15.0).abs() < 1e-12);
        assert!((sum.part(7).unwrap().cut_at(0) + 20.0).abs() < 1e-12);
    }

    /// Whether `settled` is worth what `sum` is from `at` on (at several instants).
    fn worth_kept(sum: &DecayedSum, settled: &DecayedSum, at: i64) -> bool {
        (0..200).all(|n| {
            let t = at + n * DAY / 2;
            (sum.value_at(t) - settled.value_at(t)).abs() <= 1e-9 * sum.value_at(t).abs().max(1.0)
        })
    }

    #[test]
    fn settling_frees_the_caps_that_can_no_longer_bind() {
        // Rule 1 below its cap of 20, rule 2 above its cap of 10 (5 days' half-life),
        // the whole sum at most 100.
        let mut sum = DecayedSum::default();
        sum.add_in(&[(1, Cap::at_most(20.0))], 12.0, 0, days(10.0));
        sum.add_in(&[(2, Cap::at_most(10.0))], 40.0, 0, days(5.0));
        sum.add(3.0, 0, days(10.0));
        sum.cap = Some(Cap::at_most(100.0));
        let now = sum.settled(0);
        // Rule 1 joins the free term of its half-life; rule 2 and the whole cap stay.
        assert_eq!(now.parts.iter().map(|p| p.key).collect::<Vec<_>>(), vec![2]);
        assert_eq!(now.terms.len(), 1);
        assert!(now.cap.is_some());
        assert!(worth_kept(&sum, &now, 0));
        // Three half-lives of rule 2 later (40 → 5, below 10) nothing can bind any more.
        let later = sum.settled(15 * DAY);
        assert!(later.parts.is_empty() && later.cap.is_none(), "{later:?}");
        assert_eq!(later.terms.len(), 2);
        assert!(worth_kept(&sum, &later, 15 * DAY));
        // A dimension with a capped rule inside: inside out.
        let mut nested = DecayedSum::default();
        nested.add_in(&[(1_000_000, Cap::at_most(30.0)), (3, Cap::at_most(15.0))], 8.0, 0, None);
        nested.add_in(&[(1_000_000, Cap::at_most(30.0))], 4.0, 0, days(2.0));
        let settled = nested.settled(0);
        assert!(settled.parts.is_empty() && settled.cap.is_none());
        assert!(worth_kept(&nested, &settled, 0));
    }

    #[test]
    fn settling_keeps_what_could_still_bind() {
        // A floor of -10 on a negative rule at -25: it binds until the points fade.
        let mut floor = DecayedSum::default();
        floor.add_in(&[(4, Cap::at_least(-10.0))], -25.0, 0, days(1.0));
        assert_eq!(floor.settled(0).parts.len(), 1);
        let faded = floor.settled(2 * DAY);
        assert!(faded.parts.is_empty());
        assert!(worth_kept(&floor, &faded, 2 * DAY));
        // Mixed signs: the negative term fades faster, so the sum rises towards the
        // positive one's worth: a cap between the sum now and the positive term binds later.
        let mut mixed = DecayedSum::default();
        mixed.add_in(&[(5, Cap::at_most(15.0))], 20.0, 0, days(30.0));
        mixed.add_in(&[(5, Cap::at_most(15.0))], -10.0, 0, days(1.0));
        assert_eq!(mixed.value_at(0), 10.0);
        assert_eq!(mixed.settled(0).parts.len(), 1);
        assert!(worth_kept(&mixed, &mixed.settled(0), 0));
        // A point after the instant (a clock set back): left as it is.
        let mut ahead = DecayedSum::default();
        ahead.add_in(&[(6, Cap::at_most(50.0))], 1.0, 10 * DAY, days(1.0));
        assert_eq!(ahead.settled(0), ahead);
    }

    #[test]
    fn the_ceiling_bounds_every_later_reading() {
        // Positive and negative terms of several half-lives, a floor, caps that bind
        // and then do not, a term that never decays, one anchored after the instant.
        let mut sum = DecayedSum::default();
        sum.add(30.0, 0, days(7.0));
        sum.add(-12.0, DAY, days(2.0));
        sum.add(5.0, 0, None);
        sum.add(8.0, 5 * DAY, days(30.0));
        sum.add_in(&[(1, Cap::at_most(20.0))], 45.0, 0, days(10.0));
        sum.add_in(&[(2, Cap::at_least(-6.0))], -25.0, 2 * DAY, days(3.0));
        sum.add_in(&[(1_000_000, Cap::at_most(9.0)), (3, Cap::at_most(4.0))], 7.0, DAY, days(1.0));
        let mut capped = sum.clone();
        capped.cap = Some(Cap::at_most(40.0));
        for whole in [&sum, &capped] {
            for from in [0, DAY, 3 * DAY, 40 * DAY] {
                let ceiling = whole.ceiling_at(from);
                for n in 0..400 {
                    let t = from + n * DAY / 4;
                    assert!(
                        whole.value_at(t) <= ceiling + 1e-12,
                        "{} > {ceiling} at {t}",
                        whole.value_at(t)
                    );
                }
            }
        }
        // Tight for a sum of positive terms read at their anchor.
        let mut plain = DecayedSum::default();
        plain.add(3.0, DAY, days(5.0));
        plain.add(2.0, DAY, None);
        assert_eq!(plain.ceiling_at(DAY), plain.value_at(DAY));
    }

    #[test]
    fn same_worth_tells_a_settled_sum_from_a_stale_one() {
        let mut sum = DecayedSum::default();
        sum.add_in(&[(1, Cap::at_most(20.0))], 12.0, 0, days(10.0));
        sum.add_in(&[(2, Cap::at_most(10.0))], 40.0, 0, days(5.0));
        let settled = sum.settled(DAY);
        assert!(sum.same_worth(&settled, DAY, &mut || {}));
        assert!(settled.same_worth(&sum.settled(3 * DAY), 3 * DAY, &mut || {}));
        // One point more.
        let mut newer = sum.clone();
        newer.add_in(&[(1, Cap::at_most(20.0))], 1.0, DAY, days(10.0));
        assert!(!newer.same_worth(&settled, DAY, &mut || {}));
        // Worth the same now, not later: rule 2's cap dropped while it still binds.
        let mut uncapped = settled.clone();
        uncapped.parts.clear();
        uncapped.add(settled.part(2).unwrap().value_at(DAY), DAY, days(5.0));
        assert!((uncapped.value_at(DAY) - sum.value_at(DAY)).abs() < 1e-9);
        assert!(!uncapped.same_worth(&sum, DAY, &mut || {}));
        // A sum typed by hand may hold thousands of half-lives: each reading is a step
        // the caller can stop (a cancel, statement_timeout).
        let mut many = DecayedSum::default();
        for h in 1..2000 {
            many.add(1.0, 0, days(h as f64 / 10.0));
        }
        let mut steps = 0;
        assert!(many.same_worth(&many.clone(), DAY, &mut || steps += 1));
        assert!(steps > 2000, "{steps}");
    }

    #[test]
    fn nested_caps_apply_inside_out_and_merge_by_key() {
        // A rule capped at 15 inside a dimension capped at 20, beside a free rule in the
        // dimension; the whole engagement at most 30.
        let dimension = (1_000_000, Cap::at_most(20.0));
        let mut a = DecayedSum::default();
        a.add_in(&[dimension, (3, Cap::at_most(15.0))], 40.0, 0, None);
        let mut b = DecayedSum::default();
        b.add_in(&[dimension], 8.0, 0, None);
        b.add(25.0, 0, None);
        a.merge(&b);
        a.cap = Some(Cap::at_most(30.0));
        // min(15 + 8, 20) + 25 = 45, capped at 30.
        assert_eq!(a.uncapped_at(0), 45.0);
        assert_eq!(a.value_at(0), 30.0);
        // Negative rules have a floor.
        let mut c = DecayedSum::default();
        c.add_in(&[(4, Cap::at_least(-10.0))], -25.0, 0, None);
        assert_eq!(c.value_at(0), -10.0);
    }

    #[test]
    fn a_sum_typed_by_hand_is_made_one_the_engine_makes_or_refused() {
        let json = |text: &str| serde_json::from_str::<DecayedSum>(text).unwrap();
        // Unsorted, repeated half-lives: sorted and folded into one term each.
        let sum = json(
            r#"{"terms": [{"half_life": 10, "anchor": 0, "value": 1},
                                      {"half_life": null, "anchor": 0, "value": 2},
                                      {"half_life": 10, "anchor": 0, "value": 3}]}"#,
        )
        .checked()
        .unwrap();
        assert_eq!(sum.terms.len(), 2);
        assert_eq!(sum.value_at(0), 6.0);
        let refused = [
            r#"{"terms": [{"half_life": 0, "anchor": 0, "value": 1}]}"#,
            r#"{"terms": [{"half_life": -5, "anchor": 0, "value": 1}]}"#,
            r#"{"terms": [], "cap": {"min": 5, "max": 1}}"#,
            r#"{"terms": [], "parts": [{"key": 1, "sum": {"terms": [], "parts": [{"key": 1, "sum": {"terms": [],
                 "parts": [{"key": 1, "sum": {"terms": [], "parts": [{"key": 1, "sum": {"terms": []}}]}}]}}]}}]}"#,
        ];
        for text in refused {
            assert!(json(text).checked().is_err(), "{text}");
        }
        // What it accepts, the stored form reads back.
        let deepest = json(r#"{"terms": [], "parts": [{"key": 1, "sum": {"terms": [], "parts": [{"key": 1, "sum": {"terms": [],
                 "parts": [{"key": 1, "sum": {"terms": [{"half_life": null, "anchor": 0, "value": 1}]}}]}}]}}]}"#)
        .checked()
        .unwrap();
        assert_eq!(DecayedSum::from_bytes(&deepest.to_bytes()), Some(deepest));
    }

    #[test]
    fn merging_many_terms_takes_one_pass() {
        // 100,000 distinct half-lives each side, interleaved: linear, so well under a
        // second even in a debug build (one by one it took over ten).
        let many = |offset: f64| DecayedSum {
            terms: (0..100_000)
                .map(|i| DecayTerm {
                    half_life: Some(1.0 + 2.0 * i as f64 + offset),
                    anchor: 0,
                    value: 1.0,
                })
                .collect(),
            ..DecayedSum::default()
        };
        let started = std::time::Instant::now();
        let mut a = many(0.0);
        a.merge(&many(1.0));
        assert_eq!(a.terms.len(), 200_000);
        assert!(a.terms.windows(2).all(|w| w[0].half_life < w[1].half_life));
        assert!(started.elapsed().as_secs_f64() < 2.0, "{:?}", started.elapsed());
    }

    #[test]
    fn the_stored_form_of_a_capped_sum_reads_back_exactly() {
        let mut sum = DecayedSum::default();
        sum.add(3.0, 5, days(2.0));
        sum.add_in(&[(1_000_001, Cap::at_most(20.0)), (2, Cap::at_most(9.5))], 12.0, 7, None);
        sum.add_in(&[(4, Cap::at_least(-3.0))], -7.0, 9, days(1.0));
        sum.cap = Some(Cap::at_most(100.0));
        let bytes = sum.to_bytes();
        assert_eq!(bytes[0], FORMAT);
        assert_eq!(DecayedSum::from_bytes(&bytes), Some(sum.clone()));
        // Caps of every kind, and a dimension's key (over 2^31), read back too.
        let mut kinds = DecayedSum::default();
        let caps = [
            (crate::caps::DIMENSION_KEYS + 2, Cap { min: -2.5, max: 4.0 }),
            (3, Cap { min: -BOUND, max: BOUND }),
            (u32::MAX, Cap::at_least(-1.0)),
        ];
        kinds.add_in(&caps, 1.0, 0, None);
        assert_eq!(DecayedSum::from_bytes(&kinds.to_bytes()), Some(kinds));
        // A rule's part under a one-sided cap takes 36 bytes: key, cap kind and limit,
        // counts, one term.
        let mut one = DecayedSum::default();
        one.add_in(&[(7, Cap::at_most(40.0))], 1.0, 0, None);
        assert_eq!(one.to_bytes().len(), 1 + 1 + 1 + 1 + 1 + (1 + 8 + 1 + 24 + 1));
        // Cut short, with trailing bytes, an unknown cap kind, a count of more than 32
        // bits or of more than five bytes: not a sum.
        assert_eq!(DecayedSum::from_bytes(&bytes[..bytes.len() - 1]), None);
        for bad in [&[FORMAT, 4, 0, 0][..], &[FORMAT, 0, 0xff, 0xff, 0xff, 0xff, 0x7f, 0][..]] {
            assert_eq!(DecayedSum::from_bytes(bad), None);
        }
        let overlong = [FORMAT, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0];
        assert_eq!(DecayedSum::from_bytes(&overlong), None);
        assert_eq!(
            DecayedSum::from_bytes(&[FORMAT, 0, 0x80, 0x00, 0]),
            Some(DecayedSum::default())
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(DecayedSum::from_bytes(&longer), None);
        // A plain sum keeps its plain form.
        let mut plain = DecayedSum::default();
        plain.add(1.0, 0, None);
        assert_eq!(plain.to_bytes()[0], 1);
        // And the JSON form of a plain sum is as before: no parts, no cap.
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"terms":[{"half_life":null,"anchor":0,"value":1.0}]}"#
        );
    }
}
