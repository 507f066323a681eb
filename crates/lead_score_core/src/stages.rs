//! Lifecycle stages: `"stages": [{"name": "Lead"}, {"name": "MQL", "score": 20},
//! {"name": "SQL", "score": 50, "when": {...}}]`. A contact enters the highest stage
//! whose score minimum (and condition, when it has one) it meets, and never moves back
//! down on its own: stages are sticky, like tags.

use serde_json::Value as Json;

use crate::condition::{Condition, Scope};
use crate::error::{describe, reject_unknown_keys, JsonPath, RuleError};

/// At most this many stages (a contact's met conditions are one bit each).
pub const MAX_STAGES: usize = 32;

/// One stage as the settings list it (its condition is compiled apart, see
/// [`compile_stages`]: settings are plain values).
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub name: String,
    /// The score a contact needs to enter it; `None`: no minimum.
    pub score: Option<f64>,
    /// Whether it has a `when` condition.
    pub conditional: bool,
}

/// The stages of `settings.stages` (absent or null: none), each with its compiled
/// condition. Names are 1 to 63 bytes and distinct; every stage but the first needs a
/// `score` or a `when`; the minimums given rise down the list.
pub fn compile_stages(
    json: Option<&Json>,
    root: &JsonPath,
) -> Result<(Vec<Stage>, Vec<Option<Condition>>), RuleError> {
    let path = root.key("stages");
    let list = match json {
        None | Some(Json::Null) => return Ok((Vec::new(), Vec::new())),
        Some(Json::Array(list)) if !list.is_empty() && list.len() <= MAX_STAGES => list,
        Some(other) => {
            return Err(path.error(format!(
                "expected an array of 1 to {MAX_STAGES} stages such as [{{\"name\": \"Lead\"}}, {{\"name\": \"MQL\", \"score\": 20}}], got {}",
                describe(other)
            )))
        }
    };
    let mut stages: Vec<Stage> = Vec::new();
    let mut conditions = Vec::new();
    for (index, json) in list.iter().enumerate() {
        let at = path.index(index);
        let Json::Object(object) = json else {
            return Err(at.error(format!(
                "expected a stage such as {{\"name\": \"MQL\", \"score\": 20}}, got {}",
                describe(json)
            )));
        };
        reject_unknown_keys(object, &["name", "score", "when"], &at, "a stage")?;
        let name = match object.get("name") {
            Some(Json::String(name)) if !name.trim().is_empty() && name.len() <= 63 => name.clone(),
            Some(other) => {
                return Err(at.key("name").error(format!(
                    "expected a stage name of 1 to 63 bytes, got {}",
                    describe(other)
                )))
            }
            None => return Err(at.error("a stage needs a \"name\"")),
        };
        if stages.iter().any(|s| s.name == name) {
            return Err(at.key("name").error(format!("stage \"{name}\" is listed twice")));
        }
        let score = match object.get("score") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => {
                Some(n.as_f64().filter(|s| s.is_finite()).ok_or_else(|| {
                    at.key("score").error(format!("expected a finite number, got {n}"))
                })?)
            }
            Some(other) => {
                return Err(at
                    .key("score")
                    .error(format!("expected a number, got {}", describe(other))))
            }
        };
        if let Some(score) = score {
            let mut earlier = stages.iter().filter_map(|s| s.score.map(|min| (s, min)));
            if let Some((below, min)) = earlier.rfind(|(_, min)| *min >= score) {
                return Err(at.key("score").error(format!(
                    "stage \"{name}\" needs a higher score than the stage \"{}\" before it ({min}), got {score}",
                    below.name
                )));
            }
        }
        let when = match object.get("when") {
            None | Some(Json::Null) => None,
            Some(json) => Some(Condition::compile(json, &at.key("when"), Scope::Contact)?),
        };
        if index > 0 && score.is_none() && when.is_none() {
            return Err(at.error(format!(
                "stage \"{name}\" needs a \"score\" or a \"when\" (only the first stage may have neither)"
            )));
        }
        stages.push(Stage { name, score, conditional: when.is_some() });
        conditions.push(when);
    }
    Ok((stages, conditions))
}

/// The stage a contact enters now, if any: the highest stage above its current one
/// (`current`, an index; `None`: none, or one the profile no longer lists) whose
/// minimum `score` reaches and whose condition holds (bit `i` of `met` for stage `i`).
/// Never one at or below the current stage.
pub fn stage_reached(
    stages: &[Stage],
    current: Option<usize>,
    met: u64,
    score: f64,
) -> Option<usize> {
    let above = current.map_or(0, |c| c + 1);
    (above..stages.len()).rev().find(|&i| {
        let stage = &stages[i];
        met & (1 << i) != 0 && stage.score.is_none_or(|min| score >= min)
    })
}

/// The lowest score minimum among the stages above `current` whose condition holds:
/// the score at which a contact enters a stage by points alone (for the instant decay
/// carries it there, and for whether a write that only adds points may move it).
pub fn next_stage_minimum(stages: &[Stage], current: Option<usize>, met: u64) -> Option<f64> {
    let above = current.map_or(0, |c| c + 1);
    (above..stages.len())
        .filter(|&i| met & (1 << i) != 0)
        .filter_map(|i| stages[i].score)
        .reduce(f64::min)
}

/// The index of the stage named `name`, if the profile lists it.
pub fn stage_index(stages: &[Stage], name: &str) -> Option<usize> {
    stages.iter().position(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(json: Json) -> Result<Vec<Stage>, String> {
        compile_stages(Some(&json), &JsonPath::root()).map(|(s, _)| s).map_err(|e| e.to_string())
    }

    #[test]
    fn stages_keep_their_order_minimums_and_conditions() {
        let stages = compiled(json!([
            {"name": "Lead"},
            {"name": "MQL", "score": 20},
            {"name": "SQL", "score": 50, "when": {"field": "country", "op": "eq", "value": "US"}},
            {"name": "Customer", "when": {"field": "status", "op": "eq", "value": "won"}}
        ]))
        .unwrap();
        let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Lead", "MQL", "SQL", "Customer"]);
        assert_eq!(stages[1].score, Some(20.0));
        assert!(stages[2].conditional && !stages[1].conditional);
        assert_eq!(compiled(json!(null)).unwrap(), vec![]);
    }

    #[test]
    fn every_mistake_is_named_with_its_path() {
        let cases = [
            (json!([]), "$.stages: expected an array of 1 to 32 stages such as [{\"name\": \"Lead\"}, {\"name\": \"MQL\", \"score\": 20}], got an array"),
            (json!({"Lead": 0}), "$.stages: expected an array of 1 to 32 stages such as [{\"name\": \"Lead\"}, {\"name\": \"MQL\", \"score\": 20}], got an object"),
            (json!(["Lead"]), "$.stages[0]: expected a stage such as {\"name\": \"MQL\", \"score\": 20}, got \"Lead\""),
            (json!([{"score": 3}]), "$.stages[0]: a stage needs a \"name\""),
            (json!([{"name": ""}]), "$.stages[0].name: expected a stage name of 1 to 63 bytes, got \"\""),
            (json!([{"name": "Lead", "points": 3}]), "$.stages[0]: unknown key \"points\" in a stage; expected \"name\", \"score\", \"when\""),
            (json!([{"name": "Lead"}, {"name": "Lead", "score": 3}]), "$.stages[1].name: stage \"Lead\" is listed twice"),
            (json!([{"name": "Lead"}, {"name": "MQL", "score": "20"}]), "$.stages[1].score: expected a number, got \"20\""),
            (json!([{"name": "Lead"}, {"name": "MQL", "score": 20}, {"name": "SQL", "score": 20}]),
             "$.stages[2].score: stage \"SQL\" needs a higher score than the stage \"MQL\" before it (20), got 20"),
            (json!([{"name": "Lead", "score": 5}, {"name": "MQL", "score": 20}, {"name": "SQL", "score": 10}]),
             "$.stages[2].score: stage \"SQL\" needs a higher score than the stage \"MQL\" before it (20), got 10"),
            (json!([{"name": "Lead"}, {"name": "MQL"}]), "$.stages[1]: stage \"MQL\" needs a \"score\" or a \"when\" (only the first stage may have neither)"),
            (json!([{"name": "Lead"}, {"name": "MQL", "when": {"field": "x", "op": "~", "value": 1}}]), "$.stages[1].when.op: unknown operator \"~\""),
        ];
        for (json, message) in cases {
            let found = compiled(json.clone()).unwrap_err();
            assert!(found.starts_with(message), "{json}: {found}");
        }
    }

    #[test]
    fn a_contact_enters_the_highest_stage_it_meets_and_never_moves_down() {
        let stages = compiled(json!([
            {"name": "Lead"},
            {"name": "MQL", "score": 20},
            {"name": "SQL", "score": 50, "when": {"field": "x", "op": "eq", "value": 1}},
            {"name": "Hot", "score": 80}
        ]))
        .unwrap();
        let all = 0b1111;
        let no_sql = 0b1011;
        // (current, met, score, expected)
        let cases = [
            (None, all, 0.0, Some(0)),
            (None, all, 19.99, Some(0)),
            (None, all, 20.0, Some(1)),
            (None, all, 79.0, Some(2)),
            (None, no_sql, 79.0, Some(1)),
            (None, no_sql, 80.0, Some(3)),
            (Some(1), all, 10.0, None),
            (Some(1), all, 20.0, None),
            (Some(1), all, 50.0, Some(2)),
            (Some(3), all, 500.0, None),
            (Some(2), all, -5.0, None),
            (None, 0b1110, 0.0, None),
        ];
        for (current, met, score, expected) in cases {
            assert_eq!(
                stage_reached(&stages, current, met, score),
                expected,
                "{current:?} {met:b} {score}"
            );
        }
        assert_eq!(next_stage_minimum(&stages, Some(0), all), Some(20.0));
        assert_eq!(next_stage_minimum(&stages, Some(1), no_sql), Some(80.0));
        assert_eq!(next_stage_minimum(&stages, Some(3), all), None);
        assert_eq!(stage_index(&stages, "SQL"), Some(2));
        assert_eq!(stage_index(&stages, "Gone"), None);
    }
}
