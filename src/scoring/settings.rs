//! Profile settings: `{"half_life": "30 days", "pql_threshold": 50, "pql_tag": "PQL"}`.
//! Unknown keys are errors, so a typo never silently falls back to a default.

use serde_json::Value as Json;

use crate::scoring::condition::compile_positive_span;
use crate::scoring::error::{describe, reject_unknown_keys, JsonPath, RuleError};
use crate::scoring::span::{parse_span, Span};

pub const DEFAULT_HALF_LIFE: &str = "30 days";
pub const DEFAULT_PQL_TAG: &str = "PQL";

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// How fast engagement points fade, unless a rule says otherwise.
    pub half_life: Span,
    /// The score at which a contact gets the PQL tag; `None`: never tagged.
    pub pql_threshold: Option<f64>,
    pub pql_tag: String,
}

const KEYS: &[&str] = &["half_life", "pql_threshold", "pql_tag"];

impl Settings {
    pub fn compile(json: &Json) -> Result<Settings, RuleError> {
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
        Ok(Settings { half_life, pql_threshold, pql_tag })
    }
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
    }

    #[test]
    fn every_mistake_is_named_with_its_path() {
        let cases = [
            (json!([]), "$: settings must be a JSON object, got an array"),
            (json!({"halflife": "3 days"}), "$: unknown key \"halflife\" in settings; expected \"half_life\", \"pql_threshold\", \"pql_tag\""),
            (json!({"half_life": "0 days"}), "$.half_life: half-life must be positive, got \"0 days\""),
            (json!({"half_life": 30}), "$.half_life: half-life must be an interval such as \"30 days\", got 30"),
            (json!({"half_life": "soon"}), "$.half_life: invalid interval \"soon\": expected amounts with units such as \"14 days\", \"1 hour 30 minutes\" or ISO 8601 \"P14D\""),
            (json!({"pql_threshold": "50"}), "$.pql_threshold: expected a number, got \"50\""),
            (json!({"pql_tag": ""}), "$.pql_tag: expected a tag name of 1 to 63 bytes such as \"PQL\", got \"\""),
        ];
        for (json, message) in cases {
            assert_eq!(Settings::compile(&json).unwrap_err().to_string(), message, "{json}");
        }
    }
}
