//! Raising core errors as Postgres errors with a proper SQLSTATE.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// Raise `message` as an ERROR with `code`. Never returns: Postgres unwinds the call.
pub(crate) fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "pg_lead_score").report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Raise a failed query or a broken invariant as an internal error (`XX000`) saying
/// what was being done: a bug is loud, never read as "nothing to do".
pub(crate) fn internal(what: impl std::fmt::Display, error: impl std::fmt::Display) -> ! {
    raise(pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("pg_lead_score: {what}: {error}"))
}
