//! Conditions: compiled once from JSON (where every mistake is reported with its JSON
//! path), then evaluated any number of times without allocating or failing.
//!
//! ```json
//! {"field": "country", "op": "in", "value": ["US", "UK"]}
//! {"all": [...]}   {"any": [...]}   {"not": {...}}
//! {"no_event": "email_open", "within": "60 days"}
//! {"event_count": "page_view", "within": "30 days", "op": "lt", "value": 1}
//! ```
//!
//! This file holds what a condition is and what it reads; `condition/compile.rs`
//! compiles one from JSON and `condition/evaluate.rs` evaluates it.

use regex::Regex;

use crate::span::Span;
use crate::value::{Micros, Value};

mod compile;
mod evaluate;

pub use compile::{compile_event_types, compile_positive_span};

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

/// A `no_event` / `event_count` condition: the number of events of these types in the
/// window, compared with a whole number.
#[derive(Clone, Copy, Debug)]
pub struct HistoryCondition<'a> {
    pub event_types: &'a [String],
    pub within: Option<&'a Span>,
    pub op: Order,
    pub value: u64,
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

/// The most parts a field name may have (`props.a.b` has three): documents are read
/// to a depth just beyond it, whatever their own depth.
pub const MAX_FIELD_PARTS: usize = 64;

impl Condition {
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

    /// Whether the condition looks at event history (`no_event`, `event_count`).
    pub fn uses_history(&self) -> bool {
        !self.history_conditions().is_empty()
    }
}
