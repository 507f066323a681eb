//! The SQL entry points: every `#[pg_extern]`, `#[pg_trigger]`, `#[pg_aggregate]` and
//! SQL type, one file per section of docs/reference.md, each in a `#[pg_schema] mod
//! lead_score`. No file here imports another: what two of them share lives below.

pub(crate) mod accounts;
pub(crate) mod adjustments;
pub(crate) mod clock;
pub(crate) mod decay;
pub(crate) mod evaluation;
pub(crate) mod insight;
pub(crate) mod learning;
pub(crate) mod live_scores;
pub(crate) mod profiles;
pub(crate) mod qualification;
pub(crate) mod rights;
pub(crate) mod sample_data;
pub(crate) mod schema_guard;
