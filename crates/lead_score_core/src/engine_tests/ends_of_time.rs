//! Events at every instant the database can hold, `-infinity` and `infinity` among
//! them (as `i64::MIN` and `i64::MAX`, as the glue reads them).

use serde_json::json;

use super::{at, profile, DAY};
use crate::engine::{CompiledProfile, ContactScore, Event, EventSummary, EventTally};
use crate::json_facts::JsonFacts;
use crate::value::Micros;

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
