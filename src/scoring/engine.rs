//! Scoring one contact: a compiled profile applied to the contact's own facts and its
//! event history, as of an instant. Pure and total: no input makes it fail.
//!
//! * fit points: every fit rule whose condition holds on the contact (and account);
//! * engagement: every event rule's points for its matching events, each decaying from
//!   its own time, kept as a [`DecayedSum`] (one term per half-life);
//! * `count` limits keep the earliest matching events by event time (within the rule's
//!   window, if any), so insertion order never changes a score;
//! * events in the future count from their own time on, never before;
//! * `next_due`: the next instant at which time alone changes the result (an event
//!   leaving a window or coming due), so a sweep can visit only contacts that are due.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::scoring::condition::{Facts, Field};
use crate::scoring::decay::{DecayedSum, HalfLife};
use crate::scoring::error::RuleError;
use crate::scoring::rule::{CountLimit, EventRule, HalfLifeChoice, Rule};
use crate::scoring::settings::Settings;
use crate::scoring::span::Span;
use crate::scoring::value::{Micros, Value};

/// A published version, compiled once and reused for every contact.
#[derive(Debug)]
pub struct CompiledProfile {
    pub settings: Settings,
    pub rules: Vec<(String, Rule)>,
    /// Event types whose new events need the contact's history to be counted (see
    /// [`CompiledProfile::is_additive`]); worked out once, at compile time.
    needs_history: BTreeSet<String>,
}

/// A profile that failed to compile: which rule (none for settings) and what.
#[derive(Debug, PartialEq)]
pub struct ProfileError {
    pub rule_name: Option<String>,
    pub error: RuleError,
}

impl CompiledProfile {
    pub fn compile(settings: &Json, rules: &[(String, Json)]) -> Result<Self, ProfileError> {
        let settings =
            Settings::compile(settings).map_err(|error| ProfileError { rule_name: None, error })?;
        let rules = rules
            .iter()
            .map(|(name, json)| {
                Rule::compile(json)
                    .map(|rule| (name.clone(), rule))
                    .map_err(|error| ProfileError { rule_name: Some(name.clone()), error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut needs_history = BTreeSet::new();
        for (_, rule) in &rules {
            match rule {
                Rule::Event(e) if e.count != CountLimit::Every || e.within.is_some() => {
                    needs_history.extend(e.event_types.iter().cloned())
                }
                Rule::Disqualifier { when } | Rule::Fit { when, .. } => {
                    for condition in when.history_conditions() {
                        needs_history.extend(condition.event_types.iter().cloned());
                    }
                }
                _ => {}
            }
        }
        Ok(CompiledProfile { settings, rules, needs_history })
    }

    fn half_life(&self, rule: &EventRule) -> Option<HalfLife> {
        let seconds = match &rule.half_life {
            HalfLifeChoice::Never => return None,
            HalfLifeChoice::ProfileDefault => self.settings.half_life.seconds(),
            HalfLifeChoice::Own(span) => span.seconds(),
        };
        // Both were checked positive when compiled.
        HalfLife::from_seconds(seconds).ok()
    }
}

/// One event as the engine sees it.
pub struct Event<'a> {
    pub event_type: Option<&'a str>,
    pub at: Option<Micros>,
    /// The event's columns and `props`.
    pub facts: &'a dyn Facts,
}

/// Why events did not count, for `lead_score.stats()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventTally {
    /// Matched at least one event rule and counted now.
    pub scored: u64,
    /// Valid, but no event rule matches its type and condition.
    pub unmatched: u64,
    /// Matched, but outside every matching rule's window or beyond its count limit.
    pub not_counted: u64,
    /// Matched, dated in the future: counts from its own time on.
    pub future: u64,
    pub null_time: u64,
    pub null_type: u64,
}

impl EventTally {
    /// An event without a time or without a type: counted, never scored.
    fn count_unusable(&mut self, at: Option<Micros>) {
        if at.is_none() {
            self.null_time += 1;
        } else {
            self.null_type += 1;
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactScore {
    pub fit: f64,
    pub engagement: DecayedSum,
    /// Per `dimension` label: the points of the rules with that label.
    pub dimensions: BTreeMap<String, DecayedSum>,
    /// Names of the disqualifier rules that hold, in the order the profile lists them.
    pub disqualified_by: Vec<String>,
    /// The next instant after `now` at which time alone changes this result.
    pub next_due: Option<Micros>,
    pub tally: EventTally,
}

impl ContactScore {
    pub fn score_at(&self, at: Micros) -> f64 {
        self.fit + self.engagement.value_at(at)
    }
}

/// The contact's own facts plus the history conditions' counts, as one [`Facts`].
struct ContactWithHistory<'a> {
    contact: &'a dyn Facts,
    history: &'a [(&'a str, Micros)],
    now: Micros,
}

impl Facts for ContactWithHistory<'_> {
    fn field(&self, field: &Field) -> Value<'_> {
        self.contact.field(field)
    }

    fn event_count(&self, event_types: &[String], within: Option<&Span>) -> u64 {
        let since = within.map_or(Micros::MIN, |w| self.now.saturating_sub(w.micros()));
        self.history
            .iter()
            .filter(|(t, at)| *at <= self.now && *at >= since && event_types.iter().any(|e| e == t))
            .count() as u64
    }

    fn now(&self) -> Micros {
        self.now
    }
}

fn earliest_due(due: &mut Option<Micros>, candidate: Micros, now: Micros) {
    if candidate > now {
        *due = Some(due.map_or(candidate, |d| d.min(candidate)));
    }
}

/// Score one contact as of `now`.
pub fn score_contact<'a>(
    profile: &CompiledProfile,
    contact: &dyn Facts,
    events: impl IntoIterator<Item = Event<'a>>,
    now: Micros,
) -> ContactScore {
    let mut result = ContactScore::default();
    let event_rules: Vec<(usize, &EventRule)> = profile
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, (_, rule))| if let Rule::Event(e) = rule { Some((i, e)) } else { None })
        .collect();
    // Per limited rule, its in-window matching events as (time, event number): the
    // earliest count, decided once all events are seen.
    let mut limited: BTreeMap<usize, Vec<(Micros, usize)>> = BTreeMap::new();
    let mut history: Vec<(&str, Micros)> = Vec::new();
    // Per valid event: (matched a rule, counted, in the future), for the tally.
    let mut outcomes: Vec<(bool, bool, bool)> = Vec::new();

    for event in events {
        let (Some(event_type), Some(at)) = (event.event_type, event.at) else {
            result.tally.count_unusable(event.at);
            continue;
        };
        let number = outcomes.len();
        history.push((event_type, at));
        let mut outcome = (false, false, at > now);
        for &(index, rule) in &event_rules {
            if !rule.matches(event.facts, event_type) {
                continue;
            }
            outcome.0 = true;
            if at > now {
                earliest_due(&mut result.next_due, at, now);
                continue;
            }
            if let Some(window) = &rule.within {
                // The window includes its edge: the event counts until `at + within`
                // and leaves one microsecond later.
                let last_counted = at.saturating_add(window.micros());
                if last_counted < now {
                    continue;
                }
                earliest_due(&mut result.next_due, last_counted.saturating_add(1), now);
            }
            match rule.count {
                CountLimit::Every => {
                    add_points(profile, rule, &mut result, at);
                    outcome.1 = true;
                }
                CountLimit::AtMost(_) => limited.entry(index).or_default().push((at, number)),
            }
        }
        outcomes.push(outcome);
    }

    for (index, mut candidates) in limited {
        let Rule::Event(rule) = &profile.rules[index].1 else { continue };
        let CountLimit::AtMost(limit) = rule.count else { continue };
        candidates.sort_unstable();
        for &(at, number) in candidates.iter().take(limit as usize) {
            add_points(profile, rule, &mut result, at);
            outcomes[number].1 = true;
        }
    }
    for (matched, counted, future) in outcomes {
        match (matched, counted, future) {
            (false, _, _) => result.tally.unmatched += 1,
            (true, true, _) => result.tally.scored += 1,
            (true, false, true) => result.tally.future += 1,
            (true, false, false) => result.tally.not_counted += 1,
        }
    }

    let facts = ContactWithHistory { contact, history: &history, now };
    for (name, rule) in &profile.rules {
        match rule {
            Rule::Fit { when, points } if when.holds(&facts) => result.fit += points,
            Rule::Disqualifier { when } => {
                if when.holds(&facts) {
                    result.disqualified_by.push(name.clone());
                }
                for condition in when.history_conditions() {
                    let times: Vec<Micros> = history
                        .iter()
                        .filter(|(t, _)| condition.event_types.iter().any(|wanted| wanted == t))
                        .map(|&(_, at)| at)
                        .collect();
                    if let Some(flip) = condition.next_flip(&times, now) {
                        earliest_due(&mut result.next_due, flip, now);
                    }
                }
            }
            _ => {}
        }
    }
    result
}

fn add_points(profile: &CompiledProfile, rule: &EventRule, result: &mut ContactScore, at: Micros) {
    let half_life = profile.half_life(rule);
    result.engagement.add(rule.points, at, half_life);
    if let Some(dimension) = &rule.dimension {
        result.dimensions.entry(dimension.clone()).or_default().add(rule.points, at, half_life);
    }
}

/// The part of a contact's stored result that new events can add to directly.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Additive {
    pub engagement: DecayedSum,
    pub dimensions: BTreeMap<String, DecayedSum>,
    pub tally: EventTally,
}

impl CompiledProfile {
    /// Whether an event of this type can be added to a stored result without rereading
    /// the contact's history: every rule of that type counts every event, has no
    /// window, and no history condition watches the type. (Unknown types qualify.)
    pub fn is_additive(&self, event_type: &str) -> bool {
        !self.needs_history.contains(event_type)
    }
}

/// Add new events to a stored result, as `score_contact` would count them, or return
/// `false` (changing nothing) when one of them needs the contact's history: a type
/// that is not additive, or an event in the future (it would set a due time).
pub fn add_events<'a>(
    profile: &CompiledProfile,
    stored: &mut Additive,
    events: impl IntoIterator<Item = Event<'a>>,
    now: Micros,
) -> bool {
    let events: Vec<Event<'a>> = events.into_iter().collect();
    let additive = events.iter().all(|e| match (e.event_type, e.at) {
        (Some(t), Some(at)) => at <= now && profile.is_additive(t),
        _ => true,
    });
    if !additive {
        return false;
    }
    let mut scored = ContactScore {
        engagement: std::mem::take(&mut stored.engagement),
        dimensions: std::mem::take(&mut stored.dimensions),
        ..ContactScore::default()
    };
    for event in &events {
        let (Some(event_type), Some(at)) = (event.event_type, event.at) else {
            stored.tally.count_unusable(event.at);
            continue;
        };
        let mut matched = false;
        for (_, rule) in &profile.rules {
            if let Rule::Event(rule) = rule {
                if rule.matches(event.facts, event_type) {
                    add_points(profile, rule, &mut scored, at);
                    matched = true;
                }
            }
        }
        if matched {
            stored.tally.scored += 1;
        } else {
            stored.tally.unmatched += 1;
        }
    }
    stored.engagement = scored.engagement;
    stored.dimensions = scored.dimensions;
    true
}
