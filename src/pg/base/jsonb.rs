//! Reading jsonb values into JSON, totally: any depth, any number.
//!
//! pgrx's `JsonB` prints the value and parses the text with serde_json, which refuses
//! documents nested deeper than 128 levels and numbers beyond the double range: a CRM
//! row holding either would make its write fail. This walks the stored value with
//! Postgres' own iterator instead, without recursion, and never fails:
//!
//! * containers deeper than [`MAX_DEPTH`] are read as empty containers of their kind.
//!   No rule can tell: a field path has at most `MAX_FIELD_PARTS` parts.
//! * a number is read as serde_json would read its text, except one beyond the double
//!   range (`1e400`), which is read as its decimal text and so matches no numeric
//!   condition. (Tiny ones such as `1e-400` read as 0.)

use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable,
};
use pgrx::FromDatum;
use serde_json::{Map, Value as Json};

use lead_score_core::condition::MAX_FIELD_PARTS;

/// How deep containers are read: deeper than any field path reaches, with room for
/// `contains` looking into an array at the end of one.
pub(crate) const MAX_DEPTH: usize = MAX_FIELD_PARTS + 4;

enum Frame {
    Array(Vec<Json>),
    Object(Map<String, Json>, String),
}

fn put(stack: &mut [Frame], value: Json) -> Option<Json> {
    match stack.last_mut() {
        Some(Frame::Array(items)) => items.push(value),
        Some(Frame::Object(entries, key)) => {
            entries.insert(std::mem::take(key), value);
        }
        None => return Some(value),
    }
    None
}

/// A number's decimal text as JSON: what serde_json reads it as, or, beyond the
/// double range, the text itself.
pub(crate) fn number_from_text(text: &str) -> Json {
    // (serde_json's own float reading is not exact near the ends of the double range:
    // the largest double's digits overflow it. Rust's parser rounds correctly.)
    let number = serde_json::from_str::<serde_json::Number>(text).ok().or_else(|| {
        text.parse::<f64>().ok().filter(|f| f.is_finite()).and_then(serde_json::Number::from_f64)
    });
    number.map_or_else(|| Json::String(text.to_owned()), Json::Number)
}

/// # Safety
/// `value` must be a scalar or binary `JsonbValue` the iterator just returned.
unsafe fn scalar(value: &pg_sys::JsonbValue) -> Json {
    match value.type_ {
        pg_sys::jbvType::jbvString => {
            let string = value.val.string;
            let bytes = std::slice::from_raw_parts(string.val.cast::<u8>(), string.len as usize);
            Json::String(String::from_utf8_lossy(bytes).into_owned())
        }
        pg_sys::jbvType::jbvNumeric => {
            let text = pgrx::direct_function_call::<&std::ffi::CStr>(
                pg_sys::numeric_out,
                &[Some(pg_sys::Datum::from(value.val.numeric))],
            );
            text.map_or(Json::Null, |t| number_from_text(&t.to_string_lossy()))
        }
        pg_sys::jbvType::jbvBool => Json::Bool(value.val.boolean),
        // A container left unread below `MAX_DEPTH`.
        pg_sys::jbvType::jbvBinary => {
            let header = (*value.val.binary.data).header;
            if header & pg_sys::JB_FARRAY != 0 {
                Json::Array(Vec::new())
            } else {
                Json::Object(Map::new())
            }
        }
        _ => Json::Null,
    }
}

/// A jsonb datum as JSON (see the module's notes).
///
/// # Safety
/// `datum` must be a non-NULL jsonb datum.
pub(crate) unsafe fn jsonb_datum_to_json(datum: pg_sys::Datum) -> Json {
    let jsonb = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()).cast::<pg_sys::Jsonb>();
    let mut iterator = pg_sys::JsonbIteratorInit(&raw mut (*jsonb).root);
    let mut value: pg_sys::JsonbValue = std::mem::zeroed();
    let mut stack: Vec<Frame> = Vec::new();
    let mut raw_scalar = false;
    let mut result = Json::Null;
    loop {
        let skip_nested = stack.len() >= MAX_DEPTH;
        let token = pg_sys::JsonbIteratorNext(&raw mut iterator, &raw mut value, skip_nested);
        let done = match token {
            pg_sys::JsonbIteratorToken::WJB_BEGIN_ARRAY => {
                raw_scalar |= stack.is_empty() && value.val.array.rawScalar;
                stack.push(Frame::Array(Vec::new()));
                None
            }
            pg_sys::JsonbIteratorToken::WJB_BEGIN_OBJECT => {
                stack.push(Frame::Object(Map::new(), String::new()));
                None
            }
            pg_sys::JsonbIteratorToken::WJB_KEY => {
                if let (Json::String(key), Some(Frame::Object(_, pending))) =
                    (scalar(&value), stack.last_mut())
                {
                    *pending = key;
                }
                None
            }
            pg_sys::JsonbIteratorToken::WJB_VALUE | pg_sys::JsonbIteratorToken::WJB_ELEM => {
                put(&mut stack, scalar(&value))
            }
            pg_sys::JsonbIteratorToken::WJB_END_ARRAY
            | pg_sys::JsonbIteratorToken::WJB_END_OBJECT => {
                let container = match stack.pop() {
                    Some(Frame::Array(items)) => Json::Array(items),
                    Some(Frame::Object(entries, _)) => Json::Object(entries),
                    None => Json::Null,
                };
                put(&mut stack, container)
            }
            _ => break,
        };
        if let Some(done) = done {
            result = done;
        }
    }
    match result {
        // A scalar document is stored as a one-element "raw scalar" array.
        Json::Array(mut items) if raw_scalar && items.len() == 1 => items.pop().unwrap_or_default(),
        other => other,
    }
}

/// A jsonb value read by [`jsonb_datum_to_json`]: for functions that must take any
/// legal document (`rule_matches`, `score_record`, the rule checks), and for reading
/// rules back from the catalog exactly as they were checked.
pub(crate) struct AnyJsonb(pub Json);

impl pgrx::IntoDatum for AnyJsonb {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        pgrx::JsonB(self.0).into_datum()
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

impl FromDatum for AnyJsonb {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<AnyJsonb> {
        (!is_null).then(|| AnyJsonb(jsonb_datum_to_json(datum)))
    }
}

// SAFETY: the argument is a jsonb datum, read as such above.
unsafe impl SqlTranslatable for AnyJsonb {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(AnyJsonb);
    const TYPE_ORIGIN: pgrx::pgrx_sql_entity_graph::metadata::TypeOrigin =
        pgrx::pgrx_sql_entity_graph::metadata::TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}

// SAFETY: as pgrx does for its own `FromDatum` types: the argument is unboxed through
// `FromDatum` above.
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for AnyJsonb {
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        arg.unbox_arg_using_from_datum()
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(
        arg: pgrx::callconv::Arg<'_, 'fcx>,
    ) -> pgrx::nullable::Nullable<Self> {
        arg.unbox_arg_using_from_datum().into()
    }
}

/// A `json` (not jsonb) value's text as JSON, without going through jsonb: json keeps
/// any string escape, `\u0000` too, which no jsonb (and no text) can hold, so the CRM's
/// write of such a value must not fail because a rule reads it; the rule sees the
/// string as written. Duplicate keys keep the last value, as jsonb does. A document
/// serde_json refuses (nested deeper than 128 levels, a number beyond the double range)
/// is read through jsonb as before (see [`jsonb_datum_to_json`]), unless it holds a
/// `\u0000` escape too: that rare one reads as JSON null rather than fail.
pub(crate) fn json_text_to_json(text: &str) -> Json {
    if let Ok(value) = serde_json::from_str::<Json>(text) {
        return value;
    }
    if text.contains("\\u0000") {
        return Json::Null;
    }
    let Ok(text) = std::ffi::CString::new(text) else { return Json::Null };
    // SAFETY: jsonb_in takes a C string and returns a non-NULL jsonb datum.
    unsafe {
        pgrx::direct_function_call::<pg_sys::Datum>(
            pg_sys::jsonb_in,
            &[Some(pg_sys::Datum::from(text.as_ptr()))],
        )
        .map_or(Json::Null, |datum| jsonb_datum_to_json(datum))
    }
}
