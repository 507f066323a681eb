//! Point caps beyond a rule's own (`max_points` / `min_points`, see `rule.rs`): the
//! settings `"dimension_caps": {"email": 20}` (each dimension's points at most that
//! much) and `"max_engagement": 100` (the whole engagement at most that much). Caps are
//! exact at every instant: they live in the decayed sums (see `decay/capped.rs`).

use serde_json::Value as Json;

use crate::decay::Cap;
use crate::error::{describe, JsonPath, RuleError};

/// The caps of a profile's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Caps {
    /// Each capped dimension's limit, by label (sorted by label).
    pub dimensions: Vec<(String, f64)>,
    pub max_engagement: Option<f64>,
}

/// The key of dimension `n` (in `Caps::dimensions`) among a sum's capped parts; rules'
/// parts are keyed by their number in the profile, far below.
pub const DIMENSION_KEYS: u32 = 1 << 31;

impl Caps {
    pub fn compile(
        dimension_caps: Option<&Json>,
        max_engagement: Option<&Json>,
        root: &JsonPath,
    ) -> Result<Caps, RuleError> {
        let positive = |json: &Json, path: &JsonPath| match json {
            Json::Number(n) => match n.as_f64() {
                Some(cap) if cap.is_finite() && cap > 0.0 => Ok(cap),
                _ => Err(path.error(format!("expected a positive number, got {n}"))),
            },
            other => {
                Err(path.error(format!("expected a positive number, got {}", describe(other))))
            }
        };
        let dimensions = match dimension_caps {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(caps)) => {
                let path = root.key("dimension_caps");
                let mut dimensions = Vec::new();
                for (label, cap) in caps {
                    if label.trim().is_empty() || label.len() > 63 {
                        return Err(path.error(format!(
                            "dimension labels are 1 to 63 bytes, got {}",
                            describe(&Json::String(label.clone()))
                        )));
                    }
                    dimensions.push((label.clone(), positive(cap, &path.key(label))?));
                }
                dimensions.sort_by(|a, b| a.0.cmp(&b.0));
                dimensions
            }
            Some(other) => {
                return Err(root.key("dimension_caps").error(format!(
                "expected an object of dimension labels and caps such as {{\"email\": 20}}, got {}",
                describe(other)
            )))
            }
        };
        let max_engagement = match max_engagement {
            None | Some(Json::Null) => None,
            Some(json) => Some(positive(json, &root.key("max_engagement"))?),
        };
        Ok(Caps { dimensions, max_engagement })
    }

    /// The cap of dimension `label` as a capped part (its key and limits), if it has one.
    pub fn of_dimension(&self, label: &str) -> Option<(u32, Cap)> {
        let at = self.dimensions.binary_search_by(|(l, _)| l.as_str().cmp(label)).ok()?;
        Some((DIMENSION_KEYS + at as u32, Cap::at_most(self.dimensions[at].1)))
    }

    /// The whole engagement's cap, if any.
    pub fn engagement(&self) -> Option<Cap> {
        self.max_engagement.map(Cap::at_most)
    }

    pub fn is_empty(&self) -> bool {
        self.dimensions.is_empty() && self.max_engagement.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(caps: Json, max: Json) -> Result<Caps, String> {
        Caps::compile(Some(&caps), Some(&max), &JsonPath::root()).map_err(|e| e.to_string())
    }

    #[test]
    fn caps_are_read_and_keyed() {
        let caps = compiled(json!({"web": 10, "email": 20}), json!(100)).unwrap();
        assert_eq!(caps.dimensions, vec![("email".to_owned(), 20.0), ("web".to_owned(), 10.0)]);
        assert_eq!(caps.of_dimension("web"), Some((DIMENSION_KEYS + 1, Cap::at_most(10.0))));
        assert_eq!(caps.of_dimension("sales"), None);
        assert_eq!(caps.engagement(), Some(Cap::at_most(100.0)));
        assert!(compiled(json!(null), json!(null)).unwrap().is_empty());
    }

    #[test]
    fn every_mistake_is_named_with_its_path() {
        let cases = [
            (json!([20]), json!(null), "$.dimension_caps: expected an object of dimension labels and caps such as {\"email\": 20}, got an array"),
            (json!({"email": 0}), json!(null), "$.dimension_caps.email: expected a positive number, got 0"),
            (json!({"email": "20"}), json!(null), "$.dimension_caps.email: expected a positive number, got \"20\""),
            (json!({"": 5}), json!(null), "$.dimension_caps: dimension labels are 1 to 63 bytes, got \"\""),
            (json!(null), json!(-5), "$.max_engagement: expected a positive number, got -5"),
            (json!(null), json!("100"), "$.max_engagement: expected a positive number, got \"100\""),
        ];
        for (caps, max, message) in cases {
            assert_eq!(compiled(caps, max).unwrap_err(), message);
        }
    }
}
