//! Errors found while compiling rules and settings, each with the JSON path at fault.

use std::fmt;

/// Where in a rule's JSON a problem is, printed as `$.when.all[1].value`.
#[derive(Clone, Debug, Default)]
pub struct JsonPath(Vec<Segment>);

#[derive(Clone, Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl JsonPath {
    pub fn root() -> Self {
        JsonPath(Vec::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        JsonPath(segments)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        JsonPath(segments)
    }

    pub fn error(&self, message: impl Into<String>) -> RuleError {
        RuleError { path: self.to_string(), message: message.into() }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in &self.0 {
            match segment {
                Segment::Key(key) if is_plain_key(key) => write!(f, ".{key}")?,
                Segment::Key(key) => write!(f, "[{}]", serde_json::Value::from(key.as_str()))?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A problem in a rule or in settings: where (`$.when.value`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for RuleError {}

/// How a JSON value is named in messages: its type, and the value itself when short.
pub fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".to_owned(),
        serde_json::Value::Array(_) => "an array".to_owned(),
        serde_json::Value::Object(_) => "an object".to_owned(),
        scalar => {
            let text = scalar.to_string();
            if text.chars().count() <= 60 {
                text
            } else {
                format!("{}…", text.chars().take(60).collect::<String>())
            }
        }
    }
}

/// Object keys not in `allowed`, reported one at a time in key order.
pub fn reject_unknown_keys(
    object: &serde_json::Map<String, serde_json::Value>,
    allowed: &[&str],
    path: &JsonPath,
    what: &str,
) -> Result<(), RuleError> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        None => Ok(()),
        Some(key) => Err(path.error(format!(
            "unknown key \"{key}\" in {what}; expected {}",
            allowed.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_as_jsonpath() {
        let path = JsonPath::root().key("when").key("all").index(1).key("value");
        assert_eq!(path.to_string(), "$.when.all[1].value");
        assert_eq!(JsonPath::root().to_string(), "$");
        assert_eq!(JsonPath::root().key("odd key").to_string(), "$[\"odd key\"]");
        assert_eq!(path.error("needs a number").to_string(), "$.when.all[1].value: needs a number");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = serde_json::Value::from("x".repeat(100));
        assert_eq!(describe(&long).chars().count(), 61);
        assert_eq!(describe(&serde_json::json!("abc")), "\"abc\"");
        assert_eq!(describe(&serde_json::json!([1])), "an array");
    }
}
