//! How the glue fails: one type, `Failure`, each kind mapped to its SQLSTATE here and
//! raised by `raise`. Data never makes a CRM write fail (evaluation is total); what
//! fails is a caller's bad input, a misconfiguration, or a bug, and a bug is loud.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgLogLevel;
use pgrx::PgSqlErrorCode::{self, *};

/// Everything the glue raises: the kind decides the SQLSTATE, the text is the message.
/// `.detail()` and `.hint()` add the facts behind it and what to do about it.
pub(crate) enum Failure {
    /// No profile of that name (42704).
    UnknownProfile(String),
    /// Another object that does not exist, a profile's version say (42704).
    Undefined(String),
    /// A column a rule reads that the attached table does not have (42703).
    UndefinedColumn(String),
    /// Something is not in the state the call needs (55000): a profile not attached or
    /// never published, a trigger with nothing to do.
    NotReady(String),
    /// An attachment that no longer fits its tables (55000).
    Misconfigured(String),
    /// A value the caller gave that is not valid (22023).
    InvalidValue(String),
    /// A column of a type the call cannot use (42804).
    WrongType(String),
    /// A value given twice where each must be unique (23505).
    Duplicate(String),
    /// An argument that must be given was NULL (22004).
    NullValue(String),
    /// The caller lacks a privilege the call needs (42501).
    InsufficientPrivilege(String),
    /// Text that does not read as a value of its type (22P02).
    InvalidText(String),
    /// More work than a call takes on (54000), a documented cap.
    TooMuch(String),
    /// A stored value that is not in its stored layout (XX001).
    Corrupted(String),
    /// A failed query or a broken invariant (XX000): `what` was being done.
    Internal { what: String, error: String },
}

/// A failure with its detail and hint, as `raise` reports it.
pub(crate) struct Report {
    failure: Failure,
    detail: Option<String>,
    hint: Option<String>,
}

impl From<Failure> for Report {
    fn from(failure: Failure) -> Report {
        Report { failure, detail: None, hint: None }
    }
}

impl Failure {
    /// The failure with the facts behind it (an error's DETAIL).
    pub(crate) fn detail(self, detail: impl Into<String>) -> Report {
        Report::from(self).detail(detail)
    }

    /// The failure with what to do about it (an error's HINT).
    pub(crate) fn hint(self, hint: impl Into<String>) -> Report {
        Report::from(self).hint(hint)
    }

    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            Failure::UnknownProfile(_) | Failure::Undefined(_) => ERRCODE_UNDEFINED_OBJECT,
            Failure::UndefinedColumn(_) => ERRCODE_UNDEFINED_COLUMN,
            Failure::NotReady(_) | Failure::Misconfigured(_) => {
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE
            }
            Failure::InvalidValue(_) => ERRCODE_INVALID_PARAMETER_VALUE,
            Failure::NullValue(_) => ERRCODE_NULL_VALUE_NOT_ALLOWED,
            Failure::WrongType(_) => ERRCODE_DATATYPE_MISMATCH,
            Failure::Duplicate(_) => ERRCODE_UNIQUE_VIOLATION,
            Failure::InsufficientPrivilege(_) => ERRCODE_INSUFFICIENT_PRIVILEGE,
            Failure::InvalidText(_) => ERRCODE_INVALID_TEXT_REPRESENTATION,
            Failure::TooMuch(_) => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            Failure::Corrupted(_) => ERRCODE_DATA_CORRUPTED,
            Failure::Internal { .. } => ERRCODE_INTERNAL_ERROR,
        }
    }

    fn message(self) -> String {
        match self {
            Failure::UnknownProfile(profile) => format!("profile \"{profile}\" does not exist"),
            Failure::Undefined(message)
            | Failure::UndefinedColumn(message)
            | Failure::NotReady(message)
            | Failure::Misconfigured(message)
            | Failure::InvalidValue(message)
            | Failure::NullValue(message)
            | Failure::WrongType(message)
            | Failure::Duplicate(message)
            | Failure::InsufficientPrivilege(message)
            | Failure::InvalidText(message)
            | Failure::TooMuch(message)
            | Failure::Corrupted(message) => message,
            Failure::Internal { what, error } => format!("pg_lead_score: {what}: {error}"),
        }
    }
}

impl Report {
    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Report {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Report {
        self.hint = Some(hint.into());
        self
    }
}

/// Raise a failure as an ERROR with its SQLSTATE, message, detail and hint. Never
/// returns: Postgres unwinds the call.
pub(crate) fn raise(failure: impl Into<Report>) -> ! {
    let Report { failure, detail, hint } = failure.into();
    let code = failure.sqlstate();
    let mut report = ErrorReport::new(code, failure.message(), "pg_lead_score");
    if let Some(detail) = detail {
        report = report.set_detail(detail);
    }
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
