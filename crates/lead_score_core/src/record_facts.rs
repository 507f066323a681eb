//! Facts read from a contact's own columns and its account's, one value per column the
//! rules read, as typed values rather than a JSON document (which would cost building
//! and parsing a document per contact). Each value means what the same column means in
//! [`JsonFacts`](crate::json_facts::JsonFacts): a number column is a number, a
//! text column text, and any other type its JSON form.

use std::borrow::Cow;

use serde_json::Value as Json;

use crate::condition::{Facts, Field, Source};
use crate::span::Span;
use crate::value::{Micros, Value};

/// One column's value, owned.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnValue {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    /// A column of another type, as its JSON form.
    Json(Json),
}

impl ColumnValue {
    fn as_value(&self) -> Value<'_> {
        match self {
            ColumnValue::Null => Value::Null,
            ColumnValue::Bool(b) => Value::Bool(*b),
            ColumnValue::Number(n) => Value::Number(*n),
            ColumnValue::Text(t) => Value::Text(Cow::Borrowed(t)),
            ColumnValue::Json(json) => Value::from_json(json),
        }
    }

    /// A float column's value. JSON has no NaN or infinities: Postgres' `to_jsonb`
    /// spells them as strings, and so does this.
    pub fn float(value: f64) -> ColumnValue {
        if value.is_finite() {
            ColumnValue::Number(value)
        } else if value.is_nan() {
            ColumnValue::Text("NaN".to_owned())
        } else if value > 0.0 {
            ColumnValue::Text("Infinity".to_owned())
        } else {
            ColumnValue::Text("-Infinity".to_owned())
        }
    }
}

/// Which columns a record's values are: the contact's, then its account's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnLayout {
    pub contact: Vec<String>,
    pub account: Vec<String>,
}

/// A contact's (and its account's) values, in [`ColumnLayout`] order.
pub struct RecordFacts<'a> {
    pub layout: &'a ColumnLayout,
    pub values: Vec<ColumnValue>,
    pub now: Micros,
}

impl RecordFacts<'_> {
    fn column(&self, names: &[String], offset: usize, field: &Field) -> Value<'_> {
        let found = match &field.path[..] {
            [column] => names.iter().position(|name| name == column),
            path => {
                let joined = path.join(".");
                names.iter().position(|name| *name == joined)
            }
        };
        found
            .and_then(|index| self.values.get(offset + index))
            .map_or(Value::Null, ColumnValue::as_value)
    }
}

impl Facts for RecordFacts<'_> {
    fn field(&self, field: &Field) -> Value<'_> {
        match field.source {
            Source::Contact => self.column(&self.layout.contact, 0, field),
            Source::Account => self.column(&self.layout.account, self.layout.contact.len(), field),
            // A contact has no event fields.
            Source::Event | Source::Props => Value::Null,
        }
    }

    /// History is counted by the engine (`ContactWithHistory`), never by the record.
    fn event_count(&self, _event_types: &[String], _within: Option<&Span>) -> u64 {
        0
    }

    fn now(&self) -> Micros {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::CompiledProfile;
    use crate::json_facts::JsonFacts;

    /// The same contact as typed columns and as the JSON document `jsonb_build_object`
    /// would make of it: every fit rule agrees on both.
    #[test]
    fn typed_columns_score_like_their_json_form() {
        let rules: Vec<(String, Json)> = [
            json!({"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}),
            json!({"kind": "fit", "when": {"field": "account.employees", "op": "gte", "value": 25}, "points": 10}),
            json!({"kind": "fit", "when": {"field": "vip", "op": "eq", "value": true}, "points": 5}),
            json!({"kind": "fit", "when": {"field": "revenue", "op": "gt", "value": 1000}, "points": 2}),
            json!({"kind": "fit", "when": {"field": "tags", "op": "contains", "value": "beta"}, "points": 3}),
            json!({"kind": "fit", "when": {"field": "created_at", "op": "lt", "value": "2024-02-01"}, "points": 4}),
            json!({"kind": "fit", "when": {"field": "ratio", "op": "is_null"}, "points": 6}),
            json!({"kind": "fit", "when": {"field": "missing", "op": "is_null"}, "points": 7}),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, rule)| (format!("rule {i}"), rule))
        .collect();
        let profile = CompiledProfile::compile(&json!({}), &rules).unwrap();
        let layout = ColumnLayout {
            contact: ["country", "vip", "revenue", "tags", "created_at", "ratio"]
                .map(String::from)
                .to_vec(),
            account: vec!["employees".to_owned()],
        };
        // (values, the same as JSON, how many rules hold)
        let cases = [
            (
                vec![
                    ColumnValue::Text("US".into()),
                    ColumnValue::Bool(true),
                    ColumnValue::Number(1500.0),
                    ColumnValue::Json(json!(["alpha", "beta"])),
                    ColumnValue::Json(json!("2024-01-15T00:00:00+00:00")),
                    ColumnValue::float(f64::NAN),
                    ColumnValue::Number(40.0),
                ],
                json!({"country": "US", "vip": true, "revenue": 1500, "tags": ["alpha", "beta"],
                       "created_at": "2024-01-15T00:00:00+00:00", "ratio": "NaN",
                       "account": {"employees": 40}}),
                7, // all but "ratio is_null": NaN is a value
            ),
            (
                vec![ColumnValue::Null; 7],
                json!({"country": null, "vip": null, "revenue": null, "tags": null,
                       "created_at": null, "ratio": null, "account": {"employees": null}}),
                2, // the two is_null tests
            ),
        ];
        let now = 0;
        for (values, document, holding) in cases {
            let typed = RecordFacts { layout: &layout, values, now };
            let from_json = JsonFacts { record: &document, now };
            let mut held = 0;
            for (name, rule) in &profile.rules {
                let crate::rule::Rule::Fit { when, .. } = rule else { continue };
                assert_eq!(when.holds(&typed), when.holds(&from_json), "{name} on {document}");
                held += usize::from(when.holds(&typed));
            }
            assert_eq!(held, holding, "{document}");
        }
    }
}
