//! Statement parameters built in their binary form: no text to format here and parse
//! again in the statement.

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;

/// A datum built already, handed over as it is.
pub(crate) struct Ready(pub pg_sys::Datum);

impl pgrx::datum::IntoDatum for Ready {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::InvalidOid
    }
}

/// An array parameter of `element_type` (`array_type` its array type) from the
/// elements' datums; by-reference elements are copied into the array.
///
/// # Safety
/// The datums must be values of `element_type`, whose length, passing and alignment
/// are `length`, `by_value` and `align`.
pub(crate) unsafe fn array_of(
    elements: &mut [pg_sys::Datum],
    element_type: pg_sys::Oid,
    array_type: pg_sys::Oid,
    (length, by_value, align): (i32, bool, u8),
) -> DatumWithOid<'static> {
    let built = pg_sys::construct_array(
        elements.as_mut_ptr(),
        elements.len() as i32,
        element_type,
        length,
        by_value,
        align as core::ffi::c_char,
    );
    DatumWithOid::new(Ready(pg_sys::Datum::from(built)), array_type)
}

/// A `tid[]` parameter.
pub(crate) fn tid_array(tids: &[pg_sys::ItemPointerData]) -> DatumWithOid<'static> {
    let mut elements: Vec<pg_sys::Datum> =
        tids.iter().map(|tid| pg_sys::Datum::from(std::ptr::from_ref(tid))).collect();
    // SAFETY: pointers to tids, which construct_array copies (6 bytes, aligned to 2).
    unsafe {
        array_of(
            &mut elements,
            pg_sys::TIDOID,
            pg_sys::TIDARRAYOID,
            (size_of::<pg_sys::ItemPointerData>() as i32, false, pg_sys::TYPALIGN_SHORT),
        )
    }
}

/// A statement's parameters, bound in the order its text names them: `bind` hands out
/// the next placeholder with the value, so the text, the parameter types and the
/// arguments agree by construction (no `$n` counted by hand).
#[derive(Default)]
pub(crate) struct Params<'a> {
    args: Vec<DatumWithOid<'a>>,
}

/// A parameter's place in a statement; shown as `$n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Placeholder(usize);

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${}", self.0)
    }
}

impl<'a> Params<'a> {
    /// Bind the next parameter, typed as its value says.
    pub(crate) fn bind(&mut self, value: impl Into<DatumWithOid<'a>>) -> Placeholder {
        self.args.push(value.into());
        Placeholder(self.args.len())
    }

    /// The parameters' types, to prepare the statement with.
    pub(crate) fn types(&self) -> Vec<pgrx::pg_sys::PgOid> {
        self.args.iter().map(|arg| pgrx::pg_sys::PgOid::from(arg.oid())).collect()
    }

    /// The arguments, to run the statement with.
    pub(crate) fn args(&self) -> &[DatumWithOid<'a>] {
        &self.args
    }
}
