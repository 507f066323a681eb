//! How the glue fails: one type, `Failure`, each kind mapped to its SQLSTATE here and
//! raised by `raise`. Data never makes a CRM write fail (evaluation is total); what
//! fails is a caller's bad input, a misconfiguration, or a bug, and a bug is loud.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgLogLevel;
use pgrx::PgSqlErrorCode::{self, *};

/// Everything the glue raises.
pub(crate) enum Failure {
    /// No profile of that name (42704).
    UnknownProfile(String),
    /// Something is not in the state the call needs (55000): a profile not attached or
    /// never published, a trigger with nothing to do.
    NotReady(String),
    /// An attachment that no longer fits its tables (55000): what is wrong, and what
    /// to do about it (the hint).
    Misconfigured { message: String, hint: String },
    /// A value the caller gave that is not valid (22023).
    InvalidValue(String),
    /// Text that does not read as a value of its type (22P02).
    InvalidText(String),
    /// A stored value that is not in its stored layout (XX001).
    Corrupted(String),
    /// A failed query or a broken invariant (XX000): `what` was being done.
    Internal { what: String, error: String },
}

impl Failure {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            Failure::UnknownProfile(_) => ERRCODE_UNDEFINED_OBJECT,
            Failure::NotReady(_) | Failure::Misconfigured { .. } => {
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE
            }
            Failure::InvalidValue(_) => ERRCODE_INVALID_PARAMETER_VALUE,
            Failure::InvalidText(_) => ERRCODE_INVALID_TEXT_REPRESENTATION,
            Failure::Corrupted(_) => ERRCODE_DATA_CORRUPTED,
            Failure::Internal { .. } => ERRCODE_INTERNAL_ERROR,
        }
    }

    /// The message and the hint, if any.
    fn message(self) -> (String, Option<String>) {
        let message = match self {
            Failure::Misconfigured { message, hint } => return (message, Some(hint)),
            Failure::UnknownProfile(profile) => format!("profile \"{profile}\" does not exist"),
            Failure::NotReady(message)
            | Failure::InvalidValue(message)
            | Failure::InvalidText(message)
            | Failure::Corrupted(message) => message,
            Failure::Internal { what, error } => format!("pg_lead_score: {what}: {error}"),
        };
        (message, None)
    }
}

/// Raise `failure` as an ERROR with its SQLSTATE. Never returns: Postgres unwinds the
/// call.
pub(crate) fn raise(failure: Failure) -> ! {
    let code = failure.sqlstate();
    let (message, hint) = failure.message();
    let mut report = ErrorReport::new(code, message, "pg_lead_score");
    if let Some(hint) = hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Raise a failed query or a broken invariant as an internal error (`XX000`) saying
/// what was being done: a bug is loud, never read as "nothing to do".
pub(crate) fn internal(what: impl std::fmt::Display, error: impl std::fmt::Display) -> ! {
    raise(Failure::Internal { what: what.to_string(), error: error.to_string() })
}
