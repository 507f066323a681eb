//! Why a contact's score is what it is: one contribution per rule that holds or counted,
//! and together they add up to the score.

use std::cmp::Ordering;

use crate::engine::{CompiledProfile, ContactScore};
use crate::rule::Rule;
use crate::value::Micros;

/// One rule's part in a contact's score at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub rule_name: String,
    /// `fit`, `event`, `disqualifier` or `adjustment` (a manual one: its reason is the
    /// rule name).
    pub kind: &'static str,
    pub dimension: Option<String>,
    /// How many events an event rule counted; `None` for the other kinds.
    pub events: Option<u64>,
    /// The rule's points at the instant: a fit rule's points, an event rule's decayed
    /// worth; `None` for a disqualifier, which holds the contact back without points.
    pub points: Option<f64>,
}

/// The contributions behind `result` (computed with [`EventSummary::explaining`](crate::engine::EventSummary::explaining)) at
/// `at`: the fit rules that hold, the event rules that counted events, the manual
/// adjustments that count, the disqualifiers that hold. Their points add up to `result.score_at(at)`. Ordered by
/// absolute points (largest first, disqualifiers last), then by rule name; then the
/// contact's grade and priority when the profile has grades.
pub fn contributions(
    profile: &CompiledProfile,
    result: &ContactScore,
    at: Micros,
) -> Vec<Contribution> {
    let mut found = Vec::new();
    for &index in &result.fit_rules {
        if let Some((name, Rule::Fit { points, .. })) = profile.rules.get(index) {
            found.push(Contribution {
                rule_name: name.clone(),
                kind: "fit",
                dimension: None,
                events: None,
                points: Some(*points),
            });
        }
    }
    for (&index, worth) in &result.by_rule {
        if let Some((name, Rule::Event(rule))) = profile.rules.get(index) {
            found.push(Contribution {
                rule_name: name.clone(),
                kind: "event",
                dimension: rule.dimension.clone(),
                events: Some(worth.events),
                points: Some(worth.points.value_at(at)),
            });
        }
    }
    for adjustment in &result.adjustments {
        found.push(Contribution {
            rule_name: adjustment.reason.clone(),
            kind: "adjustment",
            dimension: None,
            events: None,
            points: Some(adjustment.points.value_at(at)),
        });
    }
    for name in &result.disqualified_by {
        found.push(Contribution {
            rule_name: name.clone(),
            kind: "disqualifier",
            dimension: None,
            events: None,
            points: None,
        });
    }
    found.sort_by(|a, b| by_weight(a.points, b.points).then_with(|| a.rule_name.cmp(&b.rule_name)));
    found.extend(grading_rows(profile, result, at));
    found
}

/// For a profile with grades, the contact's grade and priority at `at`, as rows of
/// kind `grade` and `priority` (the grade or priority as `rule_name`, no points, so the
/// points still add up to the score): none below every grade, and no priority row
/// without engagement bands.
fn grading_rows(profile: &CompiledProfile, result: &ContactScore, at: Micros) -> Vec<Contribution> {
    let Some(grading) = &profile.settings.grading else { return Vec::new() };
    let engagement = result.engagement.value_at(at);
    let row = |kind: &'static str, name: String| Contribution {
        rule_name: name,
        kind,
        dimension: None,
        events: None,
        points: None,
    };
    let grade = grading.grade_of(result.fit).map(|grade| row("grade", grade.to_owned()));
    let priority =
        grading.priority(result.fit, engagement).map(|priority| row("priority", priority));
    grade.into_iter().chain(priority).collect()
}

/// Larger absolute points first; no points last.
fn by_weight(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.abs().total_cmp(&a.abs()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
