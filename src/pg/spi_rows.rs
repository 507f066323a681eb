//! Reading the rows of the last SPI result in place. pgrx's row accessors copy every
//! value into the caller's memory context, where it stays until the function returns:
//! over a whole events table that is gigabytes. These read the tuples where they are.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::FromDatum;
use serde_json::Value as Json;

use crate::pg::clock::to_unix_micros;

/// One row of `SPI_tuptable`, valid until that table is freed or replaced.
pub(crate) struct RawRow {
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
}

/// The rows of the current `SPI_tuptable` (none when there is none).
///
/// # Safety
/// The rows must not outlive the table: read them before running another statement.
pub(crate) unsafe fn current_rows() -> impl Iterator<Item = RawRow> {
    let table = pg_sys::SPI_tuptable;
    let (count, desc, vals) = if table.is_null() {
        (0, std::ptr::null_mut(), std::ptr::null_mut())
    } else {
        ((*table).numvals as usize, (*table).tupdesc, (*table).vals)
    };
    (0..count).map(move |i| RawRow { tuple: *vals.add(i), desc })
}

impl RawRow {
    /// Column `column` (1-based), `None` when NULL.
    fn datum(&self, column: i32) -> Option<pg_sys::Datum> {
        let mut is_null = false;
        // SAFETY: tuple and descriptor come from the same live SPI result.
        let datum = unsafe { pg_sys::SPI_getbinval(self.tuple, self.desc, column, &mut is_null) };
        (!is_null).then_some(datum)
    }

    /// A text column, borrowed from the tuple.
    pub fn text(&self, column: i32) -> Option<&str> {
        // SAFETY: callers only ask text columns for text (the queries cast to ::text).
        self.datum(column).and_then(|d| unsafe { <&str>::from_datum(d, false) })
    }

    /// A timestamptz column as microseconds since the Unix epoch; infinities are `None`.
    pub fn time(&self, column: i32) -> Option<i64> {
        // SAFETY: callers only ask timestamptz columns for times.
        self.datum(column)
            .and_then(|d| unsafe { TimestampWithTimeZone::from_datum(d, false) })
            .filter(|t| t.is_finite())
            .map(to_unix_micros)
    }

    /// A jsonb column, as JSON (NULL as JSON null).
    pub fn json(&self, column: i32) -> Json {
        // SAFETY: callers only ask jsonb columns for JSON.
        self.datum(column)
            .and_then(|d| unsafe { pgrx::JsonB::from_datum(d, false) })
            .map_or(Json::Null, |j| j.0)
    }
}
