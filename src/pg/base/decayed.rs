//! The stored layout of `lead_score.decayed` (see `api::decay` for the type): its oids,
//! sums passed as parameters in that layout, and stored values read back, so score rows
//! are written and read without parsing.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

use crate::pg::base::errors::{raise, Failure};
use crate::pg::base::params::{array_of, Ready};
use lead_score_core::decay::DecayedSum;

/// `lead_score.decayed`'s oid and its array type's, for parameters passed in the
/// stored layout (looked up by name once per cached attachment).
#[derive(Clone, Copy)]
pub(crate) struct DecayedTypes {
    pub element: pg_sys::Oid,
    pub array: pg_sys::Oid,
}

impl DecayedTypes {
    pub(crate) fn look_up(client: &pgrx::spi::SpiClient<'_>) -> DecayedTypes {
        let what = "looking up the type lead_score.decayed";
        let found = client
            .select(
                "SELECT 'lead_score.decayed'::regtype::oid, 'lead_score.decayed[]'::regtype::oid",
                Some(1),
                &[],
            )
            .and_then(|t| t.first().get_two::<pg_sys::Oid, pg_sys::Oid>())
            .unwrap_or_else(|e| crate::pg::base::errors::internal(what, e));
        match found {
            (Some(element), Some(array)) => DecayedTypes { element, array },
            _ => crate::pg::base::errors::internal(what, "not found"),
        }
    }

    /// A `lead_score.decayed` parameter: the sum in its stored layout, nothing to parse.
    pub(crate) fn value(&self, sum: &DecayedSum) -> DatumWithOid<'static> {
        // SAFETY: the bytes are a lead_score.decayed in its stored layout.
        unsafe { DatumWithOid::new(Ready(stored(sum)), self.element) }
    }

    /// A `lead_score.decayed[]` parameter of the sums, in their stored layout.
    pub(crate) fn array<'a>(
        &self,
        sums: impl Iterator<Item = &'a DecayedSum>,
    ) -> DatumWithOid<'static> {
        let mut elements: Vec<pg_sys::Datum> = sums.map(stored).collect();
        // SAFETY: varlena values of the element type, copied into the new array (and
        // then freed: a bulk statement builds many arrays in one memory context).
        unsafe {
            let array = array_of(
                &mut elements,
                self.element,
                self.array,
                (-1, false, pg_sys::TYPALIGN_INT),
            );
            for element in elements {
                pg_sys::pfree(element.cast_mut_ptr());
            }
            array
        }
    }
}

/// A sum as a palloc'd `lead_score.decayed` datum.
pub(crate) fn stored(sum: &DecayedSum) -> pg_sys::Datum {
    pgrx::varlena::rust_byte_slice_to_bytea(&sum.to_bytes()).into_pg().into()
}

/// A stored `lead_score.decayed` datum (not NULL) as a sum; XX001 when it is not in the
/// stored layout.
///
/// # Safety
/// `datum` must be a `lead_score.decayed` value.
pub(crate) unsafe fn read_stored(datum: pg_sys::Datum) -> DecayedSum {
    // Short values stay where they are (no copy); compressed ones are expanded.
    // SAFETY: the caller passes a varlena of the type.
    let parsed = unsafe {
        let stored = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        DecayedSum::from_bytes(pgrx::varlena::varlena_to_byte_slice(stored))
    };
    parsed.unwrap_or_else(|| {
        raise(Failure::Corrupted(
            "a stored lead_score.decayed value is not in its stored layout".to_owned(),
        ))
    })
}
