//! Reading rows in place: those of the last SPI result, and those a query streams
//! straight from the executor ([`for_each_row`]). pgrx's row accessors copy every
//! value into the caller's memory context, where it stays until the function returns:
//! over a whole events table that is gigabytes. These read the tuples where they are.

use pgrx::array::RawArray;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::{SpiClient, SpiTupleTable};
use pgrx::{FromDatum, PgMemoryContexts};
use serde_json::Value as Json;

use crate::pg::base::clock::to_unix_micros;
use crate::pg::base::decayed::read_stored;
use crate::pg::base::errors::internal;
use crate::pg::base::jsonb::{json_text_to_json, jsonb_datum_to_json};
use crate::pg::base::params::Params;
use lead_score_core::decay::DecayedSum;
use lead_score_core::record_facts::ColumnValue;

/// The rows of one statement's result, read in place. SPI keeps a result table until
/// the connection ends (pgrx never frees one sooner), so the rows stay valid while
/// other statements run, and the lifetime keeps them from outliving the connection.
pub(crate) struct Rows<'conn> {
    table: *mut pg_sys::SPITupleTable,
    _result: SpiTupleTable<'conn>,
}

impl<'conn> Rows<'conn> {
    /// Run `query` with `args` and keep its result (none for a statement that returns
    /// no rows).
    pub(crate) fn select<Q: pgrx::spi::Query<'conn>>(
        client: &SpiClient<'conn>,
        query: Q,
        args: &[pgrx::datum::DatumWithOid<'_>],
    ) -> pgrx::spi::Result<Rows<'conn>> {
        let result = client.select(query, None, args)?;
        // SAFETY: `SPI_tuptable` is the table of the statement just run (pgrx clears it
        // before each statement): nothing ran since.
        let table = unsafe { pg_sys::SPI_tuptable };
        Ok(Rows { table, _result: result })
    }

    /// Its rows, in order. Each first checks for interrupts: loops over a result table
    /// run no executor that would (a score history reads one contact's events once per
    /// step), and a statement_timeout or a cancel must stop them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = RawRow<'_>> {
        // SAFETY: the table is live for as long as `self` (see `Rows`).
        let (count, desc, vals) = unsafe {
            match self.table.as_ref() {
                None => (0, std::ptr::null_mut(), std::ptr::null_mut()),
                Some(table) => (table.numvals as usize, table.tupdesc, table.vals),
            }
        };
        (0..count).map(move |i| {
            pgrx::check_for_interrupts!();
            // SAFETY: `i` is below the table's row count.
            RawRow { tuple: unsafe { *vals.add(i) }, desc, _rows: std::marker::PhantomData }
        })
    }

    /// The first row, if any.
    pub(crate) fn first(&self) -> Option<RawRow<'_>> {
        self.iter().next()
    }

    /// The first column of every row, which must be text, as text (NULLs skipped).
    pub(crate) fn texts(&self) -> Vec<String> {
        let mut rows = self.iter().peekable();
        if rows.peek().is_some_and(|row| row.type_oid(1) != pg_sys::TEXTOID) {
            internal("reading a column of text", "the column is not text");
        }
        rows.filter_map(|row| row.text(1).map(str::to_owned)).collect()
    }
}

/// One row of a [`Rows`], valid as long as it.
pub(crate) struct RawRow<'rows> {
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    _rows: std::marker::PhantomData<&'rows ()>,
}

impl Row for RawRow<'_> {
    fn datum(&self, column: i32) -> Option<pg_sys::Datum> {
        let mut is_null = false;
        // SAFETY: tuple and descriptor come from the same live SPI result.
        let datum = unsafe { pg_sys::SPI_getbinval(self.tuple, self.desc, column, &mut is_null) };
        (!is_null).then_some(datum)
    }

    fn type_oid(&self, column: i32) -> pg_sys::Oid {
        // SAFETY: the descriptor is the live SPI result's.
        unsafe { pg_sys::SPI_gettypeid(self.desc, column) }
    }
}

/// A row being read, by column number (1-based). The typed readers trust the caller to
/// ask each column for its type (the queries cast what they select).
pub(crate) trait Row {
    /// Column `column`, `None` when NULL.
    fn datum(&self, column: i32) -> Option<pg_sys::Datum>;

    /// The type of column `column`.
    fn type_oid(&self, column: i32) -> pg_sys::Oid;

    /// A text column, borrowed from the tuple.
    fn text(&self, column: i32) -> Option<&str> {
        // SAFETY: callers only ask text columns for text (the queries cast to ::text).
        self.datum(column).and_then(|d| unsafe { <&str>::from_datum(d, false) })
    }

    /// A timestamptz column as microseconds since the Unix epoch. `infinity` (and times
    /// beyond what microseconds since 1970 hold in 64 bits, past the year 294246) is
    /// `i64::MAX`, a future that never comes; `-infinity` is `i64::MIN`, worth nothing.
    fn time(&self, column: i32) -> Option<i64> {
        // SAFETY: callers only ask timestamptz columns for times.
        self.datum(column)
            .and_then(|d| unsafe { TimestampWithTimeZone::from_datum(d, false) })
            .map(to_unix_micros)
    }

    /// A bigint column.
    fn int8(&self, column: i32) -> Option<i64> {
        // SAFETY: callers only ask bigint columns for integers.
        self.datum(column).and_then(|d| unsafe { i64::from_datum(d, false) })
    }

    /// A tid column.
    fn tid(&self, column: i32) -> Option<pg_sys::ItemPointerData> {
        // SAFETY: callers only ask tid columns for tids.
        self.datum(column).and_then(|d| unsafe { pg_sys::ItemPointerData::from_datum(d, false) })
    }

    /// A boolean column.
    fn boolean(&self, column: i32) -> Option<bool> {
        // SAFETY: callers only ask boolean columns for booleans.
        self.datum(column).and_then(|d| unsafe { bool::from_datum(d, false) })
    }

    /// A float8 column.
    fn float(&self, column: i32) -> Option<f64> {
        // SAFETY: callers only ask float8 columns for floats.
        self.datum(column).and_then(|d| unsafe { f64::from_datum(d, false) })
    }

    /// A bigint[] column (NULL elements dropped). Read in place when it has no NULLs:
    /// pgrx's `Array` looks the element type up again for every value.
    fn int8_array(&self, column: i32) -> Option<Vec<i64>> {
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
    fn text_array(&self, column: i32) -> Option<Vec<String>> {
        // SAFETY: callers only ask text[] columns for text arrays.
        let array = self.datum(column).and_then(|d| unsafe { Array::<&str>::from_datum(d, false) });
        array.map(|a| a.iter().flatten().map(str::to_owned).collect())
    }

    /// A `lead_score.decayed` column.
    fn decayed(&self, column: i32) -> Option<DecayedSum> {
        // SAFETY: callers only ask lead_score.decayed columns for decayed sums.
        self.datum(column).map(|d| unsafe { read_stored(d) })
    }

    /// A jsonb column, as JSON (NULL as JSON null): any depth, any number (see
    /// `jsonb::jsonb_datum_to_json`). A json one (the facts of events whose properties
    /// column is json) is read from its text (see `jsonb::json_text_to_json`).
    fn json(&self, column: i32) -> Json {
        let Some(datum) = self.datum(column) else { return Json::Null };
        // SAFETY: callers only ask jsonb or json columns for JSON; the datum is of the
        // type SPI reports for its column.
        unsafe {
            if self.type_oid(column) == pg_sys::JSONOID {
                <&str>::from_datum(datum, false).map_or(Json::Null, json_text_to_json)
            } else {
                jsonb_datum_to_json(datum)
            }
        }
    }

    /// A column of a contact or account as the rules read it: numbers, booleans and
    /// text as they are, JSON (what `to_jsonb` made of other types, and json columns,
    /// read as they are) parsed. Another
    /// type (a column whose type changed under a cached plan) is read as its text form.
    fn column_value(&self, column: i32) -> ColumnValue {
        use pg_sys::BuiltinOid as Oid;
        let Some(datum) = self.datum(column) else { return ColumnValue::Null };
        // SAFETY: the datum is of the type SPI reports for its column.
        unsafe {
            let type_oid = self.type_oid(column);
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
                Ok(Oid::JSONBOID) => ColumnValue::Json(jsonb_datum_to_json(datum)),
                Ok(Oid::JSONOID) => <&str>::from_datum(datum, false)
                    .map_or(ColumnValue::Null, |t| ColumnValue::Json(json_text_to_json(t))),
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

/// A row as the executor hands it to [`for_each_row`]'s callback.
pub(crate) struct SlotRow {
    slot: *mut pg_sys::TupleTableSlot,
}

impl Row for SlotRow {
    fn datum(&self, column: i32) -> Option<pg_sys::Datum> {
        // SAFETY: the slot's attributes were all deformed before the callback; column
        // numbers come from the query the caller wrote.
        unsafe {
            let index = usize::try_from(column - 1).ok()?;
            if column > (*(*self.slot).tts_tupleDescriptor).natts {
                return None;
            }
            (!*(*self.slot).tts_isnull.add(index)).then(|| *(*self.slot).tts_values.add(index))
        }
    }

    fn type_oid(&self, column: i32) -> pg_sys::Oid {
        // SAFETY: as above.
        // (pgrx reads the attribute the way each Postgres version lays it out.)
        let desc =
            unsafe { pgrx::PgTupleDesc::from_pg_unchecked((*self.slot).tts_tupleDescriptor) };
        let index = usize::try_from(column - 1).unwrap_or(usize::MAX);
        desc.get(index).map_or(pg_sys::InvalidOid, |attribute| attribute.atttypid)
    }
}

/// What `for_each_row` hands the executor: a `DestReceiver` (first, so a pointer to
/// one is a pointer to the other) and the callback.
#[repr(C)]
struct RowReceiver<'a> {
    receiver: pg_sys::DestReceiver,
    /// Whether to go on: `false` ends the query's execution after this row.
    each: &'a mut dyn FnMut(&SlotRow) -> bool,
    /// Where the callback's Postgres allocations go; reset every `RESET_EVERY` rows.
    memory: pg_sys::MemoryContext,
    rows: u64,
}

const RESET_EVERY: u64 = 10_000;

#[pg_guard]
unsafe extern "C-unwind" fn receive_row(
    slot: *mut pg_sys::TupleTableSlot,
    receiver: *mut pg_sys::DestReceiver,
) -> bool {
    let receiver = &mut *receiver.cast::<RowReceiver<'_>>();
    // The executor checks between tuples it scans, not around what the callback does
    // with each (a sort or an aggregate hands over all its rows at the end).
    pgrx::check_for_interrupts!();
    pg_sys::slot_getallattrs(slot);
    let caller = pg_sys::MemoryContextSwitchTo(receiver.memory);
    let go_on = (receiver.each)(&SlotRow { slot });
    pg_sys::MemoryContextSwitchTo(caller);
    receiver.rows += 1;
    if receiver.rows.is_multiple_of(RESET_EVERY) {
        pg_sys::MemoryContextReset(receiver.memory);
    }
    go_on
}

#[pg_guard]
unsafe extern "C-unwind" fn receiver_startup(
    _receiver: *mut pg_sys::DestReceiver,
    _operation: std::ffi::c_int,
    _desc: pg_sys::TupleDesc,
) {
}

#[pg_guard]
unsafe extern "C-unwind" fn receiver_done(_receiver: *mut pg_sys::DestReceiver) {}

/// Run `query` with `params`, and hand every row to
/// `each` as the executor produces it. Reading a whole table through a cursor copies
/// every row into a result table first, and reads each value back out of the copy:
/// most of what the read costs, over an events table. Errors are raised as Postgres
/// errors.
pub(crate) fn for_each_row(query: &str, params: &Params<'_>, each: &mut dyn FnMut(&SlotRow)) {
    for_each_row_while(query, params, &mut |row| {
        each(row);
        true
    });
}

/// As `for_each_row`, until `each` returns `false`: the executor stops there (the
/// rest of the query never runs), and the call returns `false`.
pub(crate) fn for_each_row_while(
    query: &str,
    params: &Params<'_>,
    each: &mut dyn FnMut(&SlotRow) -> bool,
) -> bool {
    let mut stopped = false;
    let each = &mut |row: &SlotRow| {
        let go_on = each(row);
        stopped |= !go_on;
        go_on
    };
    let args = params.args();
    let query = std::ffi::CString::new(query).expect("queries are built without NUL bytes");
    let memory = PgMemoryContexts::new("lead_score rows");
    let count = args.len();
    // SAFETY: SPI is connected (callers hold an SpiClient); the plan, parameter list and
    // receiver outlive the execution, and the receiver's callbacks match its layout.
    unsafe {
        let mut types: Vec<pg_sys::Oid> = args.iter().map(|arg| arg.oid()).collect();
        let plan = pg_sys::SPI_prepare(query.as_ptr(), count as i32, types.as_mut_ptr());
        if plan.is_null() {
            let code = pg_sys::SPI_result;
            internal("preparing a streamed query", format!("SPI error {code}"));
        }
        let list = pg_sys::makeParamList(count as i32);
        (*list).numParams = count as i32;
        for (i, arg) in args.iter().enumerate() {
            let value = arg.datum().map(|d| d.sans_lifetime());
            *(*list).params.as_mut_ptr().add(i) = pg_sys::ParamExternData {
                value: value.unwrap_or(pg_sys::Datum::from(0)),
                isnull: value.is_none(),
                pflags: pg_sys::PARAM_FLAG_CONST as u16,
                ptype: arg.oid(),
            };
        }
        let mut receiver = RowReceiver {
            receiver: pg_sys::DestReceiver {
                receiveSlot: Some(receive_row),
                rStartup: Some(receiver_startup),
                rShutdown: Some(receiver_done),
                rDestroy: Some(receiver_done),
                mydest: pg_sys::CommandDest::DestNone,
            },
            each,
            memory: memory.value(),
            rows: 0,
        };
        let options = pg_sys::SPIExecuteOptions {
            params: list,
            dest: (&raw mut receiver).cast(),
            ..Default::default()
        };
        let status = pg_sys::SPI_execute_plan_extended(plan, &options);
        if status < 0 {
            internal("running a streamed query", format!("SPI error {status}"));
        }
        pg_sys::SPI_freeplan(plan);
    }
    !stopped
}
