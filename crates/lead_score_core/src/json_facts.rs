//! Facts read from a JSON document, for trying rules on sample records
//! (`lead_score.rule_matches`) and for tests.
//!
//! The document is the record's columns as keys. Fit and disqualifier rules read
//! `account.<column>` from the nested object `"account"`; event rules read
//! `props.<path>` from the nested object `"props"`. History conditions count the
//! entries of `"events"`: `[{"event_type": "email_open", "at": "2024-05-01T10:00:00Z"}]`.

use serde_json::Value as Json;

use crate::condition::{Facts, Field, Source};
use crate::span::Span;
use crate::value::{parse_timestamp, Micros, Value};

pub struct JsonFacts<'a> {
    pub record: &'a Json,
    pub now: Micros,
}

impl Facts for JsonFacts<'_> {
    fn field(&self, field: &Field) -> Value<'_> {
        let start = match field.source {
            Source::Contact | Source::Event => Some(self.record),
            Source::Account => self.record.get("account"),
            Source::Props => self.record.get("props"),
        };
        field
            .path
            .iter()
            .try_fold(start, |at, key| Some(at?.get(key)))
            .flatten()
            .map_or(Value::Null, Value::from_json)
    }

    fn event_count(&self, event_types: &[String], within: Option<&Span>) -> u64 {
        let Some(Json::Array(events)) = self.record.get("events") else {
            return 0;
        };
        let since = within.map(|w| self.now.saturating_sub(w.micros()));
        events
            .iter()
            .filter(|event| {
                let type_matches = event
                    .get("event_type")
                    .and_then(Json::as_str)
                    .is_some_and(|t| event_types.iter().any(|wanted| wanted == t));
                let at = event.get("at").and_then(Json::as_str).and_then(parse_timestamp);
                type_matches
                    && match (at, since) {
                        (Some(at), Some(since)) => at >= since && at <= self.now,
                        (Some(at), None) => at <= self.now,
                        (None, _) => false,
                    }
            })
            .count() as u64
    }

    fn now(&self) -> Micros {
        self.now
    }
}
