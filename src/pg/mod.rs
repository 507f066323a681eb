//! Postgres glue: the only modules that use pgrx, run SQL or touch catalogs.
//!
//! Each module here turns SQL arguments into plain values, calls the pure core in
//! `lead_score_core`, and turns its errors into SQLSTATEs. Logic lives in the core.
//! The folders are layers, each importing only those below it (the crate's shape test
//! checks it, and that no entry-point file imports another):
//!
//! * `api`   — the SQL entry points, one file per section of docs/reference.md;
//! * `read`  — what evaluation and learning read for the caller: outcomes, candidates;
//! * `write` — the write paths: how a statement, a rescore or a tick scores and stores;
//! * `base`  — the shared machinery: the attached profile, rights, SPI rows, errors.

pub(crate) mod api;
pub(crate) mod base;
pub(crate) mod read;
pub(crate) mod write;

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Declares schema `lead_score` to pgrx, for the `#[pg_schema] mod lead_score` of each
/// file in `api`. The schema is created by `sql/bootstrap.sql`, which runs first;
/// pgrx's own `CREATE SCHEMA IF NOT EXISTS` for this module then finds ours and does
/// nothing.
#[pgrx::pg_schema]
mod lead_score {}
