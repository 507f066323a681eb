//! What a contact could do next: the event rules that would add the most points if it
//! did them now, and the thresholds that would take it over.

use crate::engine::{CompiledProfile, LimitState};
use crate::qualification::tags_reached;
use crate::rule::{CountLimit, Rule};

/// One event rule a contact could act on now.
#[derive(Clone, Debug, PartialEq)]
pub struct NextAction {
    pub rule_name: String,
    /// The event types the rule counts, as the rule lists them.
    pub event: String,
    /// What one such event now would add.
    pub points: f64,
    /// The tags it would give (ascending by threshold), if any.
    pub crosses: Option<String>,
}

/// The `n` positive event rules worth most to a contact whose score is `score`, holding
/// `tags`, and whose `count`-limited rules selected `limits`. A rule that has counted as
/// many events as its limit allows is not offered; a rule with a condition is offered
/// with its points (the event would have to meet it). A disqualified contact gets no
/// tag from any of them. By points, then rule name.
pub fn next_actions(
    profile: &CompiledProfile,
    score: f64,
    tags: &[String],
    disqualified: bool,
    limits: &[LimitState],
    n: usize,
) -> Vec<NextAction> {
    let mut found: Vec<NextAction> = profile
        .rules
        .iter()
        .enumerate()
        .filter_map(|(index, (name, rule))| {
            let Rule::Event(rule) = rule else { return None };
            if rule.points <= 0.0 {
                return None;
            }
            if let CountLimit::AtMost(limit) = rule.count {
                let counted = limits.iter().find(|l| l.rule == index).map_or(0, |l| l.counted);
                if counted >= limit {
                    return None;
                }
            }
            let after = score + rule.points;
            let crossed: Vec<(&str, f64)> = if disqualified {
                Vec::new()
            } else {
                let mut crossed: Vec<(&str, f64)> =
                    tags_reached(&profile.settings, tags, after).collect();
                crossed.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
                crossed
            };
            let crosses = (!crossed.is_empty())
                .then(|| crossed.iter().map(|(tag, _)| *tag).collect::<Vec<_>>().join(", "));
            Some(NextAction {
                rule_name: name.clone(),
                event: rule.event_types.join(", "),
                points: rule.points,
                crosses,
            })
        })
        .collect();
    found.sort_by(|a, b| b.points.total_cmp(&a.points).then_with(|| a.rule_name.cmp(&b.rule_name)));
    found.truncate(n);
    found
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value as Json};

    use super::*;

    fn profile() -> CompiledProfile {
        let rules: Vec<(String, Json)> = [
            ("Demo", json!({"kind": "event", "event": "demo", "points": 20, "count": "once"})),
            ("Trial", json!({"kind": "event", "event": ["trial", "signup"], "points": 15})),
            ("Pricing", json!({"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "eq", "value": "/pricing"}, "points": 3})),
            ("Webinar", json!({"kind": "event", "event": "webinar", "points": 3})),
            ("Projects", json!({"kind": "event", "event": "project", "points": 5, "count": {"max": 2}})),
            ("Cancelled", json!({"kind": "event", "event": "cancel", "points": -10})),
            ("US", json!({"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1})),
        ]
        .into_iter()
        .map(|(n, r)| (n.to_owned(), r))
        .collect();
        let settings = json!({"pql_threshold": 40, "thresholds": {"MQL": 25, "Hot": 38}});
        CompiledProfile::compile(&settings, &rules).unwrap()
    }

    fn names(found: &[NextAction]) -> Vec<(&str, f64, Option<&str>)> {
        found.iter().map(|a| (a.rule_name.as_str(), a.points, a.crosses.as_deref())).collect()
    }

    #[test]
    fn the_rules_worth_most_first_with_what_they_would_cross() {
        let found = next_actions(&profile(), 22.0, &[], false, &[], 4);
        assert_eq!(
            names(&found),
            [
                ("Demo", 20.0, Some("MQL, Hot, PQL")),
                ("Trial", 15.0, Some("MQL")),
                ("Projects", 5.0, Some("MQL")),
                ("Pricing", 3.0, Some("MQL")),
            ]
        );
        assert_eq!(found[1].event, "trial, signup");
    }

    #[test]
    fn used_up_limits_held_tags_and_disqualification() {
        let profile = profile();
        let demo = profile.rules.iter().position(|(n, _)| n == "Demo").unwrap();
        let projects = profile.rules.iter().position(|(n, _)| n == "Projects").unwrap();
        let limits = [
            LimitState { rule: demo, counted: 1, latest: 0 },
            LimitState { rule: projects, counted: 1, latest: 0 },
        ];
        let held = ["MQL".to_owned()];
        let found = next_actions(&profile, 30.0, &held, false, &limits, 10);
        // The demo is used up; one more project still counts; ties by name; no negative rule.
        assert_eq!(
            names(&found),
            [
                ("Trial", 15.0, Some("Hot, PQL")),
                ("Projects", 5.0, None),
                ("Pricing", 3.0, None),
                ("Webinar", 3.0, None),
            ]
        );
        let found = next_actions(&profile, 30.0, &held, true, &limits, 1);
        assert_eq!(names(&found), [("Trial", 15.0, None)]);
        assert!(next_actions(&profile, 30.0, &held, false, &limits, 0).is_empty());
    }
}
