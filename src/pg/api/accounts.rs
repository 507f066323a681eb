//! Account scores (reference: docs/accounts.md): the functions the account scores view
//! computes each account with, at its read, from its members' scores then. (The rows
//! themselves are kept by the writes, `write::accounts`.)

use pgrx::prelude::*;

#[pg_schema]
mod lead_score {
    use super::*;
    use crate::pg::base::errors::{raise, Failure};
    use lead_score_core::accounts::{best, engaged_count, AccountScoring};

    /// Members' scores as numbers (a NULL counts as 0: the view never passes one).
    fn numbers(scores: &[Option<f64>]) -> Vec<f64> {
        scores.iter().map(|s| s.unwrap_or(0.0)).collect()
    }

    /// `lead_score.account_score(scores, scoring)`: an account's score from its
    /// members' scores: `sum`, `max` or `top_3_average` (22023 for another).
    #[pg_extern(immutable, strict, parallel_safe)]
    fn account_score(scores: Vec<Option<f64>>, scoring: &str) -> f64 {
        let Some(scoring) = AccountScoring::parse(scoring) else {
            raise(Failure::InvalidValue(format!(
                "unknown account_score \"{scoring}\"; expected \"sum\", \"max\" or \"top_3_average\""
            )))
        };
        scoring.score(&numbers(&scores))
    }

    /// `lead_score.engaged_contacts(scores)`: how many members score above 0.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn engaged_contacts(scores: Vec<Option<f64>>) -> i32 {
        engaged_count(&numbers(&scores)) as i32
    }

    /// `lead_score.best_contact(contact_keys, scores)`: the key of the member with the
    /// highest score (ties: the first, the lowest key); NULL without members.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn best_contact(contact_keys: Vec<Option<String>>, scores: Vec<Option<f64>>) -> Option<String> {
        contact_keys.get(best(&numbers(&scores))?).cloned().flatten()
    }

    /// `lead_score.engaged_roles(roles, scores)`: the distinct roles of the members
    /// scoring above 0, sorted (NULL roles skipped).
    #[pg_extern(immutable, strict, parallel_safe)]
    fn engaged_roles(roles: Vec<Option<String>>, scores: Vec<Option<f64>>) -> Vec<String> {
        super::engaged(&roles, &scores)
    }
}

fn engaged(roles: &[Option<String>], scores: &[Option<f64>]) -> Vec<String> {
    let scores: Vec<f64> = scores.iter().map(|s| s.unwrap_or(0.0)).collect();
    lead_score_core::accounts::engaged_roles(roles, &scores)
}
