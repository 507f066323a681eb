//! Memory for the schema guard (sql/schema_guard.sql): what each attached profile read
//! just before a DDL command ran, kept from the command's `ddl_command_start` event
//! trigger to its `ddl_command_end`, where it is compared with the catalog after it.
//!
//! The snapshots form a stack, as commands nest (a command run by a function that
//! another command called). Each remembers the subtransaction it was taken in: one that
//! aborts takes its snapshots with it (their commands never ended), and the end of the
//! transaction clears the rest (a command that commits in the middle, such as `CREATE
//! INDEX CONCURRENTLY`, ends in another transaction and finds none: it is not checked).

use std::cell::{Cell, RefCell};

use pgrx::prelude::*;

thread_local! {
    static SNAPSHOTS: RefCell<Vec<(pg_sys::SubTransactionId, serde_json::Value)>> =
        const { RefCell::new(Vec::new()) };
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
}

/// Forget every snapshot at the end of a transaction. (Runs inside commit and abort
/// processing: it must not fail, so a snapshot in use is left alone.)
unsafe extern "C-unwind" fn at_transaction_end(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    if matches!(
        event,
        pg_sys::XactEvent::XACT_EVENT_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PREPARE
    ) {
        SNAPSHOTS.with(|s| {
            if let Ok(mut snapshots) = s.try_borrow_mut() {
                snapshots.clear();
            }
        });
    }
}

/// Forget the snapshots taken in a subtransaction that aborts, and in those it began.
unsafe extern "C-unwind" fn at_subtransaction_end(
    event: pg_sys::SubXactEvent::Type,
    aborted: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        SNAPSHOTS.with(|s| {
            if let Ok(mut snapshots) = s.try_borrow_mut() {
                snapshots.retain(|(taken_in, _)| *taken_in < aborted);
            }
        });
    }
}

/// Keep a command's snapshot until its end.
pub(crate) fn push(snapshot: serde_json::Value) {
    if !REGISTERED.with(|r| r.replace(true)) {
        // SAFETY: plain functions, registered once per backend.
        unsafe {
            pg_sys::RegisterXactCallback(Some(at_transaction_end), std::ptr::null_mut());
            pg_sys::RegisterSubXactCallback(Some(at_subtransaction_end), std::ptr::null_mut());
        }
    }
    // SAFETY: reads backend state.
    let subtransaction = unsafe { pg_sys::GetCurrentSubTransactionId() };
    SNAPSHOTS.with(|s| s.borrow_mut().push((subtransaction, snapshot)));
}

/// The snapshot of the command now ending, or None when there is none (see the
/// module's comment).
pub(crate) fn pop() -> Option<serde_json::Value> {
    SNAPSHOTS.with(|s| s.borrow_mut().pop()).map(|(_, snapshot)| snapshot)
}

/// Whether this runs inside pg_lead_score's own install or update script.
pub(crate) fn in_own_script() -> bool {
    // SAFETY: reads backend state; get_extension_oid with missing_ok does not raise.
    unsafe {
        pg_sys::creating_extension
            && pg_sys::CurrentExtensionObject
                == pg_sys::get_extension_oid(c"pg_lead_score".as_ptr(), true)
    }
}
