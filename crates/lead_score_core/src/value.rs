//! Field values as the evaluator sees them, and the conversions between types.
//!
//! A rule's operand fixes the type of a comparison (a number compares numerically, a
//! timestamp chronologically, ...). A field value of another type is converted when
//! that is lossless and unambiguous (the text `"25"` to the number 25, the text
//! `"2024-05-01"` to a timestamp) and otherwise the comparison is false. Nothing here
//! can fail: malformed data never raises, it just does not match.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use std::borrow::Cow;

/// Microseconds since 1970-01-01 00:00:00 UTC.
pub type Micros = i64;

#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// A NULL column, a missing property, or JSON `null`.
    Null,
    Bool(bool),
    Number(f64),
    Text(Cow<'a, str>),
    Timestamp(Micros),
    /// A JSON array or object: only `contains` (array membership) and `is_null` /
    /// `not_null` look inside; other operators do not match.
    Json(&'a serde_json::Value),
}

impl<'a> Value<'a> {
    /// A JSON value as a field value. Strings stay text (they may be converted later
    /// when an operand asks for a number or a timestamp).
    pub fn from_json(json: &'a serde_json::Value) -> Value<'a> {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n.as_f64().map_or(Value::Null, Value::Number),
            serde_json::Value::String(s) => Value::Text(Cow::Borrowed(s)),
            other => Value::Json(other),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) if n.is_finite() => Some(*n),
            Value::Text(t) => parse_number(t),
            _ => None,
        }
    }

    pub fn as_timestamp(&self) -> Option<Micros> {
        match self {
            Value::Timestamp(t) => Some(*t),
            Value::Text(t) => parse_timestamp(t),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "on" => Some(true),
                "false" | "f" | "no" | "off" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value as text for text operators: numbers and booleans by their usual
    /// spelling; timestamps, arrays and objects have no text form here.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Text(t) => Some(Cow::Borrowed(t.as_ref())),
            Value::Number(n) => Some(Cow::Owned(format_number(*n))),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            _ => None,
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

pub fn parse_number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    // Rust also parses "inf" and "NaN": data that says so is not a number to compare.
    trimmed.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// RFC 3339 / ISO 8601 timestamps (`2024-05-01T10:00:00Z`, `2024-05-01 10:00:00+02`,
/// `2024-05-01`); without a zone, UTC.
pub fn parse_timestamp(text: &str) -> Option<Micros> {
    let t = text.trim();
    if t.len() < 10 || !t.as_bytes()[..4].iter().all(u8::is_ascii_digit) || t.as_bytes()[4] != b'-'
    {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M%#z",
        "%Y-%m-%dT%H:%M%#z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, format) {
            return Some(dt.timestamp_micros());
        }
    }
    for format in
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
    {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, format) {
            return Some(naive.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc().timestamp_micros())
}

/// Does this text look like it was meant as a timestamp (so a failure to parse it is
/// a mistake worth reporting, not a sign that it was meant as something else)?
pub fn looks_like_timestamp(text: &str) -> bool {
    let b = text.trim().as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Unicode-aware case folding for case-insensitive comparisons.
pub fn fold(text: &str, case_sensitive: bool) -> Cow<'_, str> {
    if case_sensitive || !text.chars().any(char::is_uppercase) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Whether `text`, folded as `fold` folds it, equals `folded` (which `fold` made).
/// ASCII text is compared without building its folded copy: a fit rule on a country
/// code is evaluated for every contact in a full pass.
pub fn folded_eq(text: &str, case_sensitive: bool, folded: &str) -> bool {
    if case_sensitive {
        text == folded
    } else if text.is_ascii() {
        // (ASCII lowercases to ASCII, byte for byte; `folded` has no upper case.)
        text.eq_ignore_ascii_case(folded)
    } else {
        fold(text, false) == folded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_from_numbers_and_numeric_text_only() {
        assert_eq!(Value::Number(25.0).as_number(), Some(25.0));
        assert_eq!(Value::Text(" 25 ".into()).as_number(), Some(25.0));
        assert_eq!(Value::Text("2.5e1".into()).as_number(), Some(25.0));
        for not_a_number in ["abc", "", "inf", "NaN", "25 employees"] {
            assert_eq!(Value::Text(not_a_number.into()).as_number(), None, "{not_a_number}");
        }
        assert_eq!(Value::Bool(true).as_number(), None);
        assert_eq!(Value::Null.as_number(), None);
        assert_eq!(Value::Number(f64::NAN).as_number(), None);
    }

    #[test]
    fn timestamps_in_the_usual_spellings() {
        let may_first = 1_714_521_600_000_000; // 2024-05-01T00:00:00Z
        let cases: &[(&str, Micros)] = &[
            ("2024-05-01", may_first),
            ("2024-05-01T00:00:00Z", may_first),
            ("2024-05-01 00:00:00", may_first),
            ("2024-05-01T02:00:00+02:00", may_first),
            ("2024-05-01 02:00:00+02", may_first),
            ("2024-05-01 00:00:00.5", may_first + 500_000),
            ("2024-05-01T10:30", may_first + 37_800_000_000),
            ("2024-05-01 10:30+00", may_first + 37_800_000_000),
            ("2024-05-01T12:30+02:00", may_first + 37_800_000_000),
        ];
        for &(text, micros) in cases {
            assert_eq!(parse_timestamp(text), Some(micros), "{text}");
        }
        for bad in ["2024-13-01", "2024-02-30", "yesterday", "05/01/2024", "2024", ""] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(looks_like_timestamp("2024-13-01"));
        assert!(!looks_like_timestamp("abc"));
    }

    #[test]
    fn booleans_and_text_forms() {
        assert_eq!(Value::Text("TRUE".into()).as_bool(), Some(true));
        assert_eq!(Value::Text("no".into()).as_bool(), Some(false));
        assert_eq!(Value::Text("maybe".into()).as_bool(), None);
        assert_eq!(Value::Number(25.0).as_text().as_deref(), Some("25"));
        assert_eq!(Value::Number(2.5).as_text().as_deref(), Some("2.5"));
        assert_eq!(Value::Bool(false).as_text().as_deref(), Some("false"));
        assert_eq!(Value::Timestamp(0).as_text(), None);
    }

    #[test]
    fn json_values_map_to_field_values() {
        let doc = json!({"s": "x", "n": 3, "b": true, "z": null, "a": [1], "o": {}});
        assert_eq!(Value::from_json(&doc["s"]), Value::Text("x".into()));
        assert_eq!(Value::from_json(&doc["n"]), Value::Number(3.0));
        assert_eq!(Value::from_json(&doc["b"]), Value::Bool(true));
        assert_eq!(Value::from_json(&doc["z"]), Value::Null);
        assert!(matches!(Value::from_json(&doc["a"]), Value::Json(_)));
        assert!(matches!(Value::from_json(&doc["o"]), Value::Json(_)));
    }

    #[test]
    fn folding_is_unicode_aware() {
        assert_eq!(fold("ÄRZTE", false), "ärzte");
        let cases = [
            ("US", false, "us", true),
            ("us", false, "us", true),
            ("US", true, "us", false),
            ("Us", false, "uk", false),
            ("ÄRZTE", false, "ärzte", true),
            ("ARZTE", false, "ärzte", false),
            ("İ", false, &*fold("İ", false), true),
            ("Straße", false, "straße", true),
        ];
        for (text, case_sensitive, folded, expected) in cases {
            assert_eq!(folded_eq(text, case_sensitive, folded), expected, "{text} {folded}");
            let slow = fold(text, case_sensitive) == folded;
            assert_eq!(slow, expected, "{text} {folded}: the same as folding");
        }
        assert_eq!(fold("ÄRZTE", true), "ÄRZTE");
    }
}
