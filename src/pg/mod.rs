//! Postgres glue: the only modules that use pgrx, run SQL or touch catalogs.
//!
//! Each module here turns SQL arguments into plain values, calls the pure core in
//! `lead_score_core`, and turns its errors into SQLSTATEs. Logic lives in the core.

pub(crate) mod adjustments;
pub(crate) mod attachment;
pub(crate) mod catalog;
pub(crate) mod clock;
pub(crate) mod decay_functions;
pub(crate) mod decayed_sum;
pub(crate) mod errors;
pub(crate) mod evaluation;
pub(crate) mod everyone;
pub(crate) mod identity;
pub(crate) mod insight;
pub(crate) mod jsonb;
pub(crate) mod locks;
pub(crate) mod maintenance;
pub(crate) mod new_events;
mod params;
pub(crate) mod plan_cache;
pub(crate) mod qualification_functions;
pub(crate) mod qualify;
pub(crate) mod queries;
mod readers;
pub(crate) mod rule_functions;
mod schema_guard;
mod score_functions;
pub(crate) mod score_rows;
pub(crate) mod some_contacts;
mod spi_rows;
pub(crate) mod summaries;
pub(crate) mod training;
mod training_candidates;
mod triggers;

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Declares schema `lead_score` to pgrx so `#[pg_extern(schema = "lead_score")]` resolves.
/// The schema is created by `sql/bootstrap.sql`, which runs first; pgrx's own
/// `CREATE SCHEMA IF NOT EXISTS` for this module then finds ours and does nothing.
#[pgrx::pg_schema]
mod lead_score {}
