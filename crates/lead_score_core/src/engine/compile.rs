//! Compiling a published version's settings and rules into a [`CompiledProfile`],
//! with the lookups the engine makes per event.

use rustc_hash::FxHashMap as HashMap;
use serde_json::Value as Json;

use super::{CompiledProfile, ProfileError};
use crate::condition::Condition;
use crate::decay::HalfLife;
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
        Ok(CompiledProfile { settings, rules, rules_by_type, watched_types, stage_conditions })
    }

    /// Every condition the contact's facts are tested with, beside the rules': the
    /// stages', each with its stage's name (for checking the fields they read).
    pub fn stage_conditions(&self) -> impl Iterator<Item = (&str, &Condition)> {
        let names = self.settings.stages.iter().map(|s| s.name.as_str());
        names.zip(&self.stage_conditions).filter_map(|(name, when)| Some((name, when.as_ref()?)))
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
