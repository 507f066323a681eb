//! Why a contact's score is what it is: one contribution per rule that holds or counted,
//! and together they add up to the score.

use std::cmp::Ordering;

use crate::caps::DIMENSION_KEYS;
use crate::engine::{CompiledProfile, ContactScore};
use crate::rule::Rule;
use crate::value::Micros;

/// One rule's part in a contact's score at an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub rule_name: String,
    /// `fit`, `event` (`capped` when its own cap binds), `cap` (what a dimension's cap or
    /// `max_engagement` takes away), `disqualifier` or `adjustment` (a manual one: its
    /// reason is the rule name).
    pub kind: &'static str,
    pub dimension: Option<String>,
    /// How many events an event rule counted; `None` for the other kinds.
    pub events: Option<u64>,
    /// The rule's points at the instant: a fit rule's points, an event rule's decayed
    /// worth; `None` for a disqualifier, which holds the contact back without points.
    pub points: Option<f64>,
}

/// The contributions behind `result` (computed with [`EventSummary::explaining`](crate::engine::EventSummary::explaining)) at
/// `at`: the fit rules that hold, the event rules that counted events (capped by their
/// own limit, kind `capped`, when it binds), what each binding dimension cap and
/// `max_engagement` take away (kind `cap`), the manual adjustments that count, the
/// disqualifiers that hold. Their points add up to `result.score_at(at)`. Ordered by
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
            // A rule over its own cap shows its capped worth, as kind `capped`.
            let uncapped = worth.points.value_at(at);
            let points = rule.cap.map_or(uncapped, |cap| cap.clamp(uncapped));
            found.push(Contribution {
                rule_name: name.clone(),
                kind: if points != uncapped { "capped" } else { "event" },
                dimension: rule.dimension.clone(),
                events: Some(worth.events),
                points: Some(points),
            });
        }
    }
    found.extend(cap_rows(profile, result, at));
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

/// What the dimensions' caps and `max_engagement` take away at `at`, one row of kind
/// `cap` each that binds (its points negative when it cuts points), so that the rows
/// still add up to the score.
fn cap_rows(profile: &CompiledProfile, result: &ContactScore, at: Micros) -> Vec<Contribution> {
    let caps = &profile.settings.caps;
    let mut rows = Vec::new();
    for part in &result.engagement.parts {
        let Some(n) = part.key.checked_sub(DIMENSION_KEYS) else { continue };
        let Some((label, cap)) = caps.dimensions.get(n as usize) else { continue };
        let cut = part.sum.cut_at(at);
        if cut != 0.0 {
            rows.push(Contribution {
                rule_name: format!("dimension_caps: {label} at most {cap}"),
                kind: "cap",
                dimension: Some(label.clone()),
                events: None,
                points: Some(cut),
            });
        }
    }
    let cut = result.engagement.cut_at(at);
    if let (Some(max), true) = (caps.max_engagement, cut != 0.0) {
        rows.push(Contribution {
            rule_name: format!("max_engagement: at most {max}"),
            kind: "cap",
            dimension: None,
            events: None,
            points: Some(cut),
        });
    }
    rows
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
