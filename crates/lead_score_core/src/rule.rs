//! Rules: the JSON a marketer writes, compiled into a checked, ready-to-run form.
//!
//! ```json
//! {"kind": "fit", "when": {...}, "points": 1}
//! {"kind": "event", "event": "page_view", "when": {...}, "points": 3, "count": "every",
//!  "half_life": "14 days", "within": "90 days", "dimension": "product:crm", "max_points": 20}
//! {"kind": "disqualifier", "when": {...}}
//! ```

use serde_json::{Map, Value as Json};

use crate::condition::{
    compile_event_types, compile_positive_span, Condition, Facts, Field, Scope,
};
use crate::decay::Cap;
use crate::error::{describe, reject_unknown_keys, JsonPath, RuleError};
use crate::span::Span;

#[derive(Debug)]
pub enum Rule {
    /// Points while the condition holds on the contact (and its account). Never decays.
    Fit {
        when: Condition,
        points: f64,
    },
    Event(EventRule),
    /// Marks the contact disqualified while the condition holds.
    Disqualifier {
        when: Condition,
    },
}

#[derive(Debug)]
pub struct EventRule {
    pub event_types: Vec<String>,
    pub when: Option<Condition>,
    pub points: f64,
    pub count: CountLimit,
    pub half_life: HalfLifeChoice,
    pub within: Option<Span>,
    pub dimension: Option<String>,
    /// `max_points` / `min_points`: the limits of its contribution at any instant.
    pub cap: Option<Cap>,
}

/// How many matching events of one contact count: the earliest ones by event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountLimit {
    Every,
    AtMost(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub enum HalfLifeChoice {
    /// The profile's `half_life` setting.
    ProfileDefault,
    /// `"half_life": null`: the points never decay.
    Never,
    Own(Span),
}

const KINDS: &str = "\"fit\", \"event\" or \"disqualifier\"";

impl Rule {
    pub fn compile(json: &Json) -> Result<Rule, RuleError> {
        let root = JsonPath::root();
        let Json::Object(object) = json else {
            return Err(root.error(format!("a rule must be a JSON object, got {}", describe(json))));
        };
        let kind = match object.get("kind") {
            Some(Json::String(kind)) => kind.as_str(),
            Some(other) => {
                return Err(root
                    .key("kind")
                    .error(format!("expected {KINDS}, got {}", describe(other))))
            }
            None => return Err(root.error(format!("missing key \"kind\" ({KINDS})"))),
        };
        match kind {
            "fit" => {
                reject_unknown_keys(
                    object,
                    &["kind", "when", "points", "description"],
                    &root,
                    "a fit rule",
                )?;
                check_description(object, &root)?;
                let when = required_condition(object, &root, Scope::Contact, "fit")?;
                if when.uses_history() {
                    return Err(root.key("when").error(
                        "fit rules describe who the contact is; \"no_event\" and \"event_count\" belong in disqualifier rules",
                    ));
                }
                Ok(Rule::Fit { when, points: points(object, &root)? })
            }
            "event" => compile_event_rule(object, &root).map(Rule::Event),
            "disqualifier" => {
                reject_unknown_keys(
                    object,
                    &["kind", "when", "description"],
                    &root,
                    "a disqualifier rule",
                )?;
                check_description(object, &root)?;
                Ok(Rule::Disqualifier {
                    when: required_condition(object, &root, Scope::Contact, "disqualifier")?,
                })
            }
            other => Err(root
                .key("kind")
                .error(format!("unknown rule kind \"{other}\"; expected {KINDS}"))),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Rule::Fit { .. } => "fit",
            Rule::Event(_) => "event",
            Rule::Disqualifier { .. } => "disqualifier",
        }
    }

    pub fn condition(&self) -> Option<&Condition> {
        match self {
            Rule::Fit { when, .. } | Rule::Disqualifier { when } => Some(when),
            Rule::Event(rule) => rule.when.as_ref(),
        }
    }

    /// Every field the rule reads, for checking them against the attached tables.
    pub fn fields(&self) -> Vec<&Field> {
        self.condition().map(Condition::fields).unwrap_or_default()
    }

    /// Whether the rule's condition holds. For event rules `event_type` must also be
    /// one of the rule's types. Total: never fails, whatever the facts hold.
    pub fn matches(&self, facts: &dyn Facts, event_type: Option<&str>) -> bool {
        match self {
            Rule::Fit { when, .. } | Rule::Disqualifier { when } => when.holds(facts),
            Rule::Event(rule) => event_type.is_some_and(|t| rule.matches(facts, t)),
        }
    }
}

impl EventRule {
    /// Whether an event of `event_type` with these facts matches the rule (type and
    /// condition; windows and count limits are the engine's business).
    pub fn matches(&self, facts: &dyn Facts, event_type: &str) -> bool {
        self.event_types.iter().any(|t| t == event_type)
            && self.when.as_ref().is_none_or(|c| c.holds(facts))
    }
}

fn check_description(object: &Map<String, Json>, root: &JsonPath) -> Result<(), RuleError> {
    match object.get("description") {
        None | Some(Json::String(_)) => Ok(()),
        Some(other) => {
            Err(root.key("description").error(format!("expected text, got {}", describe(other))))
        }
    }
}

fn required_condition(
    object: &Map<String, Json>,
    root: &JsonPath,
    scope: Scope,
    kind: &str,
) -> Result<Condition, RuleError> {
    match object.get("when") {
        Some(json) => Condition::compile(json, &root.key("when"), scope),
        None => Err(root.error(format!("missing key \"when\" (a {kind} rule needs a condition)"))),
    }
}

fn points(object: &Map<String, Json>, root: &JsonPath) -> Result<f64, RuleError> {
    match object.get("points") {
        Some(Json::Number(n)) => match n.as_f64() {
            Some(p) if p.is_finite() => Ok(p),
            _ => Err(root.key("points").error(format!("points must be a finite number, got {n}"))),
        },
        Some(other) => Err(root
            .key("points")
            .error(format!("points must be a number, got {}", describe(other)))),
        None => Err(root.error("missing key \"points\"")),
    }
}

fn compile_event_rule(object: &Map<String, Json>, root: &JsonPath) -> Result<EventRule, RuleError> {
    reject_unknown_keys(
        object,
        &[
            "kind",
            "event",
            "when",
            "points",
            "count",
            "half_life",
            "within",
            "dimension",
            "max_points",
            "min_points",
            "description",
        ],
        root,
        "an event rule",
    )?;
    check_description(object, root)?;
    let event_types = match object.get("event") {
        Some(json) => compile_event_types(json, &root.key("event"))?,
        None => {
            return Err(
                root.error("missing key \"event\" (an event type or an array of event types)")
            )
        }
    };
    let when = object
        .get("when")
        .map(|w| Condition::compile(w, &root.key("when"), Scope::Event))
        .transpose()?;
    let count = match object.get("count") {
        None => CountLimit::Every,
        Some(Json::String(s)) if s == "every" => CountLimit::Every,
        Some(Json::String(s)) if s == "once" => CountLimit::AtMost(1),
        Some(Json::Object(limit)) if limit.len() == 1 && limit.contains_key("max") => {
            match &limit["max"] {
                Json::Number(n)
                    if n.as_u64().is_some_and(|m| (1..=u64::from(u32::MAX)).contains(&m)) =>
                {
                    CountLimit::AtMost(n.as_u64().unwrap_or(1) as u32)
                }
                other => {
                    return Err(root
                        .key("count")
                        .key("max")
                        .error(format!("expected a whole number >= 1, got {}", describe(other))))
                }
            }
        }
        Some(other) => {
            return Err(root.key("count").error(format!(
                "expected \"every\", \"once\" or {{\"max\": N}}, got {}",
                describe(other)
            )))
        }
    };
    let half_life = match object.get("half_life") {
        None => HalfLifeChoice::ProfileDefault,
        Some(Json::Null) => HalfLifeChoice::Never,
        Some(json) => {
            HalfLifeChoice::Own(compile_positive_span(json, &root.key("half_life"), "half-life")?)
        }
    };
    let within = object
        .get("within")
        .map(|w| compile_positive_span(w, &root.key("within"), "\"within\""))
        .transpose()?;
    let dimension = match object.get("dimension") {
        None => None,
        Some(Json::String(d)) if !d.trim().is_empty() && d.len() <= 63 => Some(d.clone()),
        Some(other) => {
            return Err(root.key("dimension").error(format!(
                "expected a label of 1 to 63 bytes such as \"product:crm\", got {}",
                describe(other)
            )))
        }
    };
    let points = points(object, root)?;
    let cap = compile_points_limit(object, root, points)?;
    Ok(EventRule { event_types, when, points, count, half_life, within, dimension, cap })
}

/// An event rule's limit on its contribution: `max_points` for a rule of positive
/// points, `min_points` for one of negative points (see `decay/capped.rs`).
fn compile_points_limit(
    object: &Map<String, Json>,
    root: &JsonPath,
    points: f64,
) -> Result<Option<Cap>, RuleError> {
    let limit = |key: &str| -> Result<Option<f64>, RuleError> {
        match object.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Number(n)) => match n.as_f64() {
                Some(limit) if limit.is_finite() => Ok(Some(limit)),
                _ => Err(root.key(key).error(format!("expected a finite number, got {n}"))),
            },
            Some(other) => {
                Err(root.key(key).error(format!("expected a number, got {}", describe(other))))
            }
        }
    };
    match (limit("max_points")?, limit("min_points")?) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(root.error(
            "a rule has \"max_points\" (positive points) or \"min_points\" (negative points), not both",
        )),
        (Some(max), None) if points > 0.0 && max > 0.0 => Ok(Some(Cap::at_most(max))),
        (Some(max), None) if points > 0.0 => {
            Err(root.key("max_points").error(format!("must be positive, got {max}")))
        }
        (Some(_), None) => Err(root.key("max_points").error(
            "caps a rule of positive points; a rule of negative points takes \"min_points\"",
        )),
        (None, Some(min)) if points < 0.0 && min < 0.0 => Ok(Some(Cap::at_least(min))),
        (None, Some(min)) if points < 0.0 => {
            Err(root.key("min_points").error(format!("must be negative, got {min}")))
        }
        (None, Some(_)) => Err(root.key("min_points").error(
            "limits a rule of negative points; a rule of positive points takes \"max_points\"",
        )),
    }
}
