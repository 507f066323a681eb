//! Account scores (HubSpot's company scores, Adobe's buying groups): what an account's
//! contacts add up to at an instant. Each contact's score decays on its own (fit plus
//! a decayed engagement, with capped parts), so an account's score is computed from
//! its members' scores at that instant, never kept as one merged sum.
//!
//! Settings: `"account_score"` (`"sum"`, `"max"`, `"top_3_average"`), `"buying_roles"`
//! (a contacts column) and `"account_thresholds"` (`{"PQA": 200}`, sticky account tags).

use serde_json::Value as Json;

use crate::error::{describe, JsonPath, RuleError};

/// How an account's score is made from its contacts' scores.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum AccountScoring {
    /// All its contacts' scores added up.
    #[default]
    Sum,
    /// Its best contact's.
    Max,
    /// The average of its three best contacts' (of all, when it has fewer).
    Top3Average,
}

pub const ACCOUNT_SCORINGS: &[&str] = &["sum", "max", "top_3_average"];

impl AccountScoring {
    pub fn name(self) -> &'static str {
        match self {
            AccountScoring::Sum => "sum",
            AccountScoring::Max => "max",
            AccountScoring::Top3Average => "top_3_average",
        }
    }

    pub fn parse(name: &str) -> Option<AccountScoring> {
        [AccountScoring::Sum, AccountScoring::Max, AccountScoring::Top3Average]
            .into_iter()
            .find(|s| s.name() == name)
    }

    /// The account's score from its contacts' scores (any order); 0 without contacts.
    pub fn score(self, scores: &[f64]) -> f64 {
        if scores.is_empty() {
            return 0.0;
        }
        match self {
            AccountScoring::Sum => scores.iter().sum(),
            AccountScoring::Max => scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            AccountScoring::Top3Average => {
                let mut sorted = scores.to_vec();
                sorted.sort_by(|a, b| b.total_cmp(a));
                sorted.truncate(3);
                sorted.iter().sum::<f64>() / sorted.len() as f64
            }
        }
    }
}

/// The account settings of a profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountSettings {
    pub scoring: AccountScoring,
    /// The contacts column holding each contact's buying role, when set.
    pub buying_roles: Option<String>,
    /// Sticky account tags, each with the account score that gives it, by tag name.
    pub thresholds: Vec<(String, f64)>,
}

impl AccountSettings {
    /// Whether any account setting is given (they need an accounts table).
    pub fn is_set(&self) -> bool {
        *self != AccountSettings::default()
    }

    /// From the settings object's `account_score`, `buying_roles` and
    /// `account_thresholds` (each missing or `null`: its default).
    pub fn compile(
        scoring: Option<&Json>,
        buying_roles: Option<&Json>,
        thresholds: Option<&Json>,
        root: &JsonPath,
    ) -> Result<AccountSettings, RuleError> {
        let scoring = match scoring {
            None | Some(Json::Null) => AccountScoring::Sum,
            Some(Json::String(name)) => AccountScoring::parse(name).ok_or_else(|| {
                root.key("account_score").error(format!(
                    "expected one of \"sum\", \"max\", \"top_3_average\", got \"{name}\""
                ))
            })?,
            Some(other) => {
                return Err(root.key("account_score").error(format!(
                    "expected one of \"sum\", \"max\", \"top_3_average\", got {}",
                    describe(other)
                )))
            }
        };
        let buying_roles = match buying_roles {
            None | Some(Json::Null) => None,
            Some(Json::String(column)) if !column.is_empty() && column.len() <= 63 => {
                Some(column.clone())
            }
            Some(other) => {
                return Err(root.key("buying_roles").error(format!(
                    "expected the name of a contacts column (1 to 63 bytes), got {}",
                    describe(other)
                )))
            }
        };
        let thresholds = match thresholds {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(named)) => {
                let path = root.key("account_thresholds");
                let mut found = Vec::new();
                for (tag, value) in named {
                    if tag.trim().is_empty() || tag.len() > 63 {
                        return Err(path.error(format!(
                            "tag names are 1 to 63 bytes, got {}",
                            describe(&Json::String(tag.clone()))
                        )));
                    }
                    let at = path.key(tag);
                    let threshold = match value {
                        Json::Number(n) => n
                            .as_f64()
                            .filter(|t| t.is_finite())
                            .ok_or_else(|| at.error(format!("expected a finite number, got {n}")))?,
                        other => {
                            return Err(
                                at.error(format!("expected a number, got {}", describe(other)))
                            )
                        }
                    };
                    found.push((tag.clone(), threshold));
                }
                found
            }
            Some(other) => {
                return Err(root.key("account_thresholds").error(format!(
                    "expected an object of tag names and account scores such as {{\"PQA\": 200}}, got {}",
                    describe(other)
                )))
            }
        };
        Ok(AccountSettings { scoring, buying_roles, thresholds })
    }

    /// The account tags a score reaches that `held` lacks, by tag name.
    pub fn reached<'a>(&'a self, score: f64, held: &[String]) -> Vec<&'a str> {
        self.thresholds
            .iter()
            .filter(|(tag, threshold)| score >= *threshold && !held.iter().any(|h| h == tag))
            .map(|(tag, _)| tag.as_str())
            .collect()
    }
}

/// Whether a contact with this score is engaged.
pub fn engaged(score: f64) -> bool {
    score > 0.0
}

/// How many of the scores are engaged.
pub fn engaged_count(scores: &[f64]) -> usize {
    scores.iter().filter(|s| engaged(**s)).count()
}

/// The place of the best score: the highest, the first of equal ones (members are kept
/// in key order, so ties go to the lowest key). `None` without scores.
pub fn best(scores: &[f64]) -> Option<usize> {
    let mut found: Option<usize> = None;
    for (place, score) in scores.iter().enumerate() {
        if found.is_none_or(|best| *score > scores[best]) {
            found = Some(place);
        }
    }
    found
}

/// The distinct roles of the engaged members (`roles` and `scores` by member), sorted;
/// NULL roles are skipped.
pub fn engaged_roles(roles: &[Option<String>], scores: &[f64]) -> Vec<String> {
    let mut found: Vec<String> = roles
        .iter()
        .zip(scores)
        .filter(|(_, score)| engaged(**score))
        .filter_map(|(role, _)| role.clone())
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_scoring_adds_up_the_members_its_way() {
        let scores = [10.0, 40.0, -5.0, 25.0];
        assert_eq!(AccountScoring::Sum.score(&scores), 70.0);
        assert_eq!(AccountScoring::Max.score(&scores), 40.0);
        assert_eq!(AccountScoring::Top3Average.score(&scores), 25.0);
        // Fewer than three: the average of those there are.
        assert_eq!(AccountScoring::Top3Average.score(&[10.0, 20.0]), 15.0);
        assert_eq!(AccountScoring::Max.score(&[-3.0, -1.0]), -1.0);
        for scoring in [AccountScoring::Sum, AccountScoring::Max, AccountScoring::Top3Average] {
            assert_eq!(scoring.score(&[]), 0.0);
            assert_eq!(AccountScoring::parse(scoring.name()), Some(scoring));
        }
    }

    #[test]
    fn engaged_members_best_member_and_their_roles() {
        let scores = [0.0, 12.0, 12.0, -1.0, 3.0];
        assert_eq!(engaged_count(&scores), 3);
        // Ties go to the first (the lowest key).
        assert_eq!(best(&scores), Some(1));
        assert_eq!(best(&[]), None);
        assert_eq!(best(&[-2.0, -1.0]), Some(1));
        let roles = [
            Some("buyer".to_owned()),
            Some("champion".to_owned()),
            None,
            Some("blocker".to_owned()),
            Some("buyer".to_owned()),
        ];
        // Only engaged members' roles, distinct and sorted: the blocker and the first
        // buyer score nothing.
        assert_eq!(engaged_roles(&roles, &scores), vec!["buyer", "champion"]);
    }

    #[test]
    fn settings_default_and_their_mistakes_are_named_with_their_path() {
        let root = JsonPath::root();
        let none = AccountSettings::compile(None, None, None, &root).unwrap();
        assert_eq!(none, AccountSettings::default());
        assert!(!none.is_set());
        let set = AccountSettings::compile(
            Some(&json!("top_3_average")),
            Some(&json!("role")),
            Some(&json!({"PQA": 200, "Hot": 50.5})),
            &root,
        )
        .unwrap();
        assert_eq!(set.scoring, AccountScoring::Top3Average);
        assert_eq!(set.buying_roles.as_deref(), Some("role"));
        assert_eq!(set.reached(100.0, &[]), vec!["Hot"]);
        assert_eq!(set.reached(200.0, &["Hot".to_owned()]), vec!["PQA"]);
        let error = |s: Option<Json>, r: Option<Json>, t: Option<Json>| {
            AccountSettings::compile(s.as_ref(), r.as_ref(), t.as_ref(), &root)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(Some(json!("avg")), None, None),
            "$.account_score: expected one of \"sum\", \"max\", \"top_3_average\", got \"avg\""
        );
        assert!(error(None, Some(json!(3)), None).starts_with("$.buying_roles: "));
        assert!(error(None, None, Some(json!([200]))).starts_with("$.account_thresholds: "));
        assert_eq!(
            error(None, None, Some(json!({"PQA": "high"}))),
            "$.account_thresholds.PQA: expected a number, got \"high\""
        );
    }
}
