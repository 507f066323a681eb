//! Long scorings call the caller's `between` at every step, so a cancel stops them.

use serde_json::{json, Value as Json};

use super::{as_event, at, profile, score, summarise};
use crate::engine::{score_contact_between, CompiledProfile, EventSummary};
use crate::json_facts::JsonFacts;

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
