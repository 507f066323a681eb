//! Compiling a condition from its JSON, where every mistake is reported with its JSON
//! path: fields, comparisons and their operands, history conditions.

use regex::RegexBuilder;
use serde_json::{Map, Value as Json};

use super::{
    Comparison, Condition, Field, Order, Ordered, Scalar, Scope, Source, Test, MAX_FIELD_PARTS,
    OPERATORS,
};
use crate::error::{describe, reject_unknown_keys, JsonPath, RuleError};
use crate::span::{parse_span, Span};
use crate::value::{fold, looks_like_timestamp, parse_timestamp};

const TEXT_OPERATORS: &[&str] =
    &["eq", "ne", "in", "not_in", "contains", "starts_with", "ends_with", "matches"];

/// Regular expressions are compiled once per rule; these bounds keep a pathological
/// pattern from taking memory or time at event time (the `regex` crate never
/// backtracks, so matching is linear in the input).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Condition {
    pub fn compile(json: &Json, path: &JsonPath, scope: Scope) -> Result<Condition, RuleError> {
        let Json::Object(object) = json else {
            return Err(path.error(format!(
                "a condition must be an object such as {{\"field\": ..., \"op\": ..., \"value\": ...}}, got {}",
                describe(json)
            )));
        };
        if object.contains_key("field") {
            return compile_comparison(object, path, scope).map(Condition::Compare);
        }
        for (combinator, build) in
            [("all", Condition::All as fn(Vec<Condition>) -> Condition), ("any", Condition::Any)]
        {
            if let Some(items) = object.get(combinator) {
                reject_unknown_keys(
                    object,
                    &[combinator],
                    path,
                    &format!("an \"{combinator}\" condition"),
                )?;
                let path = path.key(combinator);
                let Json::Array(items) = items else {
                    return Err(path.error(format!(
                        "expected an array of conditions, got {}",
                        describe(items)
                    )));
                };
                if items.is_empty() {
                    return Err(path.error("expected at least one condition, got an empty array"));
                }
                let compiled = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Condition::compile(item, &path.index(i), scope))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(build(compiled));
            }
        }
        if let Some(inner) = object.get("not") {
            reject_unknown_keys(object, &["not"], path, "a \"not\" condition")?;
            return Ok(Condition::Not(Box::new(Condition::compile(
                inner,
                &path.key("not"),
                scope,
            )?)));
        }
        if object.contains_key("no_event") || object.contains_key("event_count") {
            return compile_history(object, path, scope);
        }
        Err(match object.keys().next() {
            Some(key) => path.error(format!(
                "unknown key \"{key}\"; a condition has \"field\" (with \"op\" and \"value\"), \
                 \"all\", \"any\", \"not\", \"no_event\" or \"event_count\""
            )),
            None => path
                .error("empty condition; expected {\"field\": ..., \"op\": ..., \"value\": ...}"),
        })
    }
}

fn compile_field(json: &Json, path: &JsonPath, scope: Scope) -> Result<Field, RuleError> {
    let Json::String(text) = json else {
        return Err(path
            .error(format!("expected a field name such as \"country\", got {}", describe(json))));
    };
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > MAX_FIELD_PARTS {
        return Err(path.error(format!(
            "field name has {} parts; at most {MAX_FIELD_PARTS} are allowed",
            parts.len()
        )));
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err(path.error(format!("invalid field name \"{text}\": empty part between dots")));
    }
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (source, rest) = match (scope, parts[0]) {
        (Scope::Contact, "account") if parts.len() == 2 => (Source::Account, owned(&parts[1..])),
        (Scope::Contact, "account") => {
            return Err(path.error(format!(
                "invalid field name \"{text}\": expected \"account.<column>\" with one column name"
            )))
        }
        (Scope::Contact, "props") if parts.len() > 1 => {
            return Err(path.error(format!(
                "field \"{text}\" is an event property; fit and disqualifier rules see the \
                 contact's columns and \"account.<column>\" (use an event rule, or \"no_event\" / \"event_count\")"
            )))
        }
        (Scope::Event, "props") if parts.len() > 1 => (Source::Props, owned(&parts[1..])),
        (Scope::Event, "account") if parts.len() > 1 => {
            return Err(path.error(format!(
                "field \"{text}\" is an account column; event rules see the event's columns and \
                 \"props.<path>\" (use a fit rule for account columns)"
            )))
        }
        (_, _) if parts.len() == 1 => {
            (if scope == Scope::Contact { Source::Contact } else { Source::Event }, owned(&parts))
        }
        (Scope::Contact, _) => {
            return Err(path.error(format!(
                "invalid field name \"{text}\": expected a column of the contact or \"account.<column>\""
            )))
        }
        (Scope::Event, _) => {
            return Err(path.error(format!(
                "invalid field name \"{text}\": expected a column of the event or \"props.<path>\""
            )))
        }
    };
    Ok(Field { source, path: rest, text: text.clone() })
}

fn compile_comparison(
    object: &Map<String, Json>,
    path: &JsonPath,
    scope: Scope,
) -> Result<Comparison, RuleError> {
    reject_unknown_keys(object, &["field", "op", "value", "case_sensitive"], path, "a comparison")?;
    let field = compile_field(&object["field"], &path.key("field"), scope)?;
    let op_path = path.key("op");
    let op = match object.get("op") {
        Some(Json::String(op)) if OPERATORS.contains(&op.as_str()) => op.as_str(),
        Some(Json::String(op)) => {
            return Err(op_path.error(format!(
                "unknown operator \"{op}\"; expected one of {}",
                OPERATORS.join(", ")
            )))
        }
        Some(other) => {
            return Err(op_path.error(format!("expected an operator name, got {}", describe(other))))
        }
        None => return Err(path.error("missing key \"op\"")),
    };
    let case_sensitive = match object.get("case_sensitive") {
        None => false,
        Some(Json::Bool(flag)) if TEXT_OPERATORS.contains(&op) => *flag,
        Some(Json::Bool(_)) => {
            return Err(path
                .key("case_sensitive")
                .error(format!("operator \"{op}\" does not compare text")))
        }
        Some(other) => {
            return Err(path
                .key("case_sensitive")
                .error(format!("expected true or false, got {}", describe(other))))
        }
    };
    let value_path = path.key("value");
    let value = object.get("value");
    if matches!(op, "is_null" | "not_null") {
        if value.is_some() {
            return Err(value_path.error(format!("operator \"{op}\" takes no value")));
        }
        let test = if op == "is_null" { Test::IsNull } else { Test::NotNull };
        return Ok(Comparison { field, test, case_sensitive });
    }
    let Some(value) = value else {
        return Err(path.error(format!("missing key \"value\" (operator \"{op}\" needs one)")));
    };
    let test = match op {
        "eq" => Test::Equals(scalar(value, &value_path, op, case_sensitive)?),
        "ne" => Test::NotEquals(scalar(value, &value_path, op, case_sensitive)?),
        "in" | "not_in" => {
            let Json::Array(items) = value else {
                return Err(value_path.error(format!(
                    "operator \"{op}\" needs an array of values, got {}",
                    describe(value)
                )));
            };
            if items.is_empty() {
                return Err(value_path.error(format!(
                    "operator \"{op}\" needs at least one value, got an empty array"
                )));
            }
            let scalars = items
                .iter()
                .enumerate()
                .map(|(i, item)| scalar(item, &value_path.index(i), op, case_sensitive))
                .collect::<Result<Vec<_>, _>>()?;
            if op == "in" {
                Test::In(scalars)
            } else {
                Test::NotIn(scalars)
            }
        }
        "gt" | "gte" | "lt" | "lte" => {
            let order = match op {
                "gt" => Order::Gt,
                "gte" => Order::Gte,
                "lt" => Order::Lt,
                _ => Order::Lte,
            };
            Test::Order(order, ordered(value, &value_path, op)?)
        }
        "between" => {
            let bounds = match value {
                Json::Array(items) if items.len() == 2 => items,
                _ => {
                    return Err(value_path.error(format!(
                        "operator \"between\" needs an array of two bounds [low, high], got {}",
                        describe(value)
                    )))
                }
            };
            let low = ordered(&bounds[0], &value_path.index(0), op)?;
            let high = ordered(&bounds[1], &value_path.index(1), op)?;
            match (low, high) {
                (Ordered::Number(l), Ordered::Number(h)) if l <= h => {}
                (Ordered::Timestamp(l), Ordered::Timestamp(h)) if l <= h => {}
                (Ordered::Number(_), Ordered::Number(_))
                | (Ordered::Timestamp(_), Ordered::Timestamp(_)) => {
                    return Err(value_path.error("operator \"between\" needs low <= high"))
                }
                _ => {
                    return Err(value_path
                        .error("operator \"between\" needs two numbers or two timestamps"))
                }
            }
            Test::Between(low, high)
        }
        "contains" | "starts_with" | "ends_with" => {
            let needle = fold(text_operand(value, &value_path, op)?, case_sensitive).into_owned();
            match op {
                "contains" => Test::Contains(needle),
                "starts_with" => Test::StartsWith(needle),
                _ => Test::EndsWith(needle),
            }
        }
        "matches" => {
            let pattern = text_operand(value, &value_path, op)?;
            let regex = RegexBuilder::new(pattern)
                .case_insensitive(!case_sensitive)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    let detail = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                    value_path
                        .error(format!("invalid regular expression {}: {detail}", describe(value)))
                })?;
            Test::Matches(regex)
        }
        "within" => {
            let Json::String(text) = value else {
                return Err(value_path.error(format!(
                    "operator \"within\" needs an interval such as \"7 days\", got {}",
                    describe(value)
                )));
            };
            let span = parse_span(text).map_err(|e| value_path.error(e))?;
            if span.seconds() <= 0.0 {
                return Err(value_path.error(format!(
                    "operator \"within\" needs a positive interval, got \"{text}\""
                )));
            }
            Test::Within(span)
        }
        _ => unreachable!("operator list and match arms agree"),
    };
    Ok(Comparison { field, test, case_sensitive })
}

fn scalar(
    json: &Json,
    path: &JsonPath,
    op: &str,
    case_sensitive: bool,
) -> Result<Scalar, RuleError> {
    match json {
        Json::Number(n) => Ok(Scalar::Number(n.as_f64().unwrap_or(f64::NAN))),
        Json::Bool(b) => Ok(Scalar::Bool(*b)),
        Json::String(s) => Ok(Scalar::Text {
            text: fold(s, case_sensitive).into_owned(),
            timestamp: parse_timestamp(s),
        }),
        other => Err(path.error(format!(
            "operator \"{op}\" needs a text, number or boolean value, got {}",
            describe(other)
        ))),
    }
}

fn ordered(json: &Json, path: &JsonPath, op: &str) -> Result<Ordered, RuleError> {
    match json {
        Json::Number(n) => Ok(Ordered::Number(n.as_f64().unwrap_or(f64::NAN))),
        Json::String(s) if looks_like_timestamp(s) => {
            parse_timestamp(s).map(Ordered::Timestamp).ok_or_else(|| {
                path.error(format!("operator \"{op}\" got an invalid timestamp {}", describe(json)))
            })
        }
        other => {
            Err(path.error(format!("operator \"{op}\" needs a number, got {}", describe(other))))
        }
    }
}

fn text_operand<'j>(json: &'j Json, path: &JsonPath, op: &str) -> Result<&'j str, RuleError> {
    match json {
        Json::String(s) => Ok(s),
        other => {
            Err(path
                .error(format!("operator \"{op}\" needs a text value, got {}", describe(other))))
        }
    }
}

fn event_types(json: &Json, path: &JsonPath) -> Result<Vec<String>, RuleError> {
    let types: Vec<String> = match json {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Json::String(s) => Ok(s.clone()),
                other => Err(path
                    .index(i)
                    .error(format!("expected an event type (text), got {}", describe(other)))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(path.error(format!(
                "expected an event type or an array of event types, got {}",
                describe(other)
            )))
        }
    };
    if types.is_empty() {
        return Err(path.error("expected at least one event type, got an empty array"));
    }
    if let Some(at) = types.iter().position(|t| t.trim().is_empty()) {
        let at_path = if json.is_array() { path.index(at) } else { path.clone() };
        return Err(at_path.error("an event type must not be empty"));
    }
    Ok(types)
}

pub fn compile_event_types(json: &Json, path: &JsonPath) -> Result<Vec<String>, RuleError> {
    event_types(json, path)
}

/// A positive length of time, e.g. the `within` of a rule or a condition.
pub fn compile_positive_span(json: &Json, path: &JsonPath, what: &str) -> Result<Span, RuleError> {
    let Json::String(text) = json else {
        return Err(path.error(format!(
            "{what} must be an interval such as \"30 days\", got {}",
            describe(json)
        )));
    };
    // "-14 days" is a length with the wrong sign, not gibberish: say so.
    if let Some(magnitude) = text.trim_start().strip_prefix('-') {
        if parse_span(magnitude).is_ok() {
            return Err(path.error(format!("{what} must be positive, got \"{text}\"")));
        }
    }
    let span = parse_span(text).map_err(|e| path.error(e))?;
    if span.seconds() <= 0.0 {
        return Err(path.error(format!("{what} must be positive, got \"{text}\"")));
    }
    Ok(span)
}

fn compile_history(
    object: &Map<String, Json>,
    path: &JsonPath,
    scope: Scope,
) -> Result<Condition, RuleError> {
    let (key, allowed): (&str, &[&str]) = if object.contains_key("no_event") {
        ("no_event", &["no_event", "within"])
    } else {
        ("event_count", &["event_count", "within", "op", "value"])
    };
    if scope == Scope::Event {
        return Err(path.key(key).error(format!(
            "\"{key}\" looks at a contact's event history; it belongs in disqualifier rules, not event rules"
        )));
    }
    reject_unknown_keys(object, allowed, path, &format!("a \"{key}\" condition"))?;
    let event_types = event_types(&object[key], &path.key(key))?;
    let within = object
        .get("within")
        .map(|w| compile_positive_span(w, &path.key("within"), "\"within\""))
        .transpose()?;
    if key == "no_event" {
        return Ok(Condition::EventCount { event_types, within, op: Order::Eq, value: 0 });
    }
    let op = match object.get("op") {
        Some(Json::String(op)) => match op.as_str() {
            "eq" => Order::Eq,
            "ne" => Order::Ne,
            "gt" => Order::Gt,
            "gte" => Order::Gte,
            "lt" => Order::Lt,
            "lte" => Order::Lte,
            other => {
                return Err(path.key("op").error(format!(
                    "operator \"{other}\" cannot compare an event count; expected eq, ne, gt, gte, lt or lte"
                )))
            }
        },
        Some(other) => return Err(path.key("op").error(format!("expected an operator name, got {}", describe(other)))),
        None => return Err(path.error("missing key \"op\"")),
    };
    let value = match object.get("value") {
        Some(Json::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        Some(other) => {
            return Err(path.key("value").error(format!(
                "an event count is compared with a whole number >= 0, got {}",
                describe(other)
            )))
        }
        None => return Err(path.error("missing key \"value\"")),
    };
    Ok(Condition::EventCount { event_types, within, op, value })
}
