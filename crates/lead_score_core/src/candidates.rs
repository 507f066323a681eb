//! Training's candidate rules: what `train` may learn, built from values the glue reads
//! from the CRM's own tables (frequent values, quartiles, medians, event types). Each is
//! a rule with one point; the fit gives it its points, or leaves it out.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use crate::rule::Rule;

/// Half-lives event candidates are tried with besides the profile's own.
const OTHER_HALF_LIVES: [(&str, f64); 3] = [("7 days", 7.0), ("30 days", 30.0), ("90 days", 90.0)];

/// The half-lives event candidates are tried with: the profile's own (as rules write
/// it, and its length in seconds), then those of `OTHER_HALF_LIVES` it does not equal;
/// the one that predicts the validation data best is kept. Each as rules write it, with
/// its length in days.
pub fn half_lives(own: &str, own_seconds: f64) -> Vec<(String, f64)> {
    let mut found = vec![(own.to_owned(), own_seconds / 86_400.0)];
    for (text, days) in OTHER_HALF_LIVES {
        if found.iter().all(|(_, d)| (d - days).abs() > 1e-9) {
            found.push((text.to_owned(), days));
        }
    }
    found
}

/// A value becomes a candidate when at least this share of contacts has it (and at
/// most one minus it: a value everyone has tells nothing).
pub const MIN_SHARE: f64 = 0.02;

/// Event properties become candidates when at least this share of a type's events have
/// the value (and at most one minus it).
pub const PROPS_MIN_SHARE: f64 = 0.05;

/// Whether a share of the contacts is worth a candidate (see `MIN_SHARE`).
pub fn frequent(share: f64) -> bool {
    (MIN_SHARE..=1.0 - MIN_SHARE).contains(&share)
}

/// Column names that hold who a contact is, not what it is like: a rule on them would
/// score people by their names (`learned: last_name = Wilson`).
const IDENTIFYING_NAMES: [&str; 11] = [
    "name",
    "first_name",
    "last_name",
    "firstname",
    "lastname",
    "surname",
    "full_name",
    "middle_name",
    "given_name",
    "family_name",
    "id",
];

/// The same as the last word of a snake_case name (`work_email`, `contact_phone`):
/// words that say how to reach someone. (`plan_name` may well be a category: only
/// nearly unique values make it an identifier, see `IDENTIFIER_DISTINCT_SHARE`.)
const IDENTIFYING_WORDS: [&str; 10] =
    ["email", "mail", "phone", "mobile", "fax", "address", "street", "url", "website", "uuid"];

/// From this share of distinct values among those present, a text column is taken for
/// an identifier (an email, a name, a code): its values name contacts, not kinds.
pub const IDENTIFIER_DISTINCT_SHARE: f64 = 0.5;

/// Whether a column (`name`, holding `distinct` different values in `present` rows)
/// identifies contacts rather than describing them, so that `train` leaves it out
/// unless asked: by its name (see `IDENTIFYING_NAMES`, and names ending in `_id`, other
/// rows' keys), or, for a text column (`text`), by nearly every value being different.
pub fn identifying(name: &str, text: bool, distinct: i64, present: i64) -> bool {
    let last_word = name.rsplit('_').next().unwrap_or(name);
    let by_name = IDENTIFYING_NAMES.contains(&name)
        || IDENTIFYING_WORDS.contains(&last_word)
        || name.ends_with("_id");
    by_name
        || (text && present > 0 && distinct as f64 >= IDENTIFIER_DISTINCT_SHARE * present as f64)
}

/// A candidate rule: its name in the draft, its body with one point, and for event
/// rules which of the half-lives tried (see `half_lives`) it decays with.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub rule: Json,
    pub half_life: Option<usize>,
    /// For a rule whose name shows a value read from the data (a column's or a
    /// property's value, a quartile, a median): its name up to that value, which
    /// `number_values` names it by instead.
    pub unvalued: Option<String>,
}

impl Candidate {
    fn fit(name: String, when: Json, unvalued: Option<String>) -> Candidate {
        Candidate {
            name,
            rule: json!({"kind": "fit", "when": when, "points": 1}),
            half_life: None,
            unvalued,
        }
    }

    /// `field` is empty.
    pub fn is_empty(field: &str) -> Candidate {
        Candidate::fit(
            format!("learned: {field} is empty"),
            json!({"field": field, "op": "is_null"}),
            None,
        )
    }

    /// A text `field` equals `value`.
    pub fn equals(field: &str, value: &str) -> Candidate {
        let unvalued = format!("learned: {field} =");
        Candidate::fit(
            format!("{unvalued} {}", shown(value)),
            json!({"field": field, "op": "eq", "value": value}),
            Some(unvalued),
        )
    }

    /// A boolean `field` is true. (Its name shows no value of the data.)
    pub fn is_true(field: &str) -> Candidate {
        Candidate::fit(
            format!("learned: {field} = true"),
            json!({"field": field, "op": "eq", "value": true}),
            None,
        )
    }

    /// A time `field` lies within `days` days before the contact's instant; none for
    /// an age that is not finite or a million days or more.
    pub fn within_days(field: &str, days: f64) -> Option<Candidate> {
        if !(days.is_finite() && days < 1e6) {
            return None;
        }
        let span = format!("{days} days");
        Some(Candidate::fit(
            format!("learned: {field} within {span}"),
            json!({"field": field, "op": "within", "value": span}),
            Some(format!("learned: {field} within")),
        ))
    }

    /// A number `field` is at least `threshold`; none for a threshold that is not
    /// finite.
    pub fn at_least(field: &str, threshold: f64) -> Option<Candidate> {
        if !threshold.is_finite() {
            return None;
        }
        Some(Candidate::fit(
            format!("learned: {field} >= {threshold}"),
            json!({"field": field, "op": "gte", "value": threshold}),
            Some(format!("learned: {field} >=")),
        ))
    }
}

/// An event candidate before its half-life: its name, the name up to the value it
/// shows (see `Candidate::unvalued`), and its rule with one point.
pub struct EventRule {
    pub name: String,
    pub unvalued: Option<String>,
    pub rule: Json,
}

impl EventRule {
    /// Every event of `event_type`.
    pub fn of_type(event_type: &str) -> EventRule {
        EventRule {
            name: format!("learned: {}", shown(event_type)),
            unvalued: None,
            rule: json!({"kind": "event", "event": event_type, "points": 1}),
        }
    }

    /// The events of `event_type` whose top-level property `key` is a text `value` (when
    /// `share` of the type's events have it, between `PROPS_MIN_SHARE` and one minus it)
    /// or a number at or over its `median` (when at least `PROPS_MIN_SHARE` of them have
    /// a number there). `kind` is the value's jsonb type; `value` is given for strings,
    /// `median` (as text) for numbers. None for a key a rule cannot address, another
    /// kind, a share out of range or a median that is not a finite number.
    pub fn of_property(
        event_type: &str,
        key: &str,
        kind: &str,
        value: Option<&str>,
        median: Option<&str>,
        share: f64,
    ) -> Option<EventRule> {
        if !plain_key(key) {
            return None;
        }
        let field = format!("props.{key}");
        let (name, unvalued, when) = match (kind, value, median) {
            ("string", Some(value), _)
                if (PROPS_MIN_SHARE..=1.0 - PROPS_MIN_SHARE).contains(&share) =>
            {
                let unvalued = format!("learned: {} with {key} =", shown(event_type));
                (
                    format!("{unvalued} {}", shown(value)),
                    unvalued,
                    json!({"field": field, "op": "eq", "value": value}),
                )
            }
            ("number", _, Some(median)) if share >= PROPS_MIN_SHARE => {
                let median = median.parse::<f64>().ok().filter(|m| m.is_finite())?;
                let unvalued = format!("learned: {} with {key} >=", shown(event_type));
                (
                    format!("{unvalued} {median}"),
                    unvalued,
                    json!({"field": field, "op": "gte", "value": median}),
                )
            }
            _ => return None,
        };
        Some(EventRule {
            name,
            unvalued: Some(unvalued),
            rule: json!({"kind": "event", "event": event_type, "when": when, "points": 1}),
        })
    }

    /// One candidate per half-life tried (see `half_lives`).
    pub fn push_candidates(self, half_lives: &[(String, f64)], found: &mut Vec<Candidate>) {
        for (index, (half_life, _)) in half_lives.iter().enumerate() {
            let mut rule = self.rule.clone();
            rule["half_life"] = json!(half_life);
            found.push(Candidate {
                name: self.name.clone(),
                rule,
                half_life: Some(index),
                unvalued: self.unvalued.clone(),
            });
        }
    }
}

/// Name each candidate that shows a value from the data by what it tests and a number
/// instead (`learned: role = #1`), for `train`'s `"value_names": false`: the values are
/// numbered per name in the order they were found (the most frequent value first, the
/// lowest quartile first), each value once, whatever its half-lives.
pub fn number_values(candidates: &mut [Candidate]) {
    let mut numbers: HashMap<(String, String), usize> = HashMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for candidate in candidates.iter_mut() {
        let Some(prefix) = &candidate.unvalued else { continue };
        let number =
            *numbers.entry((prefix.clone(), candidate.name.clone())).or_insert_with(|| {
                let count = counts.entry(prefix.clone()).or_default();
                *count += 1;
                *count
            });
        candidate.name = format!("{prefix} #{number}");
    }
}

/// Only the candidates the rule language accepts, with names of at most 200 bytes.
pub fn keep_valid(found: &mut Vec<Candidate>) {
    found.retain(|c| Rule::compile(&c.rule).is_ok() && c.name.len() <= 200);
}

/// Names of columns a rule can read as a field: plain identifiers.
pub fn plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Keys of event properties a rule can address as `props.<key>`.
pub fn plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value as it shows in a rule's name, cut to 60 characters.
pub fn shown(value: &str) -> String {
    if value.chars().count() <= 60 {
        value.to_owned()
    } else {
        format!("{}…", value.chars().take(59).collect::<String>())
    }
}
