//! Tests of explaining a score: the contributions add up to the score whatever the
//! rules (limits, windows, future events, dimensions, disqualifiers), and explaining
//! changes nothing in the result.

use serde_json::{json, Value as Json};

use crate::decay::HalfLife;
use crate::engine::{
    score_contact, score_into, Adjustment, CompiledProfile, ContactScore, Event, EventSummary,
};
use crate::explain::{contributions, Contribution};
use crate::json_facts::JsonFacts;
use crate::value::{parse_timestamp, Micros};

const DAY: Micros = 86_400_000_000;

fn at(text: &str) -> Micros {
    parse_timestamp(text).unwrap()
}

fn profile() -> CompiledProfile {
    let rules: Vec<(String, Json)> = [
        ("Buyer", json!({"kind": "fit", "when": {"field": "role", "op": "eq", "value": "buyer"}, "points": 2})),
        ("US", json!({"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 1})),
        ("Pricing", json!({"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"}, "points": 3, "dimension": "intent"})),
        ("Any page", json!({"kind": "event", "event": "page_view", "points": 1, "half_life": "7 days"})),
        ("Demo", json!({"kind": "event", "event": "demo", "points": 20, "count": "once"})),
        ("Projects", json!({"kind": "event", "event": ["project", "demo"], "points": 5, "count": {"max": 2}, "half_life": null})),
        ("Recent visit", json!({"kind": "event", "event": "visit", "points": 2, "within": "14 days", "half_life": null})),
        ("Cancelled", json!({"kind": "event", "event": "cancel", "points": -10, "half_life": "2 days"})),
        ("Students", json!({"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}})),
    ]
    .into_iter()
    .map(|(n, r)| (n.to_owned(), r))
    .collect();
    CompiledProfile::compile(&json!({"half_life": "30 days"}), &rules).unwrap()
}

fn events() -> Vec<Json> {
    let mut events = vec![
        json!({"event_type": "page_view", "at": "2024-05-01", "props": {"url": "/pricing"}}),
        json!({"event_type": "page_view", "at": "2024-05-20", "props": {"url": "/docs"}}),
        json!({"event_type": "demo", "at": "2024-05-10"}),
        json!({"event_type": "demo", "at": "2024-05-03"}),
        json!({"event_type": "project", "at": "2024-05-02"}),
        json!({"event_type": "project", "at": "2024-05-04"}),
        json!({"event_type": "visit", "at": "2024-05-25"}),
        json!({"event_type": "visit", "at": "2024-04-01"}),
        json!({"event_type": "cancel", "at": "2024-05-30"}),
        json!({"event_type": "demo", "at": "2024-07-01"}),
        json!({"event_type": "webinar", "at": "2024-05-15"}),
    ];
    events.push(json!({"event_type": "page_view", "at": "2024-05-31", "props": "not an object"}));
    events
}

fn scored(contact: &Json, events: &[Json], now: Micros, explaining: bool) -> ContactScore {
    scored_adjusted(contact, events, &[], now, explaining)
}

/// Manual adjustments: +5 forever, -8 halving weekly, +2.5 halving daily (latest).
fn adjustments() -> Vec<Adjustment<'static>> {
    let week = HalfLife::from_seconds(7.0 * 86_400.0).ok();
    let day = HalfLife::from_seconds(86_400.0).ok();
    vec![
        Adjustment {
            id: 1,
            points: 5.0,
            at: at("2024-05-12"),
            half_life: None,
            reason: "met at fair",
        },
        Adjustment {
            id: 3,
            points: 2.5,
            at: at("2024-06-20"),
            half_life: day,
            reason: "called back",
        },
        Adjustment {
            id: 2,
            points: -8.0,
            at: at("2024-05-20"),
            half_life: week,
            reason: "bounced",
        },
    ]
}

fn scored_adjusted(
    contact: &Json,
    events: &[Json],
    adjustments: &[Adjustment<'_>],
    now: Micros,
    explaining: bool,
) -> ContactScore {
    let mut summary = if explaining { EventSummary::explaining() } else { EventSummary::default() };
    for adjustment in adjustments {
        summary.adjust(adjustment, now);
    }
    let facts: Vec<JsonFacts> = events.iter().map(|e| JsonFacts { record: e, now }).collect();
    let events = events.iter().zip(&facts).map(|(e, facts)| Event {
        event_type: e.get("event_type").and_then(Json::as_str),
        at: e.get("at").and_then(Json::as_str).and_then(parse_timestamp),
        facts,
    });
    let contact = JsonFacts { record: contact, now };
    if adjustments.is_empty() && !explaining {
        return score_contact(&profile(), &contact, events, now);
    }
    score_into(summary, &profile(), &contact, events, now)
}

fn total(found: &[Contribution]) -> f64 {
    found.iter().filter_map(|c| c.points).sum()
}

#[test]
fn contributions_add_up_to_the_score_at_every_instant() {
    let contact = json!({"role": "buyer", "country": "US"});
    let mut events = events();
    for now in
        [at("2024-05-01"), at("2024-05-15"), at("2024-06-01"), at("2024-07-02"), at("2025-01-01")]
    {
        // In any order of events.
        for _ in 0..3 {
            let result = scored(&contact, &events, now, true);
            for when in [now, now + DAY, now + 90 * DAY] {
                let found = contributions(&profile(), &result, when);
                let (sum, score) = (total(&found), result.score_at(when));
                assert!(
                    (sum - score).abs() <= 1e-9 * score.abs().max(1.0),
                    "{sum} vs {score} at {when}"
                );
            }
            events.rotate_left(5);
        }
    }
}

#[test]
fn explaining_changes_nothing_in_the_result() {
    let contact = json!({"role": "buyer", "country": "DE"});
    for now in [at("2024-05-05"), at("2024-06-01")] {
        let mut explained = scored(&contact, &events(), now, true);
        assert!(!explained.by_rule.is_empty());
        explained.by_rule.clear();
        assert_eq!(explained, scored(&contact, &events(), now, false));
    }
}

#[test]
fn each_rule_says_what_it_counted() {
    let contact = json!({"role": "student", "country": "US"});
    let now = at("2024-06-01");
    let found = contributions(&profile(), &scored(&contact, &events(), now, true), now);
    let row = |name: &str| found.iter().find(|c| c.rule_name == name).cloned();
    // Fit rules that hold, with their points; the one that does not hold is absent.
    assert_eq!(row("US").map(|c| (c.kind, c.events, c.points)), Some(("fit", None, Some(1.0))));
    assert_eq!(row("Buyer"), None);
    // The demo counts once (the earliest); projects take the first two of projects and demos.
    assert_eq!(row("Demo").and_then(|c| c.events), Some(1));
    assert_eq!(row("Projects").map(|c| (c.events, c.points)), Some((Some(2), Some(10.0))));
    // Only the visit inside the window counts; the future demo counts nowhere.
    assert_eq!(row("Recent visit").map(|c| (c.events, c.points)), Some((Some(1), Some(2.0))));
    // The pricing page, in its dimension; the malformed properties match no condition.
    let pricing = row("Pricing").unwrap();
    assert_eq!((pricing.dimension.as_deref(), pricing.events), (Some("intent"), Some(1)));
    assert_eq!(row("Any page").and_then(|c| c.events), Some(3));
    // The disqualifier that holds, without points, last.
    let last = found.last().unwrap();
    assert_eq!(
        (last.rule_name.as_str(), last.kind, last.points),
        ("Students", "disqualifier", None)
    );
    // Largest absolute contribution first.
    let weights: Vec<f64> = found.iter().filter_map(|c| c.points.map(f64::abs)).collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]), "{weights:?}");
}

#[test]
fn adjustments_add_up_with_the_rules_and_count_from_their_own_time() {
    let contact = json!({"role": "buyer", "country": "US"});
    for now in
        [at("2024-05-01"), at("2024-05-15"), at("2024-06-01"), at("2024-06-21"), at("2025-01-01")]
    {
        let result = scored_adjusted(&contact, &events(), &adjustments(), now, true);
        let counted: Vec<&str> = result.adjustments.iter().map(|a| a.reason.as_str()).collect();
        let expected: Vec<&str> =
            adjustments().iter().filter(|a| a.at <= now).map(|a| a.reason).collect();
        assert_eq!(counted, expected, "at {now}");
        for when in [now, now + DAY, now + 90 * DAY] {
            let found = contributions(&profile(), &result, when);
            let (sum, score) = (total(&found), result.score_at(when));
            assert!((sum - score).abs() <= 1e-9 * score.abs().max(1.0), "{sum} vs {score}");
            // Each adjustment is one row of its own kind, worth its decayed points.
            let rows = found.iter().filter(|c| c.kind == "adjustment").count();
            assert_eq!(rows, expected.len());
        }
        // Without adjustments, the score is lower by exactly what they are worth.
        let plain = scored(&contact, &events(), now, false);
        let worth: f64 = result.adjustments.iter().map(|a| a.points.value_at(now)).sum();
        assert!((result.score_at(now) - plain.score_at(now) - worth).abs() < 1e-9);
    }
}

#[test]
fn an_adjustment_after_now_is_due_and_the_latest_one_is_named() {
    let contact = json!({"role": "buyer", "country": "US"});
    let now = at("2024-06-01");
    let result = scored_adjusted(&contact, &events(), &adjustments(), now, false);
    // Then the recent visit of May 25th leaves its 14-day window first, one
    // microsecond after its edge.
    assert_eq!(result.next_due, Some(at("2024-06-08") + 1));
    assert_eq!(result.latest_adjustment.as_deref(), Some("bounced"));
    // Once that window is past, the adjustment of June 20th, not yet happened, is the
    // next change: it comes due at its own instant exactly; without it, the demo of
    // July 1st would be.
    let now = at("2024-06-10");
    let result = scored_adjusted(&contact, &events(), &adjustments(), now, false);
    assert_eq!(result.next_due, Some(at("2024-06-20")));
    assert_eq!(scored(&contact, &events(), now, false).next_due, Some(at("2024-07-01")));
    let later = scored_adjusted(&contact, &events(), &adjustments(), at("2024-07-01"), false);
    assert_eq!(later.latest_adjustment.as_deref(), Some("called back"));
    // Not explaining keeps no per-adjustment parts, and changes nothing else.
    assert!(later.adjustments.is_empty());
    let mut explained =
        scored_adjusted(&contact, &events(), &adjustments(), at("2024-07-01"), true);
    explained.by_rule.clear();
    explained.adjustments.clear();
    assert_eq!(explained, later);
}

#[test]
fn adjustments_merge_in_any_order() {
    let now = at("2024-07-01");
    let mut one = EventSummary::default();
    let mut other = EventSummary::default();
    let all = adjustments();
    one.adjust(&all[2], now);
    other.adjust(&all[0], now);
    other.adjust(&all[1], now);
    let mut whole = EventSummary::default();
    for adjustment in &all {
        whole.adjust(adjustment, now);
    }
    one.merge(other);
    let contact = json!({});
    let facts = JsonFacts { record: &contact, now };
    let (merged, whole) =
        (one.finish(&profile(), &facts, now), whole.finish(&profile(), &facts, now));
    assert!((merged.score_at(now) - whole.score_at(now)).abs() < 1e-12);
    assert_eq!(merged.latest_adjustment, whole.latest_adjustment);
}

#[test]
fn a_profile_with_grades_explains_the_grade_and_priority_last() {
    let rules: Vec<(String, Json)> = vec![
        (
            "US".into(),
            json!({"kind": "fit", "when": {"field": "country", "op": "eq", "value": "US"}, "points": 10}),
        ),
        ("Demo".into(), json!({"kind": "event", "event": "demo", "points": 20, "half_life": null})),
    ];
    let settings = json!({"grades": {"A": 10, "B": 0}, "engagement_bands": [20]});
    let graded = CompiledProfile::compile(&settings, &rules).unwrap();
    let now = at("2024-06-01");
    let demo = [json!({"event_type": "demo", "at": "2024-05-01"})];
    let rows = |profile: &CompiledProfile, contact: Json, events: &[Json]| {
        let found = contributions(profile, &scored_with(profile, &contact, events, now), now);
        found.iter().map(|c| (c.kind, c.rule_name.clone(), c.points)).collect::<Vec<_>>()
    };
    assert_eq!(
        rows(&graded, json!({"country": "US"}), &demo),
        vec![
            ("event", "Demo".to_owned(), Some(20.0)),
            ("fit", "US".to_owned(), Some(10.0)),
            ("grade", "A".to_owned(), None),
            ("priority", "A1".to_owned(), None),
        ]
    );
    assert_eq!(
        rows(&graded, json!({"country": "DE"}), &[]),
        vec![("grade", "B".to_owned(), None), ("priority", "B2".to_owned(), None)]
    );
    // Below every grade: no grade, no priority. Without bands: a grade, no priority.
    let strict =
        CompiledProfile::compile(&json!({"grades": {"A": 10}, "engagement_bands": [5]}), &rules)
            .unwrap();
    assert_eq!(
        rows(&strict, json!({"country": "DE"}), &demo),
        vec![("event", "Demo".to_owned(), Some(20.0))]
    );
    let no_bands = CompiledProfile::compile(&json!({"grades": {"A": 10}}), &rules).unwrap();
    assert_eq!(
        rows(&no_bands, json!({"country": "US"}), &[]),
        vec![("fit", "US".to_owned(), Some(10.0)), ("grade", "A".to_owned(), None)]
    );
}

fn scored_with(
    profile: &CompiledProfile,
    contact: &Json,
    events: &[Json],
    now: Micros,
) -> ContactScore {
    let facts: Vec<JsonFacts> = events.iter().map(|e| JsonFacts { record: e, now }).collect();
    let events = events.iter().zip(&facts).map(|(e, facts)| Event {
        event_type: e.get("event_type").and_then(Json::as_str),
        at: e.get("at").and_then(Json::as_str).and_then(parse_timestamp),
        facts,
    });
    score_into(
        EventSummary::explaining(),
        profile,
        &JsonFacts { record: contact, now },
        events,
        now,
    )
}
