//! Finishing a contact's result from the summary of its whole history: settling the
//! candidates of `count`-limited rules, then the fit and disqualifier rules on the
//! contact's own facts and its history, and when time alone will change the result.

use super::summary::{count_event, earliest_due, points_order};
use super::{CompiledProfile, ContactScore, Event, EventSummary, LimitState};
use crate::condition::{Condition, Facts, Field};
use crate::decay::bounded;
use crate::interrupt::Between;
use crate::rule::{CountLimit, Rule};
use crate::span::Span;
use crate::value::{Micros, Value};

impl EventSummary {
    /// The contact's result: the summary of its whole history, with its own facts.
    pub fn finish(
        self,
        profile: &CompiledProfile,
        contact: &dyn Facts,
        now: Micros,
    ) -> ContactScore {
        self.finish_between(profile, contact, now, &mut || {})
    }

    /// `finish`, calling `between` before each candidate of a `count`-limited rule is
    /// weighed (a contact can have millions): the caller's chance to stop it (see
    /// [`Between`]).
    pub fn finish_between(
        mut self,
        profile: &CompiledProfile,
        contact: &dyn Facts,
        now: Micros,
        between: Between<'_>,
    ) -> ContactScore {
        // One order whatever order the events came in: the earliest candidates count.
        self.candidates.sort();
        let mut selected = vec![false; self.candidates.len()];
        let mut limits = Vec::new();
        for (index, (_, rule)) in profile.rules.iter().enumerate() {
            let Rule::Event(rule) = rule else { continue };
            let CountLimit::AtMost(limit) = rule.count else { continue };
            let picks = self.candidates.iter().enumerate().filter(|(_, c)| {
                between();
                c.rules.contains(&index)
            });
            let mut state = LimitState { rule: index, counted: 0, latest: Micros::MIN };
            for (number, candidate) in picks.take(limit as usize) {
                let sums = (&mut self.engagement, &mut self.dimensions, &mut self.by_rule);
                count_event(profile, index, rule, candidate.at, sums);
                self.latest =
                    self.latest.max(Some((candidate.at, points_order(rule.points), index)));
                selected[number] = true;
                state.counted += 1;
                state.latest = state.latest.max(candidate.at);
            }
            if state.counted > 0 {
                limits.push(state);
            }
        }
        for (candidate, selected) in self.candidates.iter().zip(selected) {
            between();
            if candidate.counted || selected {
                self.tally.scored += 1;
            } else {
                self.tally.not_counted += 1;
            }
        }

        // The whole engagement's cap (`max_engagement`), whatever points came in.
        self.engagement.cap = profile.settings.caps.engagement();
        let mut result = ContactScore {
            fit: 0.0,
            engagement: self.engagement,
            dimensions: self.dimensions,
            disqualified_by: Vec::new(),
            next_due: self.next_due,
            tally: self.tally,
            latest_rule: self.latest.map(|(_, _, index)| index),
            fit_rules: Vec::new(),
            stages_met: 0,
            limits,
            by_rule: self.by_rule.take().unwrap_or_default(),
            adjustments: std::mem::take(&mut self.adjustments),
            latest_adjustment: self.latest_adjustment.take().map(|(_, _, reason)| reason),
        };
        let facts = ContactWithHistory { contact, profile, watched: &self.watched, now };
        for (index, (name, rule)) in profile.rules.iter().enumerate() {
            let when = match rule {
                Rule::Fit { when, points } => {
                    if when.holds(&facts) {
                        // Bounded as the engagement is: any number of rules of any
                        // finite points never make a fit of ±∞.
                        result.fit = bounded(result.fit + points);
                        result.fit_rules.push(index);
                    }
                    when
                }
                Rule::Disqualifier { when } => {
                    if when.holds(&facts) {
                        result.disqualified_by.push(name.clone());
                    }
                    when
                }
                _ => continue,
            };
            if let Some(flip) = facts.next_flip(when) {
                earliest_due(&mut result.next_due, flip, now);
            }
        }
        for (index, when) in profile.stage_conditions.iter().enumerate() {
            let Some(when) = when else {
                result.stages_met |= 1 << index;
                continue;
            };
            if when.holds(&facts) {
                result.stages_met |= 1 << index;
            }
            if let Some(flip) = facts.next_flip(when) {
                earliest_due(&mut result.next_due, flip, now);
            }
        }
        result
    }
}

/// The contact's own facts plus the history conditions' counts, as one [`Facts`].
struct ContactWithHistory<'a> {
    contact: &'a dyn Facts,
    profile: &'a CompiledProfile,
    watched: &'a [(u16, Micros)],
    now: Micros,
}

impl ContactWithHistory<'_> {
    /// The first instant after `now` at which time alone can change `when`: a history
    /// condition's count (an event comes due or leaves a window) or a `within` test on
    /// one of the contact's fields (a grace period ends, a fit rule lapses).
    fn next_flip(&self, when: &Condition) -> Option<Micros> {
        let history = when.history_conditions().into_iter().filter_map(|condition| {
            let times: Vec<Micros> = self.times_of(condition.event_types).collect();
            condition.next_flip(&times, self.now)
        });
        history.chain(when.next_field_flip(self, self.now)).min()
    }

    fn times_of<'s>(&'s self, event_types: &'s [String]) -> impl Iterator<Item = Micros> + 's {
        let numbers: Vec<u16> =
            event_types.iter().filter_map(|t| self.profile.watched_types.get(t).copied()).collect();
        self.watched.iter().filter(move |(n, _)| numbers.contains(n)).map(|&(_, at)| at)
    }
}

impl Facts for ContactWithHistory<'_> {
    fn field(&self, field: &Field) -> Value<'_> {
        self.contact.field(field)
    }

    fn event_count(&self, event_types: &[String], within: Option<&Span>) -> u64 {
        let since = within.map_or(Micros::MIN, |w| self.now.saturating_sub(w.micros()));
        self.times_of(event_types).filter(|&at| at <= self.now && at >= since).count() as u64
    }

    fn now(&self) -> Micros {
        self.now
    }
}

/// Score one contact as of `now`.
pub fn score_contact<'a>(
    profile: &CompiledProfile,
    contact: &dyn Facts,
    events: impl IntoIterator<Item = Event<'a>>,
    now: Micros,
) -> ContactScore {
    score_into(EventSummary::default(), profile, contact, events, now)
}

/// `score_contact`, calling `between` before each event and each candidate (see
/// [`Between`]): events given in one value can be millions.
pub fn score_contact_between<'a>(
    profile: &CompiledProfile,
    contact: &dyn Facts,
    events: impl IntoIterator<Item = Event<'a>>,
    now: Micros,
    between: Between<'_>,
) -> ContactScore {
    let mut summary = EventSummary::default();
    for event in events {
        between();
        summary.add(profile, &event, now);
    }
    summary.finish_between(profile, contact, now, between)
}

/// Score one contact as of `now`, folding its events into `summary` first.
pub fn score_into<'a>(
    mut summary: EventSummary,
    profile: &CompiledProfile,
    contact: &dyn Facts,
    events: impl IntoIterator<Item = Event<'a>>,
    now: Micros,
) -> ContactScore {
    for event in events {
        summary.add(profile, &event, now);
    }
    summary.finish(profile, contact, now)
}
