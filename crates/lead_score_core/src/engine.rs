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

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use serde_json::Value as Json;

use crate::condition::{Condition, Facts, Field};
use crate::decay::{bounded, DecayedSum, HalfLife};
use crate::error::RuleError;
use crate::interrupt::Between;
use crate::rule::{CountLimit, EventRule, HalfLifeChoice, Rule};
use crate::settings::Settings;
use crate::span::Span;
use crate::value::{Micros, Value};

/// A published version, compiled once and reused for every contact.
#[derive(Debug)]
pub struct CompiledProfile {
    pub settings: Settings,
    pub rules: Vec<(String, Rule)>,
    /// Per event type, the event rules that name it (indexes into `rules`).
    rules_by_type: HashMap<String, Vec<usize>>,
    /// Event types that history conditions count, each with its number in this list.
    watched_types: HashMap<String, u16>,
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
        let mut rules_by_type: HashMap<String, Vec<usize>> = HashMap::default();
        let mut watched_types: HashMap<String, u16> = HashMap::default();
        for (index, (_, rule)) in rules.iter().enumerate() {
            match rule {
                Rule::Event(e) => {
                    for event_type in &e.event_types {
                        let listed = rules_by_type.entry(event_type.clone()).or_default();
                        if !listed.contains(&index) {
                            listed.push(index);
                        }
                    }
                }
                Rule::Disqualifier { when } | Rule::Fit { when, .. } => {
                    for condition in when.history_conditions() {
                        for event_type in condition.event_types {
                            let next = watched_types.len() as u16;
                            watched_types.entry(event_type.clone()).or_insert(next);
                        }
                    }
                }
            }
        }
        Ok(CompiledProfile { settings, rules, rules_by_type, watched_types })
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

    fn event_rule(&self, index: usize) -> Option<&EventRule> {
        match self.rules.get(index) {
            Some((_, Rule::Event(rule))) => Some(rule),
            _ => None,
        }
    }
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

/// `points` as an integer in the order of `f64::total_cmp`.
fn points_order(points: f64) -> i64 {
    let bits = points.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

fn earliest_due(due: &mut Option<Micros>, candidate: Micros, now: Micros) {
    if candidate > now {
        *due = Some(due.map_or(candidate, |d| d.min(candidate)));
    }
}

impl EventSummary {
    /// An empty summary that also keeps what each event rule adds, so that its result
    /// can be explained rule by rule ([`ContactScore::by_rule`]).
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

    /// Whether these events can be added to a stored result as they are, without the
    /// rest of the contact's history: none is a candidate of a limited rule, counted by
    /// a history condition, inside a window or in the future.
    pub fn is_additive(&self) -> bool {
        self.candidates.is_empty() && self.watched.is_empty() && self.next_due.is_none()
    }

    /// Decide this summary's candidates of `count`-limited rules against what the
    /// contact's stored result selected (`stored`, from [`ContactScore::limits`]),
    /// without its history: while a rule has counted fewer events than its limit, every
    /// event it matches counts; once full, an event later than all it counted does not.
    /// An event at or before the latest counted one could displace it: then `None`,
    /// and the contact needs its history. Otherwise: the summary with the candidates'
    /// points and tally in (additive if nothing else needs history), and the contact's
    /// new selection.
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

    /// Whether some events are candidates of `count`-limited rules.
    pub fn has_candidates(&self) -> bool {
        !self.candidates.is_empty()
    }

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

        let mut result = ContactScore {
            fit: 0.0,
            engagement: self.engagement,
            dimensions: self.dimensions,
            disqualified_by: Vec::new(),
            next_due: self.next_due,
            tally: self.tally,
            latest_rule: self.latest.map(|(_, _, index)| index),
            fit_rules: Vec::new(),
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

/// The sums an event rule's points go into: the engagement, the dimensions, and what
/// each rule added (when explaining).
type Sums<'a> = (
    &'a mut DecayedSum,
    &'a mut BTreeMap<String, DecayedSum>,
    &'a mut Option<BTreeMap<usize, RuleWorth>>,
);

/// Count one event for the event rule `rule` (number `index` in the profile's rules).
fn count_event(
    profile: &CompiledProfile,
    index: usize,
    rule: &EventRule,
    at: Micros,
    (engagement, dimensions, by_rule): Sums<'_>,
) {
    let half_life = profile.half_life(rule);
    engagement.add(rule.points, at, half_life);
    if let Some(dimension) = &rule.dimension {
        dimensions.entry(dimension.clone()).or_default().add(rule.points, at, half_life);
    }
    if let Some(by_rule) = by_rule {
        let worth = by_rule.entry(index).or_default();
        worth.events += 1;
        worth.points.add(rule.points, at, half_life);
    }
}
