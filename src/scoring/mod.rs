//! The scoring core: pure Rust, no Postgres.
//!
//! Nothing under `scoring/` may use pgrx or call into Postgres: these modules take and
//! return plain Rust values, so every rule of the scoring math is unit-tested with
//! ordinary `#[test]`s and the Postgres glue in `crate::pg` stays thin.

pub mod condition;
pub mod decay;
pub mod engine;
pub mod error;
pub mod evaluation;
pub mod explain;
pub mod interrupt;
pub mod json_facts;
pub mod key_places;
pub mod learning;
pub mod next_actions;
pub mod qualification;
pub mod record_facts;
pub mod rule;
pub mod settings;
pub mod span;
pub mod value;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod evaluation_tests;
#[cfg(test)]
mod explain_tests;
#[cfg(test)]
mod learning_tests;
#[cfg(test)]
mod qualification_tests;
#[cfg(test)]
mod rule_tests;
