//! The extension's clock, and conversions between Postgres and Unix time.
//!
//! `SET lead_score.now = '2024-06-01 12:00:00+00'` makes that instant "now" for the
//! session: reads, `score()`, trigger decisions, `tick()` and `verify()` all use it, so
//! tests, back-fills and what-if questions can simulate time. Empty (the default)
//! means the transaction's start time, like `now()`. The value is checked when it is
//! set (a bad one is refused there, never discovered inside a CRM's write) and parsed
//! once, so reading the clock costs nothing.
//!
//! The setting is superuser-only (`PGC_SUSET`), as Postgres' own settings that change
//! what is recorded are: the triggers read it, so whoever sets it decides the instant a
//! CRM write is scored, tagged and recorded at. A DBA delegates it with
//! `GRANT SET ON PARAMETER lead_score.now TO role`. A `SET` made before the library was
//! loaded is a placeholder; Postgres applies it when `_PG_init` defines the setting only
//! if the role that made it may set it (otherwise: a warning, and the real clock).

use pgrx::datum::Interval;
use pgrx::prelude::*;
use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicI64, Ordering};

use lead_score_core::decay::IntervalParts;
use lead_score_core::value::parse_timestamp;

/// Microseconds between the Unix epoch (1970) and the Postgres epoch (2000).
const POSTGRES_EPOCH_IN_UNIX_MICROS: i64 = 946_684_800_000_000;

/// `lead_score.now` parsed, or `NOT_SIMULATED`. Backends are single-threaded; the
/// atomic only spares us `static mut`.
static SIMULATED_NOW: AtomicI64 = AtomicI64::new(NOT_SIMULATED);
const NOT_SIMULATED: i64 = i64::MIN;

/// Where Postgres keeps the setting's text. Written only by the GUC machinery.
static mut NOW_SETTING: *mut c_char = std::ptr::null_mut();

/// A timestamptz as microseconds since the Unix epoch. `-infinity` is `i64::MIN`;
/// `infinity`, and the last few millennia of Postgres' range (which 64 bits of
/// microseconds since 1970 cannot hold), are `i64::MAX`.
pub(crate) fn to_unix_micros(at: TimestampWithTimeZone) -> i64 {
    match pg_sys::TimestampTz::from(at) {
        i64::MIN => i64::MIN,
        postgres_micros => postgres_micros.saturating_add(POSTGRES_EPOCH_IN_UNIX_MICROS),
    }
}

/// Microseconds since the Unix epoch as a timestamptz, exactly; `i64::MAX` (a time that
/// never comes) is `infinity`, and so is anything past Postgres' range (nothing before
/// it can occur: `i64::MIN` is `-infinity`).
pub(crate) fn from_unix_micros(micros: i64) -> TimestampWithTimeZone {
    if micros == i64::MAX {
        return TimestampWithTimeZone::positive_infinity();
    }
    if micros == i64::MIN {
        return TimestampWithTimeZone::negative_infinity();
    }
    TimestampWithTimeZone::try_from(micros - POSTGRES_EPOCH_IN_UNIX_MICROS).unwrap_or_else(|_| {
        if micros > 0 {
            TimestampWithTimeZone::positive_infinity()
        } else {
            TimestampWithTimeZone::negative_infinity()
        }
    })
}

/// Whether `lead_score.now` is set: the clock is simulated, and may read before the
/// rows' last writes.
pub(crate) fn clock_simulated() -> bool {
    SIMULATED_NOW.load(Ordering::Relaxed) != NOT_SIMULATED
}

/// "Now" for scoring: `lead_score.now` when set, otherwise the start of the current
/// transaction (like `now()`), so every decision in one transaction sees one instant.
pub(crate) fn now_unix_micros() -> i64 {
    match SIMULATED_NOW.load(Ordering::Relaxed) {
        NOT_SIMULATED => {
            // SAFETY: reads the current transaction's start time; always valid in a backend.
            let postgres_micros = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
            postgres_micros.saturating_add(POSTGRES_EPOCH_IN_UNIX_MICROS)
        }
        simulated => simulated,
    }
}

/// "Now" for deciding what has happened when scores are written (triggers, rescore,
/// tick): `lead_score.now` when set, otherwise the later of the transaction's start and
/// the wall clock. A writer that waited for another's lock must count the events that
/// writer stamped after our transaction began: they are in the past by now, not in the
/// future, and leaving them to the next tick would show readers a stale score.
pub(crate) fn decision_now_unix_micros() -> i64 {
    match SIMULATED_NOW.load(Ordering::Relaxed) {
        NOT_SIMULATED => {
            // SAFETY: reads the system clock through Postgres; always valid in a backend.
            let wall = unsafe { pg_sys::GetCurrentTimestamp() }
                .saturating_add(POSTGRES_EPOCH_IN_UNIX_MICROS);
            now_unix_micros().max(wall)
        }
        simulated => simulated,
    }
}

/// The extension's clock as a timestamptz (`lead_score.now()`).
pub(crate) fn now_timestamp() -> TimestampWithTimeZone {
    let postgres_micros = now_unix_micros().saturating_sub(POSTGRES_EPOCH_IN_UNIX_MICROS);
    TimestampWithTimeZone::try_from(postgres_micros)
        .unwrap_or_else(|_| TimestampWithTimeZone::positive_infinity())
}

/// An interval's length in seconds, as `extract(epoch from ...)` measures it.
pub(crate) fn interval_seconds(interval: &Interval) -> f64 {
    IntervalParts { months: interval.months(), days: interval.days(), micros: interval.micros() }
        .seconds()
}

fn parse_setting(text: &CStr) -> Result<i64, ()> {
    let text = text.to_str().map_err(|_| ())?;
    if text.trim().is_empty() {
        return Ok(NOT_SIMULATED);
    }
    parse_timestamp(text).ok_or(())
}

unsafe extern "C-unwind" fn check_now(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: Postgres passes a valid pointer to a NUL-terminated string (or NULL).
    let value = unsafe { *newval };
    if value.is_null() || parse_setting(unsafe { CStr::from_ptr(value) }).is_ok() {
        return true;
    }
    // SAFETY: GUC_check_errdetail_string takes a palloc'd message, as the macro does.
    unsafe {
        pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(
            c"lead_score.now takes an ISO 8601 timestamp such as '2024-06-01 12:00:00+00' (UTC when no offset is given), or '' for the real clock."
                .as_ptr(),
        );
    }
    false
}

unsafe extern "C-unwind" fn assign_now(newval: *const c_char, _extra: *mut c_void) {
    let parsed = if newval.is_null() {
        NOT_SIMULATED
    } else {
        // SAFETY: the check hook accepted this same NUL-terminated string.
        parse_setting(unsafe { CStr::from_ptr(newval) }).unwrap_or(NOT_SIMULATED)
    };
    SIMULATED_NOW.store(parsed, Ordering::Relaxed);
}

/// Called once from `_PG_init`.
pub(crate) fn register_settings() {
    // SAFETY: called in _PG_init, in the backend's main thread; NOW_SETTING lives forever.
    unsafe {
        pg_sys::DefineCustomStringVariable(
            c"lead_score.now".as_ptr(),
            c"The instant pg_lead_score treats as now (empty: the transaction's start).".as_ptr(),
            c"For tests, back-fills and what-if questions: reads, score(), triggers, tick() and verify() use it. Superusers only, or roles granted SET ON PARAMETER lead_score.now."
                .as_ptr(),
            &raw mut NOW_SETTING,
            c"".as_ptr(),
            // Superuser-only: the triggers date what they record by it.
            pg_sys::GucContext::PGC_SUSET,
            0,
            Some(check_now),
            Some(assign_now),
            None,
        );
        // Typos such as `SET lead_score.nwo = ...` become errors instead of placeholders.
        pg_sys::MarkGUCPrefixReserved(c"lead_score".as_ptr());
    }
}
