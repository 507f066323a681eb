//! How the glue fails: one type, `Failure`, each kind mapped to its SQLSTATE here and
//! raised by `raise`. Data never makes a CRM write fail (evaluation is total); what
//! fails is a caller's bad input, a misconfiguration, or a bug, and a bug is loud.

use std::panic::AssertUnwindSafe;

use pgrx::pg_sys::panic::{CaughtError, ErrorReport, ErrorReportWithLevel};
use pgrx::pg_sys::{self, PgTryBuilder};
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

/// Run `f` in a subtransaction of its own, as a PL/pgSQL block with an EXCEPTION clause
/// runs its statements: when `f` raises, what it did is rolled back (its writes, its
/// locks, a user id or settings it switched to) and the error is returned, caught. A
/// cancel, a timeout or a shutdown (class 57) is never caught: it is raised again after
/// the rollback, as PL/pgSQL's `WHEN OTHERS` leaves `query_canceled` alone.
pub(crate) fn in_subtransaction<R>(f: impl FnOnce() -> R) -> Result<R, Box<CaughtError>> {
    // SAFETY: the subtransaction is begun and ended here, around `f` only, and what it
    // changes (memory context, resource owner) is put back as PL/pgSQL's
    // exec_stmt_block puts it back; `f` runs in the caller's memory context.
    let (context, owner) = unsafe {
        let saved = (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner);
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(saved.0);
        saved
    };
    let result = PgTryBuilder::new(AssertUnwindSafe(|| Ok(f())))
        .catch_others(|error| Err(Box::new(error)))
        .execute();
    // SAFETY: the subtransaction begun above is the current one (`f` ends whatever
    // it begins, or its error's unwinding did).
    unsafe {
        if result.is_ok() {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    }
    match result {
        Err(error) if sqlstate(report_of(&error).sql_error_code()).starts_with("57") => {
            (*error).rethrow()
        }
        result => result,
    }
}

/// Report an error `in_subtransaction` caught as a WARNING: `what` was skipped, and
/// why (the error's SQLSTATE and message, with its detail and hint).
pub(crate) fn warn_skipped(what: &str, error: Box<CaughtError>) {
    let caught = report_of(&error);
    let message = format!("{what}: {}: {}", sqlstate(caught.sql_error_code()), caught.message());
    let mut report = ErrorReport::new(ERRCODE_WARNING, message, "pg_lead_score");
    if let Some(detail) = caught.detail() {
        report = report.set_detail(detail.to_owned());
    }
    if let Some(hint) = caught.hint() {
        report = report.set_hint(hint.to_owned());
    }
    report.report(PgLogLevel::WARNING);
}

/// The SQLSTATE and message of an error `in_subtransaction` caught.
pub(crate) fn caught_error(error: &CaughtError) -> (String, String) {
    let report = report_of(error);
    (sqlstate(report.sql_error_code()), report.message().to_owned())
}

fn report_of(error: &CaughtError) -> &ErrorReportWithLevel {
    match error {
        CaughtError::PostgresError(report)
        | CaughtError::ErrorReport(report)
        | CaughtError::RustPanic { ereport: report, .. } => report,
    }
}

/// The five characters of a SQLSTATE, as Postgres' `unpack_sql_state` spells them.
fn sqlstate(code: PgSqlErrorCode) -> String {
    let code = code as isize;
    (0..5).map(|i| char::from(b'0' + ((code >> (6 * i)) & 0x3F) as u8)).collect()
}

/// What a profile's failures name: its attachment.
pub(crate) trait OfProfile {
    fn profile_name(&self) -> &str;
}

/// A failed query of a profile's scoring: an internal error naming the profile and
/// what was being done.
pub(crate) fn spi_failed(of: &impl OfProfile, what: &str, error: pgrx::spi::Error) -> ! {
    internal(format!("profile \"{}\": {what}", of.profile_name()), error)
}

/// The first column of every row of a query's result, as text (NULLs skipped); a failed
/// query or read is an internal error naming the profile and what was being done.
pub(crate) fn texts(
    result: pgrx::spi::Result<pgrx::spi::SpiTupleTable<'_>>,
    of: &impl OfProfile,
    what: &str,
) -> Vec<String> {
    let rows = result.unwrap_or_else(|e| spi_failed(of, what, e));
    rows.filter_map(|row| row.get::<String>(1).unwrap_or_else(|e| spi_failed(of, what, e)))
        .collect()
}
