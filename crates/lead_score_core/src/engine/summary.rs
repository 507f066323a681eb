//! Folding a contact's events (and manual adjustments) into an [`EventSummary`], and
//! merging or settling summaries, before `finish` makes a result.

use std::collections::BTreeMap;

use super::{
    Adjustment, AdjustmentWorth, Candidate, CompiledProfile, Event, EventSummary, LimitState,
    RuleWorth,
};
use crate::decay::DecayedSum;
use crate::rule::{CountLimit, EventRule};
use crate::value::Micros;

/// `points` as an integer in the order of `f64::total_cmp`.
pub(super) fn points_order(points: f64) -> i64 {
    let bits = points.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

pub(super) fn earliest_due(due: &mut Option<Micros>, candidate: Micros, now: Micros) {
    if candidate > now {
        *due = Some(due.map_or(candidate, |d| d.min(candidate)));
    }
}

impl EventSummary {
    /// An empty summary that also keeps what each event rule adds, so that its result
    /// can be explained rule by rule ([`ContactScore::by_rule`]).
    ///
    /// [`ContactScore::by_rule`]: super::ContactScore::by_rule
    pub fn explaining() -> EventSummary {
        EventSummary { by_rule: Some(BTreeMap::new()), ..EventSummary::default() }
    }

    /// Fold one event in, as of `now`.
    pub fn add(&mut self, profile: &CompiledProfile, event: &Event<'_>, now: Micros) {
        let (Some(event_type), Some(at)) = (event.event_type, event.at) else {
            self.tally.count_unusable(event.at);
            return;
        };
        if let Some(&number) = profile.watched_types.get(event_type) {
            self.watched.push((number, at));
        }
        let (mut matched, mut counted) = (false, false);
        let mut limited = Vec::new();
        for &index in profile.rules_by_type.get(event_type).map_or(&[][..], Vec::as_slice) {
            let Some(rule) = profile.event_rule(index) else { continue };
            if let Some(when) = &rule.when {
                // A `within` test on the event's own timestamp (a demo date in its
                // props, say) changes with time alone, whether it holds now or not.
                if let Some(flip) = when.next_field_flip(event.facts, now) {
                    earliest_due(&mut self.next_due, flip, now);
                }
                if !when.holds(event.facts) {
                    continue;
                }
            }
            matched = true;
            // An event at -infinity is worth nothing at any time: not counted.
            if at == Micros::MIN {
                continue;
            }
            if at > now {
                earliest_due(&mut self.next_due, at, now);
                continue;
            }
            if let Some(window) = &rule.within {
                // The window includes its edge: the event counts until `at + within`
                // and leaves one microsecond later.
                let last_counted = at.saturating_add(window.micros());
                if last_counted < now {
                    continue;
                }
                earliest_due(&mut self.next_due, last_counted.saturating_add(1), now);
            }
            match rule.count {
                CountLimit::Every => {
                    let sums = (&mut self.engagement, &mut self.dimensions, &mut self.by_rule);
                    count_event(profile, index, rule, at, sums);
                    self.latest = self.latest.max(Some((at, points_order(rule.points), index)));
                    counted = true;
                }
                CountLimit::AtMost(_) => limited.push(index),
            }
        }
        if !limited.is_empty() {
            self.candidates.push(Candidate { at, counted, rules: limited });
            return;
        }
        match (matched, counted) {
            (false, _) => self.tally.unmatched += 1,
            (true, true) => self.tally.scored += 1,
            (true, false) if at > now => self.tally.future += 1,
            (true, false) => self.tally.not_counted += 1,
        }
    }

    /// Fold one manual adjustment in, as of `now`: its points count from its own time
    /// on, never before (a score asked for an earlier instant leaves it out).
    pub fn adjust(&mut self, adjustment: &Adjustment<'_>, now: Micros) {
        let Adjustment { id, points, at, half_life, reason } = *adjustment;
        if at > now {
            earliest_due(&mut self.next_due, at, now);
            return;
        }
        self.engagement.add(points, at, half_life);
        if self.latest_adjustment.as_ref().is_none_or(|(t, i, _)| (at, id) > (*t, *i)) {
            self.latest_adjustment = Some((at, id, reason.to_owned()));
        }
        if self.by_rule.is_some() {
            let mut worth = DecayedSum::default();
            worth.add(points, at, half_life);
            self.adjustments.push(AdjustmentWorth { id, reason: reason.to_owned(), points: worth });
        }
    }

    /// Merge the summary of other events of the same contact (as of the same instant).
    pub fn merge(&mut self, other: EventSummary) {
        self.engagement.merge(&other.engagement);
        for (label, sum) in &other.dimensions {
            self.dimensions.entry(label.clone()).or_default().merge(sum);
        }
        self.tally.merge(other.tally);
        self.next_due = match (self.next_due, other.next_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.candidates.extend(other.candidates);
        self.watched.extend(other.watched);
        self.latest = self.latest.max(other.latest);
        let theirs = other.latest_adjustment;
        if theirs.as_ref().map(|(t, i, _)| (*t, *i))
            > self.latest_adjustment.as_ref().map(|(t, i, _)| (*t, *i))
        {
            self.latest_adjustment = theirs;
        }
        self.adjustments.extend(other.adjustments);
        if let (Some(mine), Some(theirs)) = (&mut self.by_rule, other.by_rule) {
            for (index, worth) in theirs {
                let entry = mine.entry(index).or_default();
                entry.events += worth.events;
                entry.points.merge(&worth.points);
            }
        }
    }

    /// Whether these events can be added to a stored result without the rest of the
    /// contact's history: none is a candidate of a limited rule or counted by a history
    /// condition. Their sums add to the stored sums, and their `next_due` (an event
    /// inside a window, or in the future) to the stored due time by the earlier of the
    /// two: a full recompute's sums are the sums of its events', and its due time the
    /// earliest of theirs.
    pub fn is_additive(&self) -> bool {
        self.candidates.is_empty() && self.watched.is_empty()
    }

    /// Decide this summary's candidates of `count`-limited rules against what the
    /// contact's stored result selected (`stored`, from [`ContactScore::limits`]),
    /// without its history: while a rule has counted fewer events than its limit, every
    /// event it matches counts; once full, an event later than all it counted does not.
    /// An event at or before the latest counted one could displace it: then `None`,
    /// and the contact needs its history. Otherwise: the summary with the candidates'
    /// points and tally in (additive if nothing else needs history), and the contact's
    /// new selection.
    ///
    /// [`ContactScore::limits`]: super::ContactScore::limits
    pub fn settle_limits(
        &self,
        profile: &CompiledProfile,
        stored: &[LimitState],
    ) -> Option<(EventSummary, Vec<LimitState>)> {
        let mut settled = self.clone();
        let mut limits = stored.to_vec();
        let mut candidates = std::mem::take(&mut settled.candidates);
        candidates.sort();
        for candidate in &candidates {
            let mut selected = false;
            for &index in &candidate.rules {
                let rule = profile.event_rule(index)?;
                let CountLimit::AtMost(limit) = rule.count else { return None };
                let state = match limits.iter().position(|s| s.rule == index) {
                    Some(position) => &mut limits[position],
                    None => {
                        limits.push(LimitState { rule: index, counted: 0, latest: Micros::MIN });
                        limits.last_mut()?
                    }
                };
                if state.counted < limit {
                    state.counted += 1;
                    state.latest = state.latest.max(candidate.at);
                    let sums =
                        (&mut settled.engagement, &mut settled.dimensions, &mut settled.by_rule);
                    count_event(profile, index, rule, candidate.at, sums);
                    settled.latest =
                        settled.latest.max(Some((candidate.at, points_order(rule.points), index)));
                    selected = true;
                } else if candidate.at <= state.latest {
                    return None;
                }
            }
            if candidate.counted || selected {
                settled.tally.scored += 1;
            } else {
                settled.tally.not_counted += 1;
            }
        }
        limits.sort_by_key(|s| s.rule);
        Some((settled, limits))
    }

    /// The rule (its index in the profile's rules) of the latest event that scored in
    /// this summary: what pushed a contact over a threshold when these events did.
    pub fn latest_rule(&self) -> Option<usize> {
        self.latest.map(|(_, _, index)| index)
    }

    /// Whether some events are candidates of `count`-limited rules.
    pub fn has_candidates(&self) -> bool {
        !self.candidates.is_empty()
    }
}

/// The sums an event rule's points go into: the engagement, the dimensions, and what
/// each rule added (when explaining).
pub(super) type Sums<'a> = (
    &'a mut DecayedSum,
    &'a mut BTreeMap<String, DecayedSum>,
    &'a mut Option<BTreeMap<usize, RuleWorth>>,
);

/// Count one event for the event rule `rule` (number `index` in the profile's rules).
pub(super) fn count_event(
    profile: &CompiledProfile,
    index: usize,
    rule: &EventRule,
    at: Micros,
    (engagement, dimensions, by_rule): Sums<'_>,
) {
    let half_life = profile.half_life(rule);
    let paths = profile.cap_paths(index);
    let (in_engagement, in_dimension) =
        paths.map_or((&[][..], &[][..]), |p| (p.engagement.as_slice(), p.dimension.as_slice()));
    engagement.add_in(in_engagement, rule.points, at, half_life);
    if let Some(dimension) = &rule.dimension {
        let sum =
            dimensions.entry(dimension.clone()).or_insert_with(|| profile.dimension_sum(dimension));
        sum.add_in(in_dimension, rule.points, at, half_life);
    }
    if let Some(by_rule) = by_rule {
        let worth = by_rule.entry(index).or_default();
        worth.events += 1;
        worth.points.add(rule.points, at, half_life);
    }
}
