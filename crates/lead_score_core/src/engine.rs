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
//!   leaving a window or coming due, a `within` test on a field changing its answer), so
//!   a sweep can visit only contacts that are due.
//!
//! Events are folded one at a time into an [`EventSummary`], which two halves of a
//! history can also be merged into: a contact's score does not need its events in one
//! place or in any order, so a whole events table can be scored in one pass and new
//! events added to a stored summary.
//!
//! This file holds what the engine works with and returns; `engine/compile.rs`
//! compiles a profile, `engine/summary.rs` folds events into a summary and
//! `engine/finish.rs` turns a contact's whole summary into its result.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use crate::condition::Facts;
use crate::decay::{DecayedSum, HalfLife};
use crate::error::RuleError;
use crate::rule::Rule;
use crate::settings::Settings;
use crate::value::Micros;

mod compile;
mod finish;
mod summary;

pub use finish::{score_contact, score_contact_between, score_into};

/// A published version, compiled once and reused for every contact.
#[derive(Debug)]
pub struct CompiledProfile {
    pub settings: Settings,
    pub rules: Vec<(String, Rule)>,
    /// Per event type, the event rules that name it (indexes into `rules`).
    rules_by_type: HashMap<String, Vec<usize>>,
    /// Event types that history conditions count, each with its number in this list.
    watched_types: HashMap<String, u16>,
    /// Each stage's condition (`None`: it has none), in the order of `settings.stages`.
    stage_conditions: Vec<Option<crate::condition::Condition>>,
    /// Per rule (by index), the capped parts its points go into (see `CapPaths`).
    cap_paths: Vec<CapPaths>,
}

/// Where an event rule's points go when caps apply: the nested capped parts of the
/// engagement (its dimension's, then its own), and of its dimension's sum (its own).
/// Empty for a rule no cap touches: its points are free terms.
#[derive(Debug, Default)]
pub(crate) struct CapPaths {
    pub(crate) engagement: Vec<(u32, crate::decay::Cap)>,
    pub(crate) dimension: Vec<(u32, crate::decay::Cap)>,
}

/// A profile that failed to compile: which rule (none for settings) and what.
#[derive(Debug, PartialEq)]
pub struct ProfileError {
    pub rule_name: Option<String>,
    pub error: RuleError,
}

/// One event as the engine sees it.
pub struct Event<'a> {
    pub event_type: Option<&'a str>,
    pub at: Option<Micros>,
    /// The event's columns and `props`.
    pub facts: &'a dyn Facts,
}

/// A manual adjustment (`lead_score.adjust`): points given to a contact by hand at an
/// instant, decaying with their own half-life (`None`: never). It counts like an event
/// that always counts: from its own time on, into the engagement (and no dimension).
#[derive(Clone, Copy, Debug)]
pub struct Adjustment<'a> {
    pub id: i64,
    pub points: f64,
    pub at: Micros,
    pub half_life: Option<HalfLife>,
    pub reason: &'a str,
}

/// What one manual adjustment added to a contact's engagement (kept when explaining).
#[derive(Clone, Debug, PartialEq)]
pub struct AdjustmentWorth {
    pub id: i64,
    pub reason: String,
    pub points: DecayedSum,
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

    /// The reasons' names, in the order of `to_array`.
    pub const REASONS: [&'static str; 6] =
        ["scored", "unmatched", "not_counted", "future", "null_time", "null_type"];

    /// Each reason's name with its count, in the order of `to_array`.
    pub fn named(self) -> impl Iterator<Item = (&'static str, u64)> {
        Self::REASONS.into_iter().zip(self.to_array())
    }

    /// The counts in the order `lead_score.stats()` lists them (and state rows store them).
    pub fn to_array(self) -> [u64; 6] {
        [self.scored, self.unmatched, self.not_counted, self.future, self.null_time, self.null_type]
    }

    pub fn from_array(counts: &[i64]) -> EventTally {
        let count = |i: usize| counts.get(i).copied().unwrap_or(0).max(0) as u64;
        EventTally {
            scored: count(0),
            unmatched: count(1),
            not_counted: count(2),
            future: count(3),
            null_time: count(4),
            null_type: count(5),
        }
    }

    fn merge(&mut self, other: EventTally) {
        self.scored += other.scored;
        self.unmatched += other.unmatched;
        self.not_counted += other.not_counted;
        self.future += other.future;
        self.null_time += other.null_time;
        self.null_type += other.null_type;
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
    /// The rule (its index in the profile's rules) of the latest event that scored:
    /// what pushed the contact over a threshold when an event did. (Indices, not names:
    /// nothing to allocate for each of a million contacts.)
    pub latest_rule: Option<usize>,
    /// The fit rules that hold (indices in the profile's rules).
    pub fit_rules: Vec<usize>,
    /// Bit `i`: stage `i`'s condition holds (or it has none). Whether its score
    /// minimum is met is read off the score when the contact's stage is settled.
    pub stages_met: u64,
    /// What each `count`-limited rule has selected, so new events can be added to this
    /// result without the history (see [`EventSummary::settle_limits`]).
    pub limits: Vec<LimitState>,
    /// Per event rule (its index in the profile's rules), what it added, when the
    /// result was computed to be explained (see [`EventSummary::explaining`]); empty
    /// otherwise.
    pub by_rule: BTreeMap<usize, RuleWorth>,
    /// Each manual adjustment that counts, when the result was computed to be
    /// explained; empty otherwise.
    pub adjustments: Vec<AdjustmentWorth>,
    /// The reason of the latest manual adjustment that counts (by time, then id): what
    /// pushed the contact over a threshold when an adjustment did.
    pub latest_adjustment: Option<String>,
}

/// What one event rule added to a contact's engagement: the events it counted and
/// their points, decaying as the engagement does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleWorth {
    pub events: u64,
    pub points: DecayedSum,
}

/// A `count`-limited rule's selection in a contact's result: how many events it
/// counted and the latest of them. (A rule that counted nothing has no entry.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitState {
    /// The rule's index in the compiled profile's rules.
    pub rule: usize,
    pub counted: u32,
    pub latest: Micros,
}

impl LimitState {
    /// As stored: flat triples (rule, counted, latest).
    pub fn flatten(states: &[LimitState]) -> Vec<i64> {
        states.iter().flat_map(|s| [s.rule as i64, s.counted as i64, s.latest]).collect()
    }

    /// Read back what `flatten` stored; `None` when malformed (the contact's new events
    /// then take the full path, never a wrong one).
    pub fn unflatten(stored: &[i64]) -> Option<Vec<LimitState>> {
        if !stored.len().is_multiple_of(3) {
            return None;
        }
        stored
            .chunks(3)
            .map(|c| {
                Some(LimitState {
                    rule: usize::try_from(c[0]).ok()?,
                    counted: u32::try_from(c[1]).ok()?,
                    latest: c[2],
                })
            })
            .collect()
    }
}

impl ContactScore {
    pub fn score_at(&self, at: Micros) -> f64 {
        self.fit + self.engagement.value_at(at)
    }
}

/// An event that matched a `count`-limited rule: whether it counts is known only once
/// the contact's whole history is in (the earliest ones do). Ordered by time first (the
/// fields' order): the one order candidates are settled in, whatever order they came in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    at: Micros,
    /// Already counted by a rule without a limit (for the tally).
    counted: bool,
    /// The limited rules it is a candidate for (indexes into the profile's rules).
    rules: Vec<usize>,
}

/// What some of a contact's events add up to, as of an instant: decayed points, the
/// tally, the next due time, and the few facts that can only be settled with the whole
/// history (candidates of limited rules, times of the events history conditions
/// count). Summaries of two parts of a history merge into the summary of the whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventSummary {
    pub engagement: DecayedSum,
    pub dimensions: BTreeMap<String, DecayedSum>,
    /// Complete for every event but the candidates, which `finish` tallies.
    pub tally: EventTally,
    /// From windows and future events; `finish` adds history conditions.
    pub next_due: Option<Micros>,
    candidates: Vec<Candidate>,
    /// (number of the type in `watched_types`, time) of events history conditions count.
    watched: Vec<(u16, Micros)>,
    /// (time, points in total order, rule index) of the latest event that scored: at
    /// equal times the rule worth more is named.
    latest: Option<(Micros, i64, usize)>,
    /// What each event rule added, kept only when explaining: the scoring paths need
    /// the totals alone.
    by_rule: Option<BTreeMap<usize, RuleWorth>>,
    /// (time, id, reason) of the latest manual adjustment that counts.
    latest_adjustment: Option<(Micros, i64, String)>,
    /// Each manual adjustment that counts, kept only when explaining.
    adjustments: Vec<AdjustmentWorth>,
}
