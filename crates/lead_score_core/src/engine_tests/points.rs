//! What a contact's events and facts are worth: fit points, decay, count limits,
//! windows, future events, dimensions, and the tally of events that did not count.

use serde_json::json;

use super::{at, close, event, profile, score, DAY};
use crate::engine::CompiledProfile;

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
