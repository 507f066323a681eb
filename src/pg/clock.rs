//! The extension's clock, and conversions between Postgres and Unix time.

use pgrx::prelude::*;

/// Microseconds between the Unix epoch (1970) and the Postgres epoch (2000).
const POSTGRES_EPOCH_IN_UNIX_MICROS: i64 = 946_684_800_000_000;

pub(crate) fn to_unix_micros(at: TimestampWithTimeZone) -> i64 {
    pg_sys::TimestampTz::from(at).saturating_add(POSTGRES_EPOCH_IN_UNIX_MICROS)
}

/// "Now" for scoring: the start of the current transaction, like `now()`, so that
/// every decision in one transaction sees the same instant.
pub(crate) fn now_unix_micros() -> i64 {
    // SAFETY: reads a field of the current transaction's state; always valid in a backend.
    let postgres_micros = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    postgres_micros.saturating_add(POSTGRES_EPOCH_IN_UNIX_MICROS)
}
