//! Point caps: a rule's `max_points` / `min_points`, `dimension_caps` and
//! `max_engagement`, exact at every instant, through summaries merged in any split,
//! and explained row by row.

use serde_json::json;

use super::{at, close, event, profile, score, summarise, DAY};
use crate::engine::CompiledProfile;
use crate::explain::contributions;
use crate::json_facts::JsonFacts;

fn capped_profile() -> CompiledProfile {
    profile(
        json!({"half_life": "10 days", "dimension_caps": {"email": 15}, "max_engagement": 40}),
        &[
            ("Visit", json!({"kind": "event", "event": "visit", "points": 10, "max_points": 25})),
            ("Open", json!({"kind": "event", "event": "open", "points": 4, "dimension": "email"})),
            (
                "Click",
                json!({"kind": "event", "event": "click", "points": 6, "dimension": "email",
                             "max_points": 8, "half_life": null}),
            ),
            (
                "Bounce",
                json!({"kind": "event", "event": "bounce", "points": -12, "min_points": -5,
                              "half_life": null}),
            ),
            (
                "Webinar",
                json!({"kind": "event", "event": "webinar", "points": 30, "half_life": null}),
            ),
        ],
    )
}

/// The capped engagement by hand, `days` after every event (all on day 0).
fn by_hand(visits: f64, opens: f64, clicks: f64, bounces: f64, webinars: f64, days: f64) -> f64 {
    let decay = (-days / 10.0).exp2();
    let visit = (10.0 * visits * decay).min(25.0);
    let email = ((4.0 * opens * decay) + (6.0 * clicks).min(8.0)).min(15.0);
    let bounce = (-12.0 * bounces).max(-5.0);
    (visit + email + bounce + 30.0 * webinars).min(40.0)
}

#[test]
fn caps_hold_at_every_instant_and_release_as_points_fade() {
    let p = capped_profile();
    let day0 = at("2024-06-01");
    let mut events = Vec::new();
    events.extend((0..4).map(|_| event("visit", "2024-06-01")));
    events.extend((0..5).map(|_| event("open", "2024-06-01")));
    events.extend((0..3).map(|_| event("click", "2024-06-01")));
    events.push(event("bounce", "2024-06-01"));
    for days in [0.0, 5.0, 10.0, 20.0, 35.0, 80.0] {
        let now = day0 + (days * DAY as f64) as i64;
        let result = score(&p, &json!({}), &events, now);
        let expected = by_hand(4.0, 5.0, 3.0, 1.0, 0.0, days);
        assert!(
            close(result.score_at(now), expected),
            "day {days}: {} vs {expected}",
            result.score_at(now)
        );
        // Read later from the stored sum, as the scores view does.
        let later = now + 7 * DAY;
        let stored = crate::decay::DecayedSum::from_bytes(&result.engagement.to_bytes()).unwrap();
        assert!(close(stored.value_at(later), by_hand(4.0, 5.0, 3.0, 1.0, 0.0, days + 7.0)));
        // The email dimension shows its capped points.
        let email = result.dimensions["email"].value_at(now);
        let decay = (-days / 10.0f64).exp2();
        assert!(close(email, (20.0 * decay + 8.0).min(15.0)), "day {days}: email {email}");
    }
    // max_engagement: a webinar (30, never fading) pushes the total over 40.
    events.push(event("webinar", "2024-06-01"));
    let result = score(&p, &json!({}), &events, day0);
    assert_eq!(result.score_at(day0), 40.0);
    assert!(close(result.score_at(day0 + 30 * DAY), by_hand(4.0, 5.0, 3.0, 1.0, 1.0, 30.0)));
}

#[test]
fn capped_summaries_merge_in_any_split() {
    let p = capped_profile();
    let now = at("2024-06-10");
    let events: Vec<_> =
        ["visit", "open", "click", "visit", "click", "bounce", "open", "visit", "webinar"]
            .iter()
            .enumerate()
            .map(|(i, t)| event(t, &format!("2024-06-0{}", 1 + i % 9)))
            .collect();
    let whole = score(&p, &json!({}), &events, now);
    for split in 0..=events.len() {
        let mut first = summarise(&p, &events[..split], now);
        first.merge(summarise(&p, &events[split..], now));
        let merged = first.finish(&p, &JsonFacts { record: &json!({}), now }, now);
        for later in [0, 3 * DAY, 40 * DAY] {
            assert!(
                close(merged.score_at(now + later), whole.score_at(now + later)),
                "split {split}"
            );
        }
    }
}

#[test]
fn explain_shows_capped_rules_and_what_each_cap_takes_and_still_adds_up() {
    let p = capped_profile();
    let day0 = at("2024-06-01");
    let mut events = Vec::new();
    events.extend((0..4).map(|_| event("visit", "2024-06-01")));
    events.extend((0..5).map(|_| event("open", "2024-06-01")));
    events.extend((0..3).map(|_| event("click", "2024-06-01")));
    events.push(event("bounce", "2024-06-01"));
    events.push(event("webinar", "2024-06-01"));
    for days in [0, 10, 40] {
        let now = day0 + days * DAY;
        let facts: Vec<JsonFacts> = events.iter().map(|e| JsonFacts { record: e, now }).collect();
        let evs = events.iter().zip(&facts).map(|(e, f)| super::as_event(e, f));
        let mut summary = crate::engine::EventSummary::explaining();
        for e in evs {
            summary.add(&p, &e, now);
        }
        let result = summary.finish(&p, &JsonFacts { record: &json!({}), now }, now);
        let rows = contributions(&p, &result, now);
        let total: f64 = rows.iter().filter_map(|r| r.points).sum();
        assert!(
            close(total, result.score_at(now)),
            "day {days}: {total} vs {}",
            result.score_at(now)
        );
        let kind = |name: &str| rows.iter().find(|r| r.rule_name.starts_with(name)).map(|r| r.kind);
        if days == 0 {
            // Visits 40 > 25, clicks 18 > 8, bounce -12 < -5: capped; the email
            // dimension (20 + 8 > 15) and the total (over 40) cut.
            assert_eq!(kind("Visit"), Some("capped"));
            assert_eq!(kind("Click"), Some("capped"));
            assert_eq!(kind("Bounce"), Some("capped"));
            assert_eq!(kind("Open"), Some("event"));
            assert_eq!(kind("dimension_caps: email"), Some("cap"));
            assert_eq!(kind("max_engagement"), Some("cap"));
        }
        if days == 40 {
            // Visits have faded to 2.5: counted in full again.
            assert_eq!(kind("Visit"), Some("event"));
        }
    }
}

#[test]
fn a_rule_cap_must_suit_its_points() {
    let cases = [
        (json!({"kind": "event", "event": "x", "points": 5, "max_points": 0}), "$.max_points: must be positive, got 0"),
        (json!({"kind": "event", "event": "x", "points": -5, "max_points": 10}), "$.max_points: caps a rule of positive points; a rule of negative points takes \"min_points\""),
        (json!({"kind": "event", "event": "x", "points": -5, "min_points": 3}), "$.min_points: must be negative, got 3"),
        (json!({"kind": "event", "event": "x", "points": 5, "min_points": -3}), "$.min_points: limits a rule of negative points; a rule of positive points takes \"max_points\""),
        (json!({"kind": "event", "event": "x", "points": 5, "max_points": 3, "min_points": -3}), "$: a rule has \"max_points\" (positive points) or \"min_points\" (negative points), not both"),
        (json!({"kind": "event", "event": "x", "points": 5, "max_points": "3"}), "$.max_points: expected a number, got \"3\""),
        (json!({"kind": "fit", "when": {"field": "x", "op": "eq", "value": 1}, "points": 5, "max_points": 3}), "$: unknown key \"max_points\" in a fit rule; expected \"kind\", \"when\", \"points\", \"description\""),
    ];
    for (rule, message) in cases {
        assert_eq!(crate::rule::Rule::compile(&rule).unwrap_err().to_string(), message, "{rule}");
    }
}
