//! pg_lead_score's scoring core: pure Rust, no Postgres.
//!
//! This crate does not depend on pgrx: its modules take and return plain Rust values,
//! so every rule of the scoring math is unit-tested with ordinary `#[test]`s (`cargo
//! test -p lead_score_core`) and the Postgres glue (the extension crate's `pg`) stays
//! thin.

pub mod accounts;
pub mod candidates;
pub mod caps;
pub mod condition;
pub mod decay;
pub mod engine;
pub mod error;
pub mod evaluation;
pub mod explain;
pub mod grading;
pub mod interrupt;
pub mod json_facts;
pub mod key_places;
pub mod key_ranges;
pub mod learning;
pub mod next_actions;
pub mod qualification;
pub mod record_facts;
pub mod rule;
pub mod settings;
pub mod span;
pub mod stages;
pub mod top_list;
pub mod training;
pub mod value;

#[cfg(test)]
mod candidates_tests;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod evaluation_tests;
#[cfg(test)]
mod explain_tests;
#[cfg(test)]
mod grading_tests;
#[cfg(test)]
mod learning_tests;
#[cfg(test)]
mod qualification_tests;
#[cfg(test)]
mod rule_tests;
#[cfg(test)]
mod training_tests;
