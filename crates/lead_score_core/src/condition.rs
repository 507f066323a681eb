//! Conditions: compiled once from JSON (where every mistake is reported with its JSON
//! path), then evaluated any number of times without allocating or failing.
//!
//! ```json
//! {"field": "country", "op": "in", "value": ["US", "UK"]}
//! {"all": [...]}   {"any": [...]}   {"not": {...}}
//! {"no_event": "email_open", "within": "60 days"}
//! {"event_count": "page_view", "within": "30 days", "op": "lt", "value": 1}
//! ```

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value as Json};

use crate::error::{describe, reject_unknown_keys, JsonPath, RuleError};
use crate::span::{parse_span, Span};
use crate::value::{fold, folded_eq, looks_like_timestamp, parse_timestamp, Micros, Value};

/// What a condition can see, fixed by the kind of rule it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Fit and disqualifier rules: the contact's columns and `account.<column>`.
    Contact,
    /// Event rules: the event's columns and `props.<path>`.
    Event,
}

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Contact,
    Account,
    Event,
    /// The event's JSON properties, addressed by a path of keys.
    Props,
}

/// A field as named in a rule: `country`, `account.employees`, `props.utm.source`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    pub source: Source,
    /// For columns, one element (the column name); for properties, the key path.
    pub path: Vec<String>,
    /// As written in the rule.
    pub text: String,
}

/// The facts a condition is evaluated against. Implementations must be total: a
/// missing field is `Value::Null`, never an error.
pub trait Facts {
    fn field(&self, field: &Field) -> Value<'_>;
    /// Events of these types for this contact, no older than `within` (and not in the
    /// future), or all of them when `within` is `None`.
    fn event_count(&self, event_types: &[String], within: Option<&Span>) -> u64;
    fn now(&self) -> Micros;
}

#[derive(Debug)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Compare(Comparison),
    /// `no_event` is `event_count ... op "eq" value 0`.
    EventCount {
        event_types: Vec<String>,
        within: Option<Span>,
        op: Order,
        value: u64,
    },
}

#[derive(Debug)]
pub struct Comparison {
    pub field: Field,
    test: Test,
    case_sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Order {
    fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Order::Eq => left == right,
            Order::Ne => left != right,
            Order::Gt => left > right,
            Order::Gte => left >= right,
            Order::Lt => left < right,
            Order::Lte => left <= right,
        }
    }
}

/// A `no_event` / `event_count` condition: the number of events of these types in the
/// window, compared with a whole number.
#[derive(Clone, Copy, Debug)]
pub struct HistoryCondition<'a> {
    pub event_types: &'a [String],
    pub within: Option<&'a Span>,
    pub op: Order,
    pub value: u64,
}

impl HistoryCondition<'_> {
    /// The first instant after `now` at which this condition's truth changes through the
    /// passing of time alone, given the times of the contact's matching events: a future
    /// event comes due (at its time), or an event leaves the window (just after
    /// `time + within`; the window includes its edge). `None`: it never changes again.
    pub fn next_flip(&self, times: &[Micros], now: Micros) -> Option<Micros> {
        let window = self.within.map(Span::micros);
        let count_at = |t: Micros| {
            times
                .iter()
                .filter(|&&at| at <= t && window.is_none_or(|w| t <= at.saturating_add(w)))
                .count() as u64
        };
        let holds_now = self.op.holds(count_at(now), self.value);
        let mut changes: Vec<Micros> = times
            .iter()
            .flat_map(|&at| [Some(at), window.map(|w| at.saturating_add(w).saturating_add(1))])
            .flatten()
            .filter(|&t| t > now)
            .collect();
        changes.sort_unstable();
        changes.dedup();
        changes.into_iter().find(|&t| self.op.holds(count_at(t), self.value) != holds_now)
    }
}

/// An operand of `eq`, `ne`, `in`, `not_in`.
#[derive(Debug)]
enum Scalar {
    Number(f64),
    Bool(bool),
    /// Text, folded unless case-sensitive; also a timestamp when it spells one, so that
    /// it matches timestamp fields chronologically and text fields textually.
    Text {
        text: String,
        timestamp: Option<Micros>,
    },
}

/// An operand of the ordering operators.
#[derive(Clone, Copy, Debug)]
enum Ordered {
    Number(f64),
    Timestamp(Micros),
}

#[derive(Debug)]
enum Test {
    Equals(Scalar),
    NotEquals(Scalar),
    In(Vec<Scalar>),
    NotIn(Vec<Scalar>),
    Order(Order, Ordered),
    Between(Ordered, Ordered),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Matches(Regex),
    IsNull,
    NotNull,
    Within(Span),
}

pub const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "is_null",
    "not_null",
    "within",
];

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

    /// Evaluate. Total: missing fields, wrong types and malformed values are false.
    pub fn holds(&self, facts: &dyn Facts) -> bool {
        match self {
            Condition::All(items) => items.iter().all(|c| c.holds(facts)),
            Condition::Any(items) => items.iter().any(|c| c.holds(facts)),
            Condition::Not(inner) => !inner.holds(facts),
            Condition::Compare(comparison) => comparison.holds(facts),
            Condition::EventCount { event_types, within, op, value } => {
                op.holds(facts.event_count(event_types, within.as_ref()), *value)
            }
        }
    }

    /// Every field the condition reads, for checking them against the catalog.
    pub fn fields(&self) -> Vec<&Field> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a Field>) {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().for_each(|c| c.collect_fields(out))
            }
            Condition::Not(inner) => inner.collect_fields(out),
            Condition::Compare(comparison) => out.push(&comparison.field),
            Condition::EventCount { .. } => {}
        }
    }

    /// Its history conditions (`no_event`, `event_count`), for knowing when the passing
    /// of time can change the condition's value.
    pub fn history_conditions(&self) -> Vec<HistoryCondition<'_>> {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().flat_map(Condition::history_conditions).collect()
            }
            Condition::Not(inner) => inner.history_conditions(),
            Condition::Compare(_) => Vec::new(),
            Condition::EventCount { event_types, within, op, value } => {
                vec![HistoryCondition {
                    event_types,
                    within: within.as_ref(),
                    op: *op,
                    value: *value,
                }]
            }
        }
    }

    /// The first instant after `now` at which one of its `within` tests on a field can
    /// change through the passing of time alone: a timestamp still in the future comes
    /// due, or one leaves the window (just after `time + within`; the edge is inside).
    /// A field such as `created_at` is how a rule gives young contacts a grace period,
    /// so the contact must be looked at again when the grace ends.
    pub fn next_field_flip(&self, facts: &dyn Facts, now: Micros) -> Option<Micros> {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().filter_map(|c| c.next_field_flip(facts, now)).min()
            }
            Condition::Not(inner) => inner.next_field_flip(facts, now),
            Condition::EventCount { .. } => None,
            Condition::Compare(Comparison { field, test: Test::Within(span), .. }) => {
                let time = facts.field(field).as_timestamp()?;
                [time, time.saturating_add(span.micros()).saturating_add(1)]
                    .into_iter()
                    .find(|&flip| flip > now)
            }
            Condition::Compare(_) => None,
        }
    }

    /// Whether the condition looks at event history (`no_event`, `event_count`).
    pub fn uses_history(&self) -> bool {
        !self.history_conditions().is_empty()
    }
}

/// The most parts a field name may have (`props.a.b` has three): documents are read
/// to a depth just beyond it, whatever their own depth.
pub const MAX_FIELD_PARTS: usize = 64;

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

impl Comparison {
    fn holds(&self, facts: &dyn Facts) -> bool {
        let value = facts.field(&self.field);
        match &self.test {
            Test::IsNull => value.is_null(),
            Test::NotNull => !value.is_null(),
            _ if value.is_null() => false,
            Test::Equals(operand) => self.equals(&value, operand),
            Test::NotEquals(operand) => !self.equals(&value, operand),
            Test::In(operands) => operands.iter().any(|o| self.equals(&value, o)),
            Test::NotIn(operands) => !operands.iter().any(|o| self.equals(&value, o)),
            Test::Order(order, bound) => {
                compare(&value, *bound).is_some_and(|(v, b)| order.holds(v, b))
            }
            Test::Between(low, high) => {
                compare(&value, *low).is_some_and(|(v, l)| v >= l)
                    && compare(&value, *high).is_some_and(|(v, h)| v <= h)
            }
            Test::Contains(needle) => match &value {
                Value::Json(serde_json::Value::Array(items)) => items.iter().any(|item| {
                    Value::from_json(item)
                        .as_text()
                        .is_some_and(|t| folded_eq(&t, self.case_sensitive, needle))
                }),
                _ => self.text_of(&value).is_some_and(|t| t.contains(needle.as_str())),
            },
            Test::StartsWith(prefix) => {
                self.text_of(&value).is_some_and(|t| t.starts_with(prefix.as_str()))
            }
            Test::EndsWith(suffix) => {
                self.text_of(&value).is_some_and(|t| t.ends_with(suffix.as_str()))
            }
            Test::Matches(regex) => value.as_text().is_some_and(|t| regex.is_match(&t)),
            Test::Within(span) => value.as_timestamp().is_some_and(|t| {
                let now = facts.now();
                t <= now && t >= now.saturating_sub(span.micros())
            }),
        }
    }

    fn text_of(&self, value: &Value<'_>) -> Option<String> {
        value.as_text().map(|t| fold(&t, self.case_sensitive).into_owned())
    }

    fn equals(&self, value: &Value<'_>, operand: &Scalar) -> bool {
        match operand {
            Scalar::Number(n) => value.as_number() == Some(*n),
            Scalar::Bool(b) => value.as_bool() == Some(*b),
            Scalar::Text { text, timestamp } => match (value, timestamp) {
                (Value::Timestamp(t), Some(operand)) => t == operand,
                (Value::Timestamp(_), None) => false,
                _ => value.as_text().is_some_and(|t| folded_eq(&t, self.case_sensitive, text)),
            },
        }
    }
}

/// Both sides as numbers or both as timestamps, as the bound asks.
fn compare(value: &Value<'_>, bound: Ordered) -> Option<(f64, f64)> {
    match bound {
        Ordered::Number(b) => value.as_number().map(|v| (v, b)),
        Ordered::Timestamp(b) => value.as_timestamp().map(|v| (v as f64, b as f64)),
    }
}
