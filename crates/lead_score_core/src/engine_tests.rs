//! Tests of scoring one contact: decay, count limits, windows, future events, due
//! times, dimensions, disqualifiers and the tally of events that did not count.

use serde_json::{json, Value as Json};

use crate::engine::{
    score_contact, score_contact_between, CompiledProfile, ContactScore, Event, EventSummary,
    EventTally, LimitState,
};
use crate::json_facts::JsonFacts;
use crate::value::{parse_timestamp, Micros};

const DAY: Micros = 86_400_000_000;

fn at(text: &str) -> Micros {
    parse_timestamp(text).unwrap()
}

fn profile(settings: Json, rules: &[(&str, Json)]) -> CompiledProfile {
    let rules: Vec<(String, Json)> =
        rules.iter().map(|(n, r)| (n.to_string(), r.clone())).collect();
    CompiledProfile::compile(&settings, &rules).unwrap()
}

/// An event as JSON, `{"event_type": ..., "at": ..., "props": {...}}`, with its facts.
fn as_event<'a>(json: &'a Json, facts: &'a JsonFacts<'a>) -> Event<'a> {
    Event {
        event_type: json.get("event_type").and_then(Json::as_str),
        at: json.get("at").and_then(Json::as_str).and_then(parse_timestamp),
        facts,
    }
}

fn score(profile: &CompiledProfile, contact: &Json, events: &[Json], now: Micros) -> ContactScore {
    let facts: Vec<JsonFacts> = events.iter().map(|e| JsonFacts { record: e, now }).collect();
    let events = events.iter().zip(&facts).map(|(e, f)| as_event(e, f));
    score_contact(profile, &JsonFacts { record: contact, now }, events, now)
}

/// The summary of some events (as JSON), as of `now`.
fn summarise(profile: &CompiledProfile, events: &[Json], now: Micros) -> EventSummary {
    let mut summary = EventSummary::default();
    for e in events {
        let facts = JsonFacts { record: e, now };
        summary.add(profile, &as_event(e, &facts), now);
    }
    summary
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn event(event_type: &str, when: &str) -> Json {
    json!({"event_type": event_type, "at": when})
}

#[test]
fn fit_points_from_contact_and_account() {
    let p = profile(
        json!({}),
        &[
            (
                "Country",
                json!({"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}),
            ),
            (
                "Big",
                json!({"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}),
            ),
            (
                "Student",
                json!({"kind": "fit", "when": {"field": "role", "op": "eq", "value": "student"}, "points": -10}),
            ),
        ],
    );
    let now = at("2024-06-01");
    let cases = [
        (json!({"country": "us", "account": {"employees": 30}}), 11.0),
        (json!({"country": "DE", "account": {"employees": 30}}), 10.0),
        (json!({"country": "UK", "role": "student"}), -9.0),
        (json!({}), 0.0),
    ];
    for (contact, fit) in cases {
        let s = score(&p, &contact, &[], now);
        assert_eq!(s.fit, fit, "{contact}");
        assert_eq!(s.score_at(now), fit);
        assert_eq!(s.next_due, None);
    }
}

#[test]
fn engagement_decays_from_each_event_time_with_the_right_half_life() {
    let p = profile(
        json!({"half_life": "30 days"}),
        &[
            ("Click", json!({"kind": "event", "event": "email_click", "points": 8})),
            (
                "Pricing",
                json!({"kind": "event", "event": "page_view", "points": 4, "half_life": "14 days",
                           "when": {"field": "props.url", "op": "contains", "value": "/pricing"}}),
            ),
            (
                "Unsub",
                json!({"kind": "event", "event": "unsubscribed", "points": -10, "half_life": null}),
            ),
        ],
    );
    let now = at("2024-06-01");
    let events = [
        event("email_click", "2024-05-02"), // 30 days: 8 -> 4
        event("email_click", "2024-04-02"), // 60 days: 8 -> 2
        json!({"event_type": "page_view", "at": "2024-05-18", "props": {"url": "/pricing"}}), // 14 days: 4 -> 2
        json!({"event_type": "page_view", "at": "2024-05-18", "props": {"url": "/blog"}}), // no match
        event("unsubscribed", "2023-01-01"), // never decays: -10
    ];
    let s = score(&p, &json!({}), &events, now);
    assert!(close(s.score_at(now), 4.0 + 2.0 + 2.0 - 10.0), "{}", s.score_at(now));
    // Half a half-life later in time, every decaying term shrinks by 2^(-15/30) or 2^(-15/14).
    let later = now + 15 * DAY;
    let expected = 6.0 * (-0.5f64).exp2() + 2.0 * (-15.0f64 / 14.0).exp2() - 10.0;
    assert!(close(s.score_at(later), expected));
    assert_eq!(s.engagement.terms.len(), 3, "three half-life classes: 14 days, 30 days, never");
    assert_eq!((s.tally.scored, s.tally.unmatched), (4, 1));
}

#[test]
fn count_limits_keep_the_earliest_events_whatever_the_insertion_order() {
    let p = profile(
        json!({"half_life": "10 days"}),
        &[
            (
                "Trial",
                json!({"kind": "event", "event": "trial_signup", "points": 15, "count": "once"}),
            ),
            (
                "Projects",
                json!({"kind": "event", "event": "project_created", "points": 5, "count": {"max": 2}}),
            ),
        ],
    );
    let now = at("2024-06-01");
    let events = vec![
        event("project_created", "2024-05-30"),
        event("trial_signup", "2024-05-22"),
        event("project_created", "2024-05-11"),
        event("trial_signup", "2024-05-31"),
        event("project_created", "2024-05-21"),
    ];
    // Counted: trial on 05-22 (10 days old), projects on 05-11 and 05-21 (21, 11 days old).
    let expected = 15.0 * 0.5 + 5.0 * (-2.1f64).exp2() + 5.0 * (-1.1f64).exp2();
    let mut orders = vec![events.clone()];
    orders.push(events.iter().rev().cloned().collect());
    orders.push(vec![
        events[2].clone(),
        events[4].clone(),
        events[0].clone(),
        events[3].clone(),
        events[1].clone(),
    ]);
    for order in orders {
        let s = score(&p, &json!({}), &order, now);
        assert!(close(s.score_at(now), expected), "{} != {expected}", s.score_at(now));
        assert_eq!(
            (s.tally.scored, s.tally.not_counted),
            (3, 2),
            "events beyond the limit do not count"
        );
    }
}

#[test]
fn windows_drop_old_events_and_say_when_the_next_one_leaves() {
    let p = profile(
        json!({"half_life": "30 days"}),
        &[(
            "Recent visits",
            json!({"kind": "event", "event": "page_view", "points": 2, "within": "7 days", "half_life": null}),
        )],
    );
    let now = at("2024-06-01");
    let events = [
        event("page_view", "2024-05-20"),
        event("page_view", "2024-05-27"),
        event("page_view", "2024-05-30"),
    ];
    let s = score(&p, &json!({}), &events, now);
    assert_eq!(s.score_at(now), 4.0, "only the two visits of the last 7 days");
    assert_eq!(
        s.next_due,
        Some(at("2024-06-03") + 1),
        "the 05-27 visit leaves the window after 06-03"
    );
    assert_eq!((s.tally.scored, s.tally.not_counted), (2, 1));
    // At that time, recomputing drops it.
    let s = score(&p, &json!({}), &events, at("2024-06-03") + 1);
    assert_eq!(s.score_at(at("2024-06-03") + 1), 2.0);
    assert_eq!(s.next_due, Some(at("2024-06-06") + 1));
}

#[test]
fn limited_rules_inside_a_window_count_the_earliest_events_still_in_it() {
    let p = profile(
        json!({}),
        &[(
            "Demo",
            json!({"kind": "event", "event": "demo", "points": 10, "count": "once", "within": "30 days", "half_life": null}),
        )],
    );
    let events =
        [event("demo", "2024-04-01"), event("demo", "2024-05-15"), event("demo", "2024-05-25")];
    let s = score(&p, &json!({}), &events, at("2024-06-01"));
    assert_eq!(s.score_at(at("2024-06-01")), 10.0, "one demo counts, the earliest in the window");
    assert_eq!(
        s.next_due,
        Some(at("2024-06-14") + 1),
        "when the 05-15 demo leaves, the 05-25 one counts"
    );
}

#[test]
fn future_events_count_from_their_own_time_on() {
    let p = profile(
        json!({"half_life": "30 days"}),
        &[("Webinar", json!({"kind": "event", "event": "webinar", "points": 8}))],
    );
    let events = [event("webinar", "2024-06-10")];
    let before = score(&p, &json!({}), &events, at("2024-06-01"));
    assert_eq!(before.score_at(at("2024-06-01")), 0.0);
    assert_eq!(before.next_due, Some(at("2024-06-10")));
    assert_eq!(before.tally.future, 1);
    let after = score(&p, &json!({}), &events, at("2024-06-10"));
    assert_eq!(after.score_at(at("2024-06-10")), 8.0);
    assert!(close(after.score_at(at("2024-07-10")), 4.0));
    assert_eq!(after.next_due, None);
}

#[test]
fn dimensions_are_summed_apart_as_well() {
    let p = profile(
        json!({"half_life": "30 days"}),
        &[
            (
                "CRM docs",
                json!({"kind": "event", "event": "doc_view", "points": 2, "dimension": "product:crm",
                            "when": {"field": "props.product", "op": "eq", "value": "crm"}}),
            ),
            (
                "Trial",
                json!({"kind": "event", "event": "trial_signup", "points": 15, "dimension": "stage:trial"}),
            ),
            ("Click", json!({"kind": "event", "event": "email_click", "points": 1})),
        ],
    );
    let now = at("2024-06-01");
    let events = [
        json!({"event_type": "doc_view", "at": "2024-06-01", "props": {"product": "crm"}}),
        json!({"event_type": "doc_view", "at": "2024-06-01", "props": {"product": "analytics"}}),
        event("trial_signup", "2024-06-01"),
        event("email_click", "2024-06-01"),
    ];
    let s = score(&p, &json!({}), &events, now);
    assert_eq!(s.score_at(now), 18.0);
    let dims: Vec<(&str, f64)> =
        s.dimensions.iter().map(|(k, v)| (k.as_str(), v.value_at(now))).collect();
    assert_eq!(dims, vec![("product:crm", 2.0), ("stage:trial", 15.0)]);
}

#[test]
fn disqualifiers_hold_on_facts_and_history_and_say_when_to_look_again() {
    let p = profile(
        json!({}),
        &[
            (
                "Students",
                json!({"kind": "disqualifier", "when": {"field": "role", "op": "eq", "value": "student"}}),
            ),
            (
                "Gone quiet",
                json!({"kind": "disqualifier", "when": {"no_event": "email_open", "within": "60 days"}}),
            ),
            ("Open", json!({"kind": "event", "event": "email_open", "points": 1})),
        ],
    );
    let now = at("2024-06-01");
    let quiet = score(&p, &json!({"role": "student"}), &[event("email_open", "2024-01-01")], now);
    assert_eq!(quiet.disqualified_by, vec!["Students".to_owned(), "Gone quiet".to_owned()]);
    let active = score(&p, &json!({"role": "buyer"}), &[event("email_open", "2024-05-20")], now);
    assert!(active.disqualified_by.is_empty());
    assert_eq!(
        active.next_due,
        Some(at("2024-07-19") + 1),
        "goes quiet when the open leaves the 60-day window"
    );
}

#[test]
fn events_without_a_time_or_type_are_tallied_not_scored() {
    let p = profile(
        json!({}),
        &[("Click", json!({"kind": "event", "event": "email_click", "points": 1}))],
    );
    let events = [
        json!({"event_type": "email_click"}),
        json!({"at": "2024-05-01"}),
        json!({"event_type": "email_click", "at": "not a time"}),
        event("unknown_type", "2024-05-01"),
        event("email_click", "2024-05-01"),
    ];
    let s = score(&p, &json!({}), &events, at("2024-06-01"));
    assert_eq!(
        (s.tally.null_time, s.tally.null_type, s.tally.unmatched, s.tally.scored),
        (2, 1, 1, 1)
    );
}

#[test]
fn a_profile_that_does_not_compile_names_the_rule() {
    let error =
        CompiledProfile::compile(&json!({}), &[("Bad".to_owned(), json!({"kind": "nope"}))])
            .unwrap_err();
    assert_eq!(error.rule_name.as_deref(), Some("Bad"));
    let error = CompiledProfile::compile(&json!({"half_life": "0 days"}), &[]).unwrap_err();
    assert_eq!(error.rule_name, None);
}

#[test]
fn absence_conditions_are_due_only_when_their_truth_can_change() {
    let p = profile(
        json!({}),
        &[(
            "Gone quiet",
            json!({"kind": "disqualifier", "when": {"no_event": "email_open", "within": "60 days"}}),
        )],
    );
    let now = at("2024-06-01");
    // Three opens: only the last one leaving the window makes the contact quiet.
    let opens = [
        event("email_open", "2024-04-10"),
        event("email_open", "2024-05-01"),
        event("email_open", "2024-05-20"),
    ];
    let s = score(&p, &json!({}), &opens, now);
    assert!(s.disqualified_by.is_empty());
    assert_eq!(s.next_due, Some(at("2024-07-19") + 1), "not 06-09, when the first open leaves");
    // Quiet now, with an open scheduled in the future: due when it comes.
    let s = score(
        &p,
        &json!({}),
        &[event("email_open", "2024-01-01"), event("email_open", "2024-06-10")],
        now,
    );
    assert_eq!(s.disqualified_by, vec!["Gone quiet".to_owned()]);
    assert_eq!(s.next_due, Some(at("2024-06-10")));
    // Quiet for good: nothing will ever change it.
    let s = score(&p, &json!({}), &[event("email_open", "2024-01-01")], now);
    assert_eq!(s.next_due, None);
}

#[test]
fn count_conditions_are_due_when_the_count_crosses_the_threshold() {
    let p = profile(
        json!({}),
        &[(
            "Barely active",
            json!({"kind": "disqualifier", "when": {"event_count": "page_view", "within": "30 days", "op": "lt", "value": 2}}),
        )],
    );
    let now = at("2024-06-01");
    // Three views in the window: the count drops to 1 (< 2) when the second one leaves.
    let views = [
        event("page_view", "2024-05-05"),
        event("page_view", "2024-05-10"),
        event("page_view", "2024-05-30"),
    ];
    let s = score(&p, &json!({}), &views, now);
    assert!(s.disqualified_by.is_empty());
    assert_eq!(s.next_due, Some(at("2024-06-09") + 1), "the 05-10 view leaving leaves one view");
}

#[test]
fn adding_new_events_equals_recomputing_from_history() {
    let p = profile(
        json!({"half_life": "30 days"}),
        &[
            ("Click", json!({"kind": "event", "event": "email_click", "points": 8})),
            (
                "Pricing",
                json!({"kind": "event", "event": "page_view", "points": 4, "half_life": "14 days", "dimension": "intent",
                           "when": {"field": "props.url", "op": "contains", "value": "/pricing"}}),
            ),
            (
                "Trial",
                json!({"kind": "event", "event": "trial_signup", "points": 15, "count": "once"}),
            ),
            (
                "Quiet",
                json!({"kind": "disqualifier", "when": {"no_event": "email_open", "within": "60 days"}}),
            ),
        ],
    );
    let now = at("2024-06-01");
    let old = [
        event("email_click", "2024-04-02"),
        json!({"event_type": "page_view", "at": "2024-05-18", "props": {"url": "/pricing"}}),
    ];
    let new = [
        event("email_click", "2024-05-30"),
        json!({"event_type": "page_view", "at": "2024-05-31", "props": {"url": "/pricing"}}),
        json!({"event_type": "page_view", "at": "2024-05-31", "props": {"url": "/blog"}}),
        event("unknown", "2024-05-31"),
        json!({"event_type": "email_click"}),
    ];
    let mut stored = score(&p, &json!({}), &old, now);
    let delta = summarise(&p, &new, now);
    assert!(delta.is_additive());
    stored.engagement.merge(&delta.engagement);
    for (label, sum) in &delta.dimensions {
        stored.dimensions.entry(label.clone()).or_default().merge(sum);
    }
    let tally: Vec<i64> = stored
        .tally
        .to_array()
        .iter()
        .zip(delta.tally.to_array())
        .map(|(a, b)| (a + b) as i64)
        .collect();
    let all: Vec<Json> = old.iter().chain(new.iter()).cloned().collect();
    let full = score(&p, &json!({}), &all, now);
    assert!(close(stored.engagement.value_at(now), full.engagement.value_at(now)));
    assert!(close(
        stored.dimensions["intent"].value_at(now),
        full.dimensions["intent"].value_at(now)
    ));
    assert_eq!(EventTally::from_array(&tally), full.tally);

    // Types with limits or history conditions, and future events, need history.
    for needs_history in [
        event("trial_signup", "2024-05-31"),
        event("email_open", "2024-05-31"),
        event("email_click", "2024-07-01"),
    ] {
        assert!(
            !summarise(&p, std::slice::from_ref(&needs_history), now).is_additive(),
            "{needs_history}"
        );
    }
}

#[test]
fn limited_rules_settle_new_events_against_the_stored_selection() {
    let p = profile(
        json!({"half_life": "30 days"}),
        &[
            ("Click", json!({"kind": "event", "event": "email_click", "points": 8})),
            (
                "Project",
                json!({"kind": "event", "event": ["project_created", "email_click"], "points": 5, "count": {"max": 2}, "dimension": "product"}),
            ),
            (
                "Trial",
                json!({"kind": "event", "event": "trial_signup", "points": 15, "count": "once", "half_life": null}),
            ),
        ],
    );
    let now = at("2024-06-01");
    let history = [
        event("trial_signup", "2024-05-10"),
        event("project_created", "2024-05-12"),
        event("email_open", "2024-05-13"),
    ];
    // (new events, whether they can be settled without the history)
    let cases: Vec<(Vec<Json>, bool)> = vec![
        (vec![event("trial_signup", "2024-05-20")], true), // once, already counted: nothing
        (vec![event("project_created", "2024-05-20")], true), // second of two: counts
        (vec![event("email_click", "2024-05-20")], true),  // counted by Click, second for Project
        (
            vec![event("project_created", "2024-05-20"), event("project_created", "2024-05-21")],
            true, // the first fills the limit, the second is later: does not count
        ),
        (
            vec![event("project_created", "2024-05-21"), event("email_click", "2024-05-20")],
            true, // in either order the earlier one is taken
        ),
        (vec![event("trial_signup", "2024-05-01")], false), // earlier than the counted one
        (vec![event("trial_signup", "2024-05-10")], false), // a tie could displace it
        (
            // Taken in time order: 05-11 fills the limit beside 05-12, and 05-20 is later.
            vec![event("project_created", "2024-05-20"), event("project_created", "2024-05-11")],
            true,
        ),
        (
            // Trial's one event is taken: an earlier one needs the history, whatever else.
            vec![event("project_created", "2024-05-20"), event("trial_signup", "2024-05-09")],
            false,
        ),
    ];
    let stored = score(&p, &json!({}), &history, now);
    assert_eq!(stored.limits.len(), 2, "Project and Trial each counted an event");
    for (new, settles) in cases {
        let delta = summarise(&p, &new, now);
        assert!(delta.has_candidates() && !delta.is_additive(), "{new:?}");
        let Some((settled, limits)) = delta.settle_limits(&p, &stored.limits) else {
            assert!(!settles, "{new:?} should settle");
            continue;
        };
        assert!(settles, "{new:?} should need the history");
        assert!(settled.is_additive());
        let all: Vec<Json> = history.iter().chain(new.iter()).cloned().collect();
        let full = score(&p, &json!({}), &all, now);
        let mut engagement = stored.engagement.clone();
        engagement.merge(&settled.engagement);
        assert!(close(engagement.value_at(now), full.engagement.value_at(now)), "{new:?}");
        let mut product = stored.dimensions["product"].clone();
        if let Some(sum) = settled.dimensions.get("product") {
            product.merge(sum);
        }
        assert!(close(product.value_at(now), full.dimensions["product"].value_at(now)));
        let tally: Vec<i64> = (stored.tally.to_array().iter())
            .zip(settled.tally.to_array())
            .map(|(a, b)| (a + b) as i64)
            .collect();
        assert_eq!(EventTally::from_array(&tally), full.tally, "{new:?}");
        assert_eq!(limits, full.limits, "{new:?}");
    }
    // Stored as flat triples, and read back.
    let flat = LimitState::flatten(&stored.limits);
    assert_eq!(LimitState::unflatten(&flat), Some(stored.limits.clone()));
    assert_eq!(LimitState::unflatten(&flat[1..]), None);
    assert_eq!(LimitState::unflatten(&[-1, 1, 0]), None);
}

#[test]
fn summaries_of_parts_merge_into_the_summary_of_the_whole() {
    let p = profile(
        json!({"half_life": "30 days"}),
        &[
            ("Click", json!({"kind": "event", "event": "email_click", "points": 8})),
            (
                "Trial",
                json!({"kind": "event", "event": ["trial_signup", "email_click"], "points": 15, "count": {"max": 2}}),
            ),
            (
                "Recent",
                json!({"kind": "event", "event": "page_view", "points": 2, "within": "10 days"}),
            ),
            (
                "Quiet",
                json!({"kind": "disqualifier", "when": {"no_event": "email_open", "within": "60 days"}}),
            ),
        ],
    );
    let now = at("2024-06-01");
    let history = [
        event("email_click", "2024-04-02"),
        event("trial_signup", "2024-05-02"),
        event("email_open", "2024-05-03"),
        event("page_view", "2024-05-28"),
        event("email_click", "2024-03-01"),
        event("trial_signup", "2024-03-01"),
        event("page_view", "2024-07-01"),
        json!({"event_type": "page_view"}),
    ];
    let whole = score(&p, &json!({}), &history, now);
    for split in 0..=history.len() {
        let (first, second) = history.split_at(split);
        // Merged in the other order, too: neither order nor grouping matters.
        let mut merged = summarise(&p, second, now);
        merged.merge(summarise(&p, first, now));
        let merged = merged.finish(&p, &JsonFacts { record: &json!({}), now }, now);
        assert!(close(merged.score_at(now), whole.score_at(now)), "split at {split}");
        assert_eq!(merged.tally, whole.tally, "split at {split}");
        assert_eq!(merged.next_due, whole.next_due, "split at {split}");
        assert_eq!(merged.disqualified_by, whole.disqualified_by, "split at {split}");
    }
}

#[test]
fn within_tests_on_contact_fields_say_when_to_look_again() {
    let p = profile(
        json!({}),
        &[
            (
                "New sign-up",
                json!({"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 5}),
            ),
            // A grace period: quiet contacts are disqualified only once older than the window.
            (
                "Gone quiet",
                json!({"kind": "disqualifier", "when": {"all": [
                    {"no_event": "email_open", "within": "60 days"},
                    {"not": {"field": "created_at", "op": "within", "value": "60 days"}}]}}),
            ),
        ],
    );
    let now = at("2024-06-01");
    // (created_at, fit, disqualified, next_due)
    let cases: &[(&str, f64, bool, Option<Micros>)] = &[
        ("2024-05-30", 5.0, false, Some(at("2024-06-06") + 1)),
        ("2024-05-10", 0.0, false, Some(at("2024-07-09") + 1)),
        ("2024-03-01", 0.0, true, None),
        // A creation time ahead of the clock is not "within" yet: no grace until it comes.
        ("2024-06-03", 0.0, true, Some(at("2024-06-03"))),
    ];
    for &(created, fit, disqualified, due) in cases {
        let s = score(&p, &json!({"created_at": created}), &[], now);
        assert_eq!(
            (s.fit, !s.disqualified_by.is_empty(), s.next_due),
            (fit, disqualified, due),
            "created {created}"
        );
    }
    // When the grace ends, the contact is quiet.
    let later = score(&p, &json!({"created_at": "2024-05-10"}), &[], at("2024-07-09") + 1);
    assert_eq!(later.disqualified_by, vec!["Gone quiet".to_owned()]);
}

#[test]
fn within_tests_on_event_fields_say_when_to_look_again() {
    let p = profile(
        json!({}),
        &[(
            "Demo soon",
            json!({"kind": "event", "event": "demo_booked", "points": 10, "half_life": null,
                   "when": {"field": "props.demo_at", "op": "within", "value": "7 days"}}),
        )],
    );
    let now = at("2024-06-01");
    let booked = |demo_at: &str| json!({"event_type": "demo_booked", "at": "2024-05-20", "props": {"demo_at": demo_at}});
    // (demo_at, points now, next_due)
    let cases: &[(&str, f64, Option<Micros>)] = &[
        // Inside the window: counts until it leaves, just after demo_at + 7 days.
        ("2024-05-28", 10.0, Some(at("2024-06-04") + 1)),
        // Ahead of the clock: not within yet, due when it comes.
        ("2024-06-10", 0.0, Some(at("2024-06-10"))),
        // Long gone: never changes again.
        ("2024-04-01", 0.0, None),
    ];
    for &(demo_at, points, due) in cases {
        let s = score(&p, &json!({}), &[booked(demo_at)], now);
        assert_eq!((s.score_at(now), s.next_due), (points, due), "demo at {demo_at}");
        // One whose truth will change is not added blindly to stored sums.
        let additive = summarise(&p, &[booked(demo_at)], now).is_additive();
        assert_eq!(additive, due.is_none(), "demo at {demo_at}");
    }
    // At those due times the rescored results change as promised.
    let left = score(&p, &json!({}), &[booked("2024-05-28")], at("2024-06-04") + 1);
    assert_eq!(left.score_at(at("2024-06-04") + 1), 0.0);
    let came = score(&p, &json!({}), &[booked("2024-06-10")], at("2024-06-10"));
    assert_eq!(came.score_at(at("2024-06-10")), 10.0);
}

/// Events at every instant the database can hold, `-infinity` and `infinity` among
/// them (as `i64::MIN` and `i64::MAX`, as the glue reads them).
/// A profile with a limited rule, and `n` events, as JSON: every other one a demo the
/// limited rule matches (none with `demos` false).
fn limited_history(n: usize, demos: bool) -> (CompiledProfile, Vec<Json>) {
    let p = profile(
        json!({"half_life": "10 days"}),
        &[
            ("Visit", json!({"kind": "event", "event": "visit", "points": 2})),
            ("Demo", json!({"kind": "event", "event": "demo", "points": 10, "count": {"max": 3}})),
        ],
    );
    let events = (0..n)
        .map(|i| {
            let kind = if demos && i % 2 == 1 { "demo" } else { "visit" };
            json!({"event_type": kind, "at": format!("2024-05-01T00:00:{:02}Z", i % 60)})
        })
        .collect();
    (p, events)
}

#[test]
fn long_scorings_call_between_steps_and_score_as_without() {
    let (p, events) = limited_history(40, true);
    let now = at("2024-06-01");
    let contact = json!({});
    let facts: Vec<JsonFacts> = events.iter().map(|e| JsonFacts { record: e, now }).collect();
    let each = || events.iter().zip(&facts).map(|(e, f)| as_event(e, f));
    let mut calls = 0;
    let mut count = || calls += 1;
    let contact_facts = JsonFacts { record: &contact, now };
    let result = score_contact_between(&p, &contact_facts, each(), now, &mut count);
    // Once per event, then per candidate weighed (the limited rule takes the first 3 of
    // its 20 demos and looks no further) and once per candidate tallied.
    assert_eq!(calls, 40 + 3 + 20);
    assert_eq!(result, score(&p, &contact, &events, now));
}

#[test]
fn a_callback_that_does_not_return_stops_a_long_scoring() {
    // Visits only: no candidates, the events are all the steps there are.
    let (p, events) = limited_history(1_000, false);
    let now = at("2024-06-01");
    let contact = json!({});
    let facts: Vec<JsonFacts> = events.iter().map(|e| JsonFacts { record: e, now }).collect();
    let events = events.iter().zip(&facts).map(|(e, f)| as_event(e, f));
    // A cancel arriving after 100 steps: the loop stops there, not at its end.
    let mut steps = 0;
    let mut cancel_after_100 = || {
        steps += 1;
        if steps > 100 {
            panic!("canceled");
        }
    };
    let contact_facts = JsonFacts { record: &contact, now };
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        score_contact_between(&p, &contact_facts, events, now, &mut cancel_after_100)
    }));
    assert!(stopped.is_err());
    assert_eq!(steps, 101);
    // Finishing alone (candidates only) is stopped as well.
    let mut summary = summarise(&p, &limited_history(1_000, true).1, now);
    summary.merge(EventSummary::default());
    let mut weighed = 0;
    let mut cancel_at_once = || {
        weighed += 1;
        panic!("canceled");
    };
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        summary.finish_between(&p, &contact_facts, now, &mut cancel_at_once)
    }));
    assert!(stopped.is_err());
    assert_eq!(weighed, 1);
}

fn extreme_time_profile() -> CompiledProfile {
    profile(
        json!({"pql_threshold": 5}),
        &[
            (
                "Visit",
                json!({"kind": "event", "event": "visit", "points": 2, "half_life": "7 days"}),
            ),
            (
                "Windowed",
                json!({"kind": "event", "event": "visit", "points": 1, "within": "30 days"}),
            ),
            ("Once", json!({"kind": "event", "event": "demo", "points": 5, "count": "once"})),
            (
                "Quiet",
                json!({"kind": "disqualifier", "when": {"no_event": "visit", "within": "90 days"}}),
            ),
        ],
    )
}

fn summary_at(profile: &CompiledProfile, times: &[(&str, Micros)], now: Micros) -> ContactScore {
    let mut summary = EventSummary::default();
    let record = json!({});
    for (event_type, at) in times {
        let facts = JsonFacts { record: &record, now };
        summary.add(
            profile,
            &Event { event_type: Some(event_type), at: Some(*at), facts: &facts },
            now,
        );
    }
    summary.finish(profile, &JsonFacts { record: &record, now }, now)
}

#[test]
fn events_at_the_ends_of_time_are_tallied_and_worth_nothing_now() {
    let p = extreme_time_profile();
    let now = at("2024-06-01T00:00:00Z");
    // Postgres' first and last representable instants, in Unix microseconds.
    let first = -210_866_803_200_000_000;
    /// (case, event time, the tally counter it must land in, whether it is due at MAX)
    type Case = (&'static str, Micros, fn(&EventTally) -> u64, bool);
    let cases: &[Case] = &[
        ("-infinity: not counted", Micros::MIN, |t| t.not_counted, false),
        ("infinity: future, never due", Micros::MAX, |t| t.future, true),
        ("the first instant: counted, decayed to nothing", first, |t| t.scored, false),
    ];
    for (name, when, counter, due) in cases {
        let result = summary_at(&p, &[("visit", *when)], now);
        assert_eq!(counter(&result.tally), 1, "{name}: {:?}", result.tally);
        assert!(result.score_at(now).is_finite(), "{name}");
        assert!(result.score_at(now).abs() < 1e-9, "{name}: {}", result.score_at(now));
        assert_eq!(result.next_due == Some(Micros::MAX), *due, "{name}: {:?}", result.next_due);
    }
}

mod extreme_times {
    use super::*;
    use proptest::prelude::*;

    fn any_time() -> impl Strategy<Value = Micros> {
        prop_oneof![
            any::<i64>(),
            prop::sample::select(vec![
                Micros::MIN,
                Micros::MIN + 1,
                -210_866_803_200_000_000,
                0,
                Micros::MAX - 1,
                Micros::MAX
            ]),
            (-400i64..400).prop_map(|days| 1_717_200_000_000_000 + days * DAY),
        ]
    }

    proptest! {
        /// Whatever the events' times and the clock, scoring is total: a finite score,
        /// every event tallied once, a due time only in the future.
        #[test]
        fn any_times_score_finitely(
            events in prop::collection::vec((prop::sample::select(vec!["visit", "demo", "other"]), any_time()), 0..12),
            now in any_time(),
        ) {
            let p = extreme_time_profile();
            let times: Vec<(&str, Micros)> = events.iter().map(|(t, at)| (*t, *at)).collect();
            let result = summary_at(&p, &times, now);
            prop_assert!(!result.score_at(now).is_nan());
            let t = result.tally;
            prop_assert_eq!(t.scored + t.unmatched + t.not_counted + t.future + t.null_time + t.null_type, events.len() as u64);
            if let Some(due) = result.next_due {
                prop_assert!(due > now);
            }
        }
    }
}
