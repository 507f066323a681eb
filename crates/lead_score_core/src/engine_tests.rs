//! Tests of scoring one contact: decay, count limits, windows, future events, due
//! times, dimensions, disqualifiers and the tally of events that did not count.
//!
//! The helpers are here, the tests in `engine_tests/` by topic.

mod caps;
mod due_times;
mod ends_of_time;
mod interrupts;
mod points;
mod summaries;

use serde_json::{json, Value as Json};

use crate::engine::{score_contact, CompiledProfile, ContactScore, Event, EventSummary};
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
