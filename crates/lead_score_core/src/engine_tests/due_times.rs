//! Disqualifiers and when time alone changes a result: history conditions and
//! `within` tests on the contact's and the events' fields.

use serde_json::json;

use super::{at, event, profile, score, summarise};
use crate::value::Micros;

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
        // One whose truth will change adds its sums and its due time, the earlier wins.
        let new = summarise(&p, &[booked(demo_at)], now);
        assert!(new.is_additive(), "demo at {demo_at}");
        assert_eq!(
            (new.engagement.value_at(now), new.next_due),
            (points, due),
            "demo at {demo_at}"
        );
    }
    // At those due times the rescored results change as promised.
    let left = score(&p, &json!({}), &[booked("2024-05-28")], at("2024-06-04") + 1);
    assert_eq!(left.score_at(at("2024-06-04") + 1), 0.0);
    let came = score(&p, &json!({}), &[booked("2024-06-10")], at("2024-06-10"));
    assert_eq!(came.score_at(at("2024-06-10")), 10.0);
}
