//! Compiling a published version's settings and rules into a [`CompiledProfile`],
//! with the lookups the engine makes per event.

use rustc_hash::FxHashMap as HashMap;
use serde_json::Value as Json;

use super::{CapPaths, CompiledProfile, ProfileError};
use crate::condition::Condition;
use crate::decay::{DecayedSum, HalfLife};
use crate::rule::{EventRule, HalfLifeChoice, Rule};
use crate::settings::Settings;

impl CompiledProfile {
    pub fn compile(settings: &Json, rules: &[(String, Json)]) -> Result<Self, ProfileError> {
        let (settings, stage_conditions) = Settings::compile_with_conditions(settings)
            .map_err(|error| ProfileError { rule_name: None, error })?;
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
                    watch(&mut watched_types, when);
                }
            }
        }
        for when in stage_conditions.iter().flatten() {
            watch(&mut watched_types, when);
        }
        let cap_paths = rules
            .iter()
            .enumerate()
            .map(|(index, (_, rule))| cap_paths(&settings, index, rule))
            .collect();
        Ok(CompiledProfile {
            settings,
            rules,
            rules_by_type,
            watched_types,
            stage_conditions,
            cap_paths,
        })
    }

    /// Every condition the contact's facts are tested with, beside the rules': the
    /// stages', each with its stage's name (for checking the fields they read).
    pub fn stage_conditions(&self) -> impl Iterator<Item = (&str, &Condition)> {
        let names = self.settings.stages.iter().map(|s| s.name.as_str());
        names.zip(&self.stage_conditions).filter_map(|(name, when)| Some((name, when.as_ref()?)))
    }

    /// Leave the stages out (for a state table that cannot hold them yet).
    pub fn drop_stages(&mut self) {
        self.settings.stages.clear();
        self.stage_conditions.clear();
    }

    /// An empty sum of dimension `label`'s points, with its cap if it has one.
    pub(super) fn dimension_sum(&self, label: &str) -> DecayedSum {
        let cap = self.settings.caps.of_dimension(label).map(|(_, cap)| cap);
        DecayedSum { cap, ..DecayedSum::default() }
    }

    /// The capped parts rule `index`'s points go into.
    pub(super) fn cap_paths(&self, index: usize) -> Option<&CapPaths> {
        self.cap_paths.get(index)
    }

    pub(super) fn half_life(&self, rule: &EventRule) -> Option<HalfLife> {
        let seconds = match &rule.half_life {
            HalfLifeChoice::Never => return None,
            HalfLifeChoice::ProfileDefault => self.settings.half_life.seconds(),
            HalfLifeChoice::Own(span) => span.seconds(),
        };
        // Both were checked positive when compiled.
        HalfLife::from_seconds(seconds).ok()
    }

    pub(super) fn event_rule(&self, index: usize) -> Option<&EventRule> {
        match self.rules.get(index) {
            Some((_, Rule::Event(rule))) => Some(rule),
            _ => None,
        }
    }
}

/// Number the event types the history conditions of `when` count.
fn watch(watched_types: &mut HashMap<String, u16>, when: &Condition) {
    for condition in when.history_conditions() {
        for event_type in condition.event_types {
            let next = watched_types.len() as u16;
            watched_types.entry(event_type.clone()).or_insert(next);
        }
    }
}

/// The capped parts an event rule's points go into: its dimension's (when capped), then
/// its own (`max_points` / `min_points`, keyed by its number).
fn cap_paths(settings: &Settings, index: usize, rule: &Rule) -> CapPaths {
    let Rule::Event(rule) = rule else { return CapPaths::default() };
    let own: Option<(u32, crate::decay::Cap)> = rule.cap.map(|cap| (index as u32, cap));
    let dimension = rule.dimension.as_deref().and_then(|label| settings.caps.of_dimension(label));
    CapPaths {
        engagement: dimension.into_iter().chain(own).collect(),
        dimension: own.into_iter().collect(),
    }
}
