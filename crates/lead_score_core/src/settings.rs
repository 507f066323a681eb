//! Profile settings: `{"half_life": "30 days", "pql_threshold": 50, "pql_tag": "PQL",
//! "thresholds": {"MQL": 20}, "score_100": {"curve": "saturating", "scale": 25},
//! "likelihood": {"intercept": -3.1, "points_per_doubling": 10},
//! "routing": {"tag": "PQL", "column": "owner_id", "owners": [7, 9], "strategy": "round_robin"},
//! "grades": {"A": 30, "B": 20, "C": 10, "D": 0}, "engagement_bands": [60, 30, 10]}`.
//! Unknown keys are errors, so a typo never silently falls back to a default.

use serde_json::Value as Json;

use crate::accounts::AccountSettings;
use crate::caps::Caps;
use crate::condition::{compile_positive_span, Condition};
use crate::error::{describe, reject_unknown_keys, JsonPath, RuleError};
use crate::grading::{Grading, MAX_BANDS};
use crate::qualification::{Curve, ScoreScale};
use crate::span::{parse_span, Span};
use crate::stages::{compile_stages, Stage};

pub const DEFAULT_HALF_LIFE: &str = "30 days";
pub const DEFAULT_PQL_TAG: &str = "PQL";

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// How fast engagement points fade, unless a rule says otherwise.
    pub half_life: Span,
    /// The score at which a contact gets the PQL tag; `None`: never tagged.
    pub pql_threshold: Option<f64>,
    pub pql_tag: String,
    /// Further named thresholds, each with its own sticky tag (`{"MQL": 20}`).
    pub thresholds: Vec<(String, f64)>,
    /// How `score_100` and `stars` are read off the score.
    pub score_100: ScoreScale,
    /// The link from score to the probability of converting, when the profile has one
    /// (learned by `train`, or set by hand).
    pub likelihood: Option<Likelihood>,
    /// Lifecycle stages, in order (see `stages`); their conditions are compiled into
    /// the profile (`CompiledProfile::stage_conditions`).
    pub stages: Vec<Stage>,
    /// Whom a contact that gets a tag is given to, when the profile routes (opt-in).
    pub routing: Option<Routing>,
    /// Fit grades and engagement bands, when the profile has grades.
    pub grading: Option<Grading>,
    /// `dimension_caps` and `max_engagement` (rules carry their own caps).
    pub caps: Caps,
    /// `account_score`, `buying_roles` and `account_thresholds` (see `accounts`).
    pub accounts: AccountSettings,
}

/// Lead routing: a contact that gets `tag` while its `column` of the contacts table is
/// NULL is given the next of `owners`, in turn.
#[derive(Clone, Debug, PartialEq)]
pub struct Routing {
    pub tag: String,
    /// A column of the contacts table, by name (checked against the table at publish
    /// and attach).
    pub column: String,
    /// The owners' values as text, as the column's type reads them (a JSON number as
    /// JSON prints it); at least one, no two alike.
    pub owners: Vec<String>,
    pub strategy: Strategy,
}

/// How the next owner is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// Each in turn, in the order given.
    RoundRobin,
}

pub const STRATEGIES: &[&str] = &["round_robin"];

impl Routing {
    fn compile(json: &Json, path: &JsonPath, settings: &Settings) -> Result<Routing, RuleError> {
        let Json::Object(object) = json else {
            return Err(path.error(format!(
                "expected an object such as {{\"tag\": \"PQL\", \"column\": \"owner_id\", \"owners\": [7, 9]}}, got {}",
                describe(json)
            )));
        };
        reject_unknown_keys(object, &["tag", "column", "owners", "strategy"], path, "routing")?;
        let given: Vec<&str> = settings.tags().map(|(tag, _)| tag).collect();
        let tag = match object.get("tag") {
            None => settings.pql_tag.clone(),
            Some(Json::String(tag)) if given.contains(&tag.as_str()) => tag.clone(),
            Some(other) => {
                let allowed = if given.is_empty() {
                    "none: set pql_threshold or thresholds first".to_owned()
                } else {
                    given.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ")
                };
                return Err(path.key("tag").error(format!(
                    "expected a tag the profile gives ({allowed}), got {}",
                    describe(other)
                )));
            }
        };
        if object.get("tag").is_none() && !given.contains(&tag.as_str()) {
            return Err(path.key("tag").error(format!(
                "routing needs a tag the profile gives: \"{tag}\" has no pql_threshold"
            )));
        }
        let column = match object.get("column") {
            Some(Json::String(column)) if !column.is_empty() && column.len() <= 63 => {
                column.clone()
            }
            None => return Err(path.error("routing needs \"column\", the contacts' owner column")),
            Some(other) => {
                return Err(path.key("column").error(format!(
                    "expected a column name of 1 to 63 bytes such as \"owner_id\", got {}",
                    describe(other)
                )))
            }
        };
        let owners = match object.get("owners") {
            Some(Json::Array(owners)) if !owners.is_empty() => {
                let mut texts: Vec<String> = Vec::new();
                for (i, owner) in owners.iter().enumerate() {
                    let text = match owner {
                        Json::String(text) => text.clone(),
                        Json::Number(n) => n.to_string(),
                        other => {
                            return Err(path.key("owners").index(i).error(format!(
                                "expected a string or a number, got {}",
                                describe(other)
                            )))
                        }
                    };
                    if let Some(first) = texts.iter().position(|t| *t == text) {
                        return Err(path.key("owners").index(i).error(format!(
                            "{} is given twice (also at [{first}])",
                            describe(owner)
                        )));
                    }
                    texts.push(text);
                }
                texts
            }
            None => {
                return Err(path.error("routing needs \"owners\", a list of the column's values"))
            }
            Some(other) => {
                return Err(path.key("owners").error(format!(
                    "expected a non-empty array of strings or numbers such as [7, 9], got {}",
                    match other {
                        Json::Array(_) => "an empty array".to_owned(),
                        other => describe(other),
                    }
                )))
            }
        };
        let strategy = match object.get("strategy") {
            None => Strategy::RoundRobin,
            Some(Json::String(s)) if s == "round_robin" => Strategy::RoundRobin,
            Some(other) => {
                return Err(path.key("strategy").error(format!(
                    "expected one of {}, got {}",
                    STRATEGIES.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "),
                    describe(other)
                )))
            }
        };
        Ok(Routing { tag, column, owners, strategy })
    }

    /// The owner of turn `turn` (turns count up from 0 for ever; owners lists may change
    /// between them, so the turn is taken modulo the current list).
    pub fn owner_of_turn(&self, turn: i64) -> &str {
        &self.owners[turn.rem_euclid(self.owners.len() as i64) as usize]
    }
}

/// The probability whose log-odds are `log_odds`. Written so that neither tail
/// overflows: exp of a large positive number never appears in a denominator that matters.
pub fn logistic(log_odds: f64) -> f64 {
    if log_odds >= 0.0 {
        1.0 / (1.0 + (-log_odds).exp())
    } else {
        let odds = log_odds.exp();
        odds / (1.0 + odds)
    }
}

/// A score's probability of converting: its log-odds are `intercept` at a score of 0,
/// and every `points_per_doubling` points double the odds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Likelihood {
    pub intercept: f64,
    pub points_per_doubling: f64,
}

impl Likelihood {
    /// The probability (0 to 1) of converting at `score`.
    pub fn probability(self, score: f64) -> f64 {
        logistic(self.intercept + score * std::f64::consts::LN_2 / self.points_per_doubling)
    }

    fn compile(json: &Json, path: &JsonPath) -> Result<Likelihood, RuleError> {
        let Json::Object(object) = json else {
            return Err(path.error(format!(
                "expected an object such as {{\"intercept\": -3, \"points_per_doubling\": 10}}, got {}",
                describe(json)
            )));
        };
        reject_unknown_keys(object, &["intercept", "points_per_doubling"], path, "likelihood")?;
        let field = |key: &str| match object.get(key) {
            Some(value) => finite_number(value, &path.key(key)),
            None => Err(path.error(format!("likelihood needs \"{key}\""))),
        };
        let intercept = field("intercept")?;
        let points_per_doubling = field("points_per_doubling")?;
        if points_per_doubling <= 0.0 {
            return Err(path
                .key("points_per_doubling")
                .error(format!("must be positive, got {points_per_doubling}")));
        }
        Ok(Likelihood { intercept, points_per_doubling })
    }
}

const KEYS: &[&str] = &[
    "half_life",
    "pql_threshold",
    "pql_tag",
    "thresholds",
    "score_100",
    "likelihood",
    "stages",
    "routing",
    "grades",
    "engagement_bands",
    "dimension_caps",
    "max_engagement",
    "account_score",
    "buying_roles",
    "account_thresholds",
];

impl Settings {
    pub fn compile(json: &Json) -> Result<Settings, RuleError> {
        Settings::compile_with_conditions(json).map(|(settings, _)| settings)
    }

    /// The settings, and the conditions of their stages (one per stage, in order).
    pub fn compile_with_conditions(
        json: &Json,
    ) -> Result<(Settings, Vec<Option<Condition>>), RuleError> {
        let root = JsonPath::root();
        let Json::Object(object) = json else {
            return Err(
                root.error(format!("settings must be a JSON object, got {}", describe(json)))
            );
        };
        reject_unknown_keys(object, KEYS, &root, "settings")?;
        let half_life = match object.get("half_life") {
            None => parse_span(DEFAULT_HALF_LIFE).map_err(|e| root.error(e))?,
            Some(json) => compile_positive_span(json, &root.key("half_life"), "half-life")?,
        };
        let pql_threshold = match object.get("pql_threshold") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => {
                Some(n.as_f64().filter(|t| t.is_finite()).ok_or_else(|| {
                    root.key("pql_threshold").error(format!("expected a finite number, got {n}"))
                })?)
            }
            Some(other) => {
                return Err(root
                    .key("pql_threshold")
                    .error(format!("expected a number, got {}", describe(other))))
            }
        };
        let pql_tag = match object.get("pql_tag") {
            None => DEFAULT_PQL_TAG.to_owned(),
            Some(Json::String(tag)) if !tag.trim().is_empty() && tag.len() <= 63 => tag.clone(),
            Some(other) => {
                return Err(root.key("pql_tag").error(format!(
                    "expected a tag name of 1 to 63 bytes such as \"PQL\", got {}",
                    describe(other)
                )))
            }
        };
        let thresholds = match object.get("thresholds") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(named)) => {
                let path = root.key("thresholds");
                let mut thresholds = Vec::new();
                for (tag, value) in named {
                    if tag.trim().is_empty() || tag.len() > 63 {
                        return Err(path.error(format!(
                            "tag names are 1 to 63 bytes, got {}",
                            describe(&Json::String(tag.clone()))
                        )));
                    }
                    if *tag == pql_tag {
                        return Err(path.key(tag).error(format!(
                            "\"{tag}\" is already the pql_tag; set its threshold with pql_threshold"
                        )));
                    }
                    thresholds.push((tag.clone(), finite_number(value, &path.key(tag))?));
                }
                thresholds
            }
            Some(other) => {
                return Err(root.key("thresholds").error(format!(
                    "expected an object of tag names and scores such as {{\"MQL\": 20}}, got {}",
                    describe(other)
                )))
            }
        };
        let score_100 = compile_score_100(object.get("score_100"), &root, pql_threshold)?;
        let likelihood = match object.get("likelihood") {
            None | Some(Json::Null) => None,
            Some(json) => Some(Likelihood::compile(json, &root.key("likelihood"))?),
        };
        let grading = compile_grading(object.get("grades"), object.get("engagement_bands"), &root)?;
        let caps =
            Caps::compile(object.get("dimension_caps"), object.get("max_engagement"), &root)?;
        let (stages, conditions) = compile_stages(object.get("stages"), &root)?;
        let accounts = AccountSettings::compile(
            object.get("account_score"),
            object.get("buying_roles"),
            object.get("account_thresholds"),
            &root,
        )?;
        let mut settings = Settings {
            half_life,
            pql_threshold,
            pql_tag,
            thresholds,
            score_100,
            likelihood,
            stages,
            routing: None,
            grading,
            caps,
            accounts,
        };
        settings.routing = match object.get("routing") {
            None | Some(Json::Null) => None,
            Some(json) => Some(Routing::compile(json, &root.key("routing"), &settings)?),
        };
        Ok((settings, conditions))
    }

    /// Every sticky tag with its threshold: the PQL tag first, then the others by name.
    /// Borrowed, not collected: the triggers ask for each written contact.
    pub fn tags(&self) -> impl Iterator<Item = (&str, f64)> {
        let pql = self.pql_threshold.map(|t| (self.pql_tag.as_str(), t));
        pql.into_iter().chain(self.thresholds.iter().map(|(tag, t)| (tag.as_str(), *t)))
    }
}

fn finite_number(json: &Json, path: &JsonPath) -> Result<f64, RuleError> {
    match json {
        Json::Number(n) => n
            .as_f64()
            .filter(|t| t.is_finite())
            .ok_or_else(|| path.error(format!("expected a finite number, got {n}"))),
        other => Err(path.error(format!("expected a number, got {}", describe(other)))),
    }
}

/// `"grades": {"A": 30, "B": 20}` (fit minimums) and `"engagement_bands": [60, 30, 10]`
/// (engagement minimums, best first). The grades are kept best first whatever the
/// JSON's order; bands need grades (a band alone makes no priority).
fn compile_grading(
    grades: Option<&Json>,
    bands: Option<&Json>,
    root: &JsonPath,
) -> Result<Option<Grading>, RuleError> {
    let path = root.key("grades");
    let grades = match grades {
        None | Some(Json::Null) => None,
        Some(Json::Object(named)) if !named.is_empty() => {
            let mut grades = Vec::new();
            for (name, value) in named {
                if name.trim().is_empty() || name.len() > 63 {
                    return Err(path.error(format!(
                        "grade names are 1 to 63 bytes, got {}",
                        describe(&Json::String(name.clone()))
                    )));
                }
                grades.push((name.clone(), finite_number(value, &path.key(name))?));
            }
            // Stable: of two grades with one minimum, the second by name is named.
            grades.sort_by(|a: &(String, f64), b| b.1.total_cmp(&a.1));
            if let Some(pair) = grades.windows(2).find(|pair| pair[0].1 == pair[1].1) {
                let ((first, minimum), (second, _)) = (&pair[0], &pair[1]);
                return Err(path.key(second).error(format!(
                    "grade \"{second}\" has the same fit minimum ({minimum}) as grade \"{first}\""
                )));
            }
            Some(grades)
        }
        Some(other) => {
            return Err(path.error(format!(
                "expected an object of at least one grade name and its fit minimum such as \
                 {{\"A\": 30, \"B\": 20}}, got {}",
                match other {
                    Json::Object(_) => "an empty object".to_owned(),
                    other => describe(other),
                }
            )))
        }
    };
    let path = root.key("engagement_bands");
    let bands = match bands {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(values)) if (1..=MAX_BANDS).contains(&values.len()) => {
            let mut bands: Vec<f64> = Vec::new();
            for (i, value) in values.iter().enumerate() {
                let band = finite_number(value, &path.index(i))?;
                if let Some(before) = bands.last().filter(|before| band >= **before) {
                    return Err(path.index(i).error(format!(
                        "engagement bands go from the highest minimum down: {band} is not below {before}"
                    )));
                }
                bands.push(band);
            }
            bands
        }
        Some(other) => {
            return Err(path.error(format!(
                "expected an array of 1 to {MAX_BANDS} engagement minimums, highest first, \
                 such as [60, 30, 10], got {}",
                match other {
                    Json::Array(values) => format!("{} of them", values.len()),
                    other => describe(other),
                }
            )))
        }
    };
    match grades {
        Some(grades) => Ok(Some(Grading { grades, bands })),
        None if bands.is_empty() => Ok(None),
        None => {
            Err(path.error("engagement bands need \"grades\": a priority is a grade and a band"))
        }
    }
}

/// `{"curve": "saturating" | "linear", "scale": positive number}`. The default is the
/// saturating curve with half the PQL threshold as its scale (25 without a threshold),
/// so a contact at the threshold shows 75.
fn compile_score_100(
    json: Option<&Json>,
    root: &JsonPath,
    pql_threshold: Option<f64>,
) -> Result<ScoreScale, RuleError> {
    let default_scale = pql_threshold.filter(|t| *t > 0.0).map_or(25.0, |t| t / 2.0);
    let path = root.key("score_100");
    let object = match json {
        None | Some(Json::Null) => {
            return Ok(ScoreScale { curve: Curve::Saturating, scale: default_scale })
        }
        Some(Json::Object(object)) => object,
        Some(other) => {
            return Err(path.error(format!(
                "expected an object such as {{\"curve\": \"linear\", \"scale\": 100}}, got {}",
                describe(other)
            )))
        }
    };
    reject_unknown_keys(object, &["curve", "scale"], &path, "score_100")?;
    let curve = match object.get("curve") {
        None => Curve::Saturating,
        Some(Json::String(c)) if c == "saturating" => Curve::Saturating,
        Some(Json::String(c)) if c == "linear" => Curve::Linear,
        Some(other) => {
            return Err(path
                .key("curve")
                .error(format!("expected \"saturating\" or \"linear\", got {}", describe(other))))
        }
    };
    let scale = match object.get("scale") {
        None => match curve {
            Curve::Saturating => default_scale,
            Curve::Linear => 2.0 * default_scale,
        },
        Some(json) => {
            let scale = finite_number(json, &path.key("scale"))?;
            if scale <= 0.0 {
                return Err(path
                    .key("scale")
                    .error(format!("expected a positive number, got {scale}")));
            }
            scale
        }
    };
    Ok(ScoreScale { curve, scale })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_what_is_not_set() {
        let settings = Settings::compile(&json!({})).unwrap();
        assert_eq!(settings.half_life.seconds(), 30.0 * 86_400.0);
        assert_eq!(settings.pql_threshold, None);
        assert_eq!(settings.pql_tag, "PQL");
        let custom = Settings::compile(
            &json!({"half_life": "2 weeks", "pql_threshold": 50, "pql_tag": "Hot"}),
        )
        .unwrap();
        assert_eq!(custom.half_life.seconds(), 14.0 * 86_400.0);
        assert_eq!(custom.pql_threshold, Some(50.0));
        assert_eq!(custom.pql_tag, "Hot");
        assert_eq!(custom.score_100, ScoreScale { curve: Curve::Saturating, scale: 25.0 });
        let tiers =
            Settings::compile(&json!({"pql_threshold": 80, "thresholds": {"SQL": 50, "MQL": 20},
                                              "score_100": {"curve": "linear"}}))
            .unwrap();
        assert_eq!(
            tiers.tags().collect::<Vec<_>>(),
            vec![("PQL", 80.0), ("MQL", 20.0), ("SQL", 50.0)]
        );
        assert_eq!(tiers.score_100, ScoreScale { curve: Curve::Linear, scale: 80.0 });
    }

    #[test]
    fn the_likelihood_doubles_the_odds_every_points_per_doubling() {
        let settings =
            Settings::compile(&json!({"likelihood": {"intercept": -2, "points_per_doubling": 10}}))
                .unwrap();
        let likelihood = settings.likelihood.unwrap();
        let odds = |score: f64| {
            let p = likelihood.probability(score);
            p / (1.0 - p)
        };
        assert!((odds(0.0) - (-2.0f64).exp()).abs() < 1e-12);
        for score in [-40.0, -5.0, 0.0, 7.5, 30.0] {
            assert!((odds(score + 10.0) / odds(score) - 2.0).abs() < 1e-9, "{score}");
        }
        // Far tails stay in 0..1, never NaN.
        assert_eq!(likelihood.probability(1e6), 1.0);
        assert_eq!(likelihood.probability(-1e6), 0.0);
        assert_eq!(Settings::compile(&json!({})).unwrap().likelihood, None);
    }

    #[test]
    fn routing_takes_turns_in_the_order_given() {
        let settings = Settings::compile(&json!({"pql_threshold": 50, "thresholds": {"MQL": 20},
            "routing": {"tag": "MQL", "column": "owner_id", "owners": [7, "ann", 9.5]}}))
        .unwrap();
        let routing = settings.routing.unwrap();
        assert_eq!((routing.tag.as_str(), routing.column.as_str()), ("MQL", "owner_id"));
        assert_eq!(routing.owners, vec!["7", "ann", "9.5"]);
        assert_eq!(routing.strategy, Strategy::RoundRobin);
        let turns: Vec<&str> = (0..7).map(|turn| routing.owner_of_turn(turn)).collect();
        assert_eq!(turns, vec!["7", "ann", "9.5", "7", "ann", "9.5", "7"]);
        // The tag defaults to the pql_tag.
        let pql = Settings::compile(
            &json!({"pql_threshold": 50, "routing": {"column": "o", "owners": ["a"]}}),
        )
        .unwrap();
        assert_eq!(pql.routing.unwrap().tag, "PQL");
        assert_eq!(Settings::compile(&json!({})).unwrap().routing, None);
    }

    #[test]
    fn every_mistake_is_named_with_its_path() {
        let cases = [
            (json!([]), "$: settings must be a JSON object, got an array"),
            (json!({"halflife": "3 days"}), "$: unknown key \"halflife\" in settings; expected \"half_life\", \"pql_threshold\", \"pql_tag\", \"thresholds\", \"score_100\", \"likelihood\", \"stages\", \"routing\", \"grades\", \"engagement_bands\", \"dimension_caps\", \"max_engagement\", \"account_score\", \"buying_roles\", \"account_thresholds\""),
            (json!({"half_life": "0 days"}), "$.half_life: half-life must be positive, got \"0 days\""),
            (json!({"half_life": 30}), "$.half_life: half-life must be an interval such as \"30 days\", got 30"),
            (json!({"half_life": "soon"}), "$.half_life: invalid interval \"soon\": expected amounts with units such as \"14 days\", \"1 hour 30 minutes\" or ISO 8601 \"P14D\""),
            (json!({"pql_threshold": "50"}), "$.pql_threshold: expected a number, got \"50\""),
            (json!({"pql_tag": ""}), "$.pql_tag: expected a tag name of 1 to 63 bytes such as \"PQL\", got \"\""),
            (json!({"thresholds": [20]}), "$.thresholds: expected an object of tag names and scores such as {\"MQL\": 20}, got an array"),
            (json!({"thresholds": {"MQL": "20"}}), "$.thresholds.MQL: expected a number, got \"20\""),
            (json!({"thresholds": {"PQL": 20}}), "$.thresholds.PQL: \"PQL\" is already the pql_tag; set its threshold with pql_threshold"),
            (json!({"thresholds": {"": 20}}), "$.thresholds: tag names are 1 to 63 bytes, got \"\""),
            (json!({"score_100": {"curve": "log"}}), "$.score_100.curve: expected \"saturating\" or \"linear\", got \"log\""),
            (json!({"score_100": {"scale": 0}}), "$.score_100.scale: expected a positive number, got 0"),
            (json!({"score_100": {"cap": 10}}), "$.score_100: unknown key \"cap\" in score_100; expected \"curve\", \"scale\""),
            (json!({"likelihood": 3}), "$.likelihood: expected an object such as {\"intercept\": -3, \"points_per_doubling\": 10}, got 3"),
            (json!({"likelihood": {"intercept": -3}}), "$.likelihood: likelihood needs \"points_per_doubling\""),
            (json!({"likelihood": {"intercept": "x", "points_per_doubling": 10}}), "$.likelihood.intercept: expected a number, got \"x\""),
            (json!({"likelihood": {"intercept": -3, "points_per_doubling": 0}}), "$.likelihood.points_per_doubling: must be positive, got 0"),
            (json!({"likelihood": {"intercept": -3, "points_per_doubling": 10, "slope": 1}}), "$.likelihood: unknown key \"slope\" in likelihood; expected \"intercept\", \"points_per_doubling\""),
            (json!({"pql_threshold": 50, "routing": [1]}), "$.routing: expected an object such as {\"tag\": \"PQL\", \"column\": \"owner_id\", \"owners\": [7, 9]}, got an array"),
            (json!({"pql_threshold": 50, "routing": {"column": "o", "owners": [1], "queue": 1}}), "$.routing: unknown key \"queue\" in routing; expected \"tag\", \"column\", \"owners\", \"strategy\""),
            (json!({"pql_threshold": 50, "thresholds": {"MQL": 20}, "routing": {"tag": "SQL", "column": "o", "owners": [1]}}), "$.routing.tag: expected a tag the profile gives (\"PQL\", \"MQL\"), got \"SQL\""),
            (json!({"routing": {"column": "o", "owners": [1]}}), "$.routing.tag: routing needs a tag the profile gives: \"PQL\" has no pql_threshold"),
            (json!({"pql_threshold": 50, "routing": {"owners": [1]}}), "$.routing: routing needs \"column\", the contacts' owner column"),
            (json!({"pql_threshold": 50, "routing": {"column": 3, "owners": [1]}}), "$.routing.column: expected a column name of 1 to 63 bytes such as \"owner_id\", got 3"),
            (json!({"pql_threshold": 50, "routing": {"column": "o"}}), "$.routing: routing needs \"owners\", a list of the column's values"),
            (json!({"pql_threshold": 50, "routing": {"column": "o", "owners": []}}), "$.routing.owners: expected a non-empty array of strings or numbers such as [7, 9], got an empty array"),
            (json!({"pql_threshold": 50, "routing": {"column": "o", "owners": [1, null]}}), "$.routing.owners[1]: expected a string or a number, got null"),
            (json!({"pql_threshold": 50, "routing": {"column": "o", "owners": [1, 2, "1"]}}), "$.routing.owners[2]: \"1\" is given twice (also at [0])"),
            (json!({"pql_threshold": 50, "routing": {"column": "o", "owners": [1], "strategy": "random"}}), "$.routing.strategy: expected one of \"round_robin\", got \"random\""),
        ];
        for (json, message) in cases {
            assert_eq!(Settings::compile(&json).unwrap_err().to_string(), message, "{json}");
        }
    }
}
