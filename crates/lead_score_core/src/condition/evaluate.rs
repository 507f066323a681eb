//! Evaluating a compiled condition against a [`Facts`] (total: no input makes it fail),
//! and when the passing of time alone can change its answer.

use super::{Comparison, Condition, Facts, HistoryCondition, Order, Ordered, Scalar, Test};
use crate::span::Span;
use crate::value::{fold, folded_eq, Micros, Value};

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

impl Condition {
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
