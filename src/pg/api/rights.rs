//! Rights (reference: "Who may edit", "Security model"): the role the extension
//! records for a call, whether a call runs inside a security-restricted operation, and
//! the C entry of the editing functions, which records their caller.

use pgrx::prelude::*;

use crate::pg::base::rights::{calling_role, enter_call, role_name};

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.acting_role()`: the role recorded in the audit columns, `calling_role`.
    /// Volatile and parallel restricted: it reads this backend's call in progress, which a
    /// parallel worker does not share.
    #[pg_extern(volatile, parallel_restricted)]
    fn acting_role() -> String {
        role_name(calling_role())
    }

    /// `lead_score.in_restricted_operation()`: see `rights::in_restricted_operation`.
    /// The catalog tables' guard trigger calls it.
    #[pg_extern(stable, parallel_safe)]
    fn in_restricted_operation() -> bool {
        crate::pg::base::rights::in_restricted_operation()
    }
}

// The editing functions written in SQL (and `rescore`) are declared in SQL as C
// functions calling `lead_score_for_caller`, each with its own signature. That entry
// records the calling role, then calls the function's implementation,
// `lead_score.<name>_for_caller` with the same arguments: SECURITY DEFINER, executable
// by nobody but the extension's owner, so nobody names a caller but this entry.

#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_lead_score_for_caller() -> &'static pg_sys::Pg_finfo_record {
    const V1_API: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1_API
}

/// The implementation of the function `entry`: `<its name>_for_caller` in its schema,
/// with its argument types.
fn implementation_of(entry: pg_sys::Oid) -> pg_sys::Oid {
    let what = "finding an editing function's implementation";
    Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT i.oid FROM pg_catalog.pg_proc p
           JOIN pg_catalog.pg_proc i
             ON i.pronamespace OPERATOR(pg_catalog.=) p.pronamespace
            AND i.proname OPERATOR(pg_catalog.=)
                (p.proname::pg_catalog.text OPERATOR(pg_catalog.||) '_for_caller')::pg_catalog.name
            AND i.proargtypes OPERATOR(pg_catalog.=) p.proargtypes
            AND i.prosecdef AND NOT i.proretset
          WHERE p.oid OPERATOR(pg_catalog.=) $1",
        &[entry.into()],
    )
    .unwrap_or_else(|e| crate::pg::base::errors::internal(what, e))
    .unwrap_or_else(|| crate::pg::base::errors::internal(what, entry.to_u32()))
}

/// See above: `entry(args)` calls `entry_for_caller(args)` with the caller recorded.
///
/// # Safety
/// Called by Postgres' function manager only, for the functions declared with it.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn lead_score_for_caller(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    // SAFETY: `fcinfo` is the function manager's call of a function declared with this
    // entry; the implementation is called with a copy of its arguments, through the
    // function manager (which runs it SECURITY DEFINER), inside a guard that turns a
    // Postgres error into a panic so the calling role is put back.
    unsafe {
        let nargs = (*fcinfo).nargs as usize;
        let implementation = implementation_of((*(*fcinfo).flinfo).fn_oid);
        let mut target = std::mem::MaybeUninit::<pg_sys::FmgrInfo>::zeroed();
        pg_sys::fmgr_info(implementation, target.as_mut_ptr());
        let mut target = target.assume_init();
        if target.fn_nargs as usize != nargs || target.fn_retset {
            crate::pg::base::errors::internal(
                "calling an editing function's implementation",
                implementation.to_u32(),
            );
        }
        let size = std::mem::size_of::<pg_sys::FunctionCallInfoBaseData>()
            + nargs * std::mem::size_of::<pg_sys::NullableDatum>();
        let call = pg_sys::palloc0(size) as pg_sys::FunctionCallInfo;
        (*call).flinfo = &mut target;
        (*call).nargs = nargs as i16;
        (*call).fncollation = (*fcinfo).fncollation;
        (*call).args.as_mut_slice(nargs).copy_from_slice((*fcinfo).args.as_slice(nargs));
        // The function manager leaves strictness to its callers.
        if target.fn_strict && (*call).args.as_slice(nargs).iter().any(|arg| arg.isnull) {
            (*fcinfo).isnull = true;
            return pg_sys::Datum::from(0);
        }
        let function = target.fn_addr.unwrap_or_else(|| {
            crate::pg::base::errors::internal(
                "calling an editing function's implementation",
                "no address",
            )
        });
        let result = {
            let _entered = enter_call();
            pg_sys::ffi::pg_guard_ffi_boundary(|| function(call))
        };
        (*fcinfo).isnull = (*call).isnull;
        result
    }
}
