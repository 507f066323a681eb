//! Summaries: new events added to a stored result, count limits settled against the
//! stored selection, and summaries of parts merged into the summary of the whole.

use serde_json::{json, Value as Json};

use super::{at, close, event, profile, score, summarise};
use crate::engine::{EventTally, LimitState};
use crate::json_facts::JsonFacts;

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

    // Types with limits or history conditions need history.
    for needs_history in [event("trial_signup", "2024-05-31"), event("email_open", "2024-05-31")] {
        assert!(
            !summarise(&p, std::slice::from_ref(&needs_history), now).is_additive(),
            "{needs_history}"
        );
    }
    // A future event adds nothing yet, and its time to the due time, the earlier wins:
    // what a recompute from history holds until then.
    let all: Vec<Json> = all.into_iter().chain([event("email_click", "2024-07-01")]).collect();
    let future = summarise(&p, &[event("email_click", "2024-07-01")], now);
    assert!(future.is_additive());
    assert_eq!(future.engagement.value_at(now), 0.0);
    let due = [stored.next_due, future.next_due].into_iter().flatten().min();
    let full = score(&p, &json!({}), &all, now);
    assert_eq!((due, full.next_due), (Some(at("2024-07-01")), Some(at("2024-07-01"))));
    assert!(close(stored.engagement.value_at(now), full.engagement.value_at(now)));
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
