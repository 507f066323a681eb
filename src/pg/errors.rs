//! Raising core errors as Postgres errors with a proper SQLSTATE.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// Raise `message` as an ERROR with `code`. Never returns: Postgres unwinds the call.
pub(crate) fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "pg_lead_score").report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}
