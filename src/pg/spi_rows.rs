//! Reading the rows of the last SPI result in place. pgrx's row accessors copy every
//! value into the caller's memory context, where it stays until the function returns:
//! over a whole events table that is gigabytes. These read the tuples where they are.

use pgrx::array::RawArray;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::FromDatum;
use serde_json::Value as Json;

use crate::pg::clock::to_unix_micros;
use crate::pg::decayed_sum::lead_score::Decayed;
use crate::scoring::decay::DecayedSum;
use crate::scoring::record_facts::ColumnValue;

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

    /// A bigint column.
    pub fn int8(&self, column: i32) -> Option<i64> {
        // SAFETY: callers only ask bigint columns for integers.
        self.datum(column).and_then(|d| unsafe { i64::from_datum(d, false) })
    }

    /// A float8 column.
    pub fn float(&self, column: i32) -> Option<f64> {
        // SAFETY: callers only ask float8 columns for floats.
        self.datum(column).and_then(|d| unsafe { f64::from_datum(d, false) })
    }

    /// A bigint[] column (NULL elements dropped). Read in place when it has no NULLs:
    /// pgrx's `Array` looks the element type up again for every value.
    pub fn int8_array(&self, column: i32) -> Option<Vec<i64>> {
        let datum = self.datum(column)?;
        // SAFETY: callers only ask bigint[] columns for integer arrays; the detoasted
        // copy (if one is made) lives in the current memory context.
        unsafe {
            let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()).cast::<pg_sys::ArrayType>();
            let mut raw = RawArray::from_ptr(std::ptr::NonNull::new(array)?);
            if raw.oid() == pg_sys::INT8OID && !raw.any_nulls() {
                return Some(raw.data::<i64>().as_ref().to_vec());
            }
            Array::<i64>::from_datum(datum, false).map(|a| a.iter().flatten().collect())
        }
    }

    /// A text[] column (NULL elements dropped).
    pub fn text_array(&self, column: i32) -> Option<Vec<String>> {
        // SAFETY: callers only ask text[] columns for text arrays.
        let array = self.datum(column).and_then(|d| unsafe { Array::<&str>::from_datum(d, false) });
        array.map(|a| a.iter().flatten().map(str::to_owned).collect())
    }

    /// A `lead_score.decayed` column.
    pub fn decayed(&self, column: i32) -> Option<DecayedSum> {
        // SAFETY: callers only ask lead_score.decayed columns for decayed sums.
        self.datum(column).and_then(|d| unsafe { Decayed::from_datum(d, false) }).map(|d| d.0)
    }

    /// A jsonb column, as JSON (NULL as JSON null).
    pub fn json(&self, column: i32) -> Json {
        // SAFETY: callers only ask jsonb columns for JSON.
        self.datum(column)
            .and_then(|d| unsafe { pgrx::JsonB::from_datum(d, false) })
            .map_or(Json::Null, |j| j.0)
    }

    /// A column of a contact or account as the rules read it: numbers, booleans and
    /// text as they are, JSON (what `to_jsonb` made of other types) parsed. Another
    /// type (a column whose type changed under a cached plan) is read as its text form.
    pub fn column_value(&self, column: i32) -> ColumnValue {
        use pg_sys::BuiltinOid as Oid;
        let Some(datum) = self.datum(column) else { return ColumnValue::Null };
        // SAFETY: the datum is of the type SPI reports for its column.
        unsafe {
            let type_oid = pg_sys::SPI_gettypeid(self.desc, column);
            let number = |n: Option<f64>| n.map_or(ColumnValue::Null, ColumnValue::float);
            match Oid::from_u32(type_oid.to_u32()) {
                Ok(Oid::INT2OID) => number(i16::from_datum(datum, false).map(f64::from)),
                Ok(Oid::INT4OID) => number(i32::from_datum(datum, false).map(f64::from)),
                Ok(Oid::INT8OID) => number(i64::from_datum(datum, false).map(|n| n as f64)),
                Ok(Oid::FLOAT8OID) => number(f64::from_datum(datum, false)),
                Ok(Oid::BOOLOID) => {
                    bool::from_datum(datum, false).map_or(ColumnValue::Null, ColumnValue::Bool)
                }
                Ok(Oid::TEXTOID | Oid::VARCHAROID) => <&str>::from_datum(datum, false)
                    .map_or(ColumnValue::Null, |t| ColumnValue::Text(t.to_owned())),
                Ok(Oid::JSONBOID) => pgrx::JsonB::from_datum(datum, false)
                    .map_or(ColumnValue::Null, |j| ColumnValue::Json(j.0)),
                _ => {
                    let (mut output, mut varlena) = (pg_sys::InvalidOid, false);
                    pg_sys::getTypeOutputInfo(type_oid, &mut output, &mut varlena);
                    let text = pg_sys::OidOutputFunctionCall(output, datum);
                    let value = std::ffi::CStr::from_ptr(text).to_string_lossy().into_owned();
                    ColumnValue::Text(value)
                }
            }
        }
    }
}
