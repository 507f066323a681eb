//! Reading a CRM table by its oid through the table access method, with no SQL text:
//! no name is looked up, so neither a rename nor a schema the reader may not use
//! changes what is read (a partition's schema may belong to another role, who can
//! revoke USAGE on it; the table is still the one the oid names). Used where the
//! schema guard must read partitions that came into or left an attached tree. The
//! caller runs it as the table's owner, restricted (`as_crm_owner`): the column's
//! output function is the only code it runs, the key types' built-in ones.

use std::collections::BTreeSet;
use std::ffi::{CStr, CString};

use pgrx::pg_sys;

use crate::pg::base::errors::{raise, Failure};

/// Whether the current user may read `oid` as a plain scan does: SELECT on it, and no
/// row-level security in force for it (the owner's own table, without FORCE).
fn check_readable(oid: pg_sys::Oid, what: &str) {
    // SAFETY: catalog lookups by oid for the current user.
    let (allowed, rls) = unsafe {
        (
            pg_sys::pg_class_aclcheck(
                oid,
                pg_sys::GetUserId(),
                pg_sys::ACL_SELECT as pg_sys::AclMode,
            ) == pg_sys::AclResult::ACLCHECK_OK,
            pg_sys::check_enable_rls(oid, pg_sys::InvalidOid, true)
                == pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32,
        )
    };
    if !allowed || rls {
        raise(Failure::InsufficientPrivilege(format!(
            "pg_lead_score: {what} (oid {}) cannot be read by its owner without row-level security",
            oid.to_u32()
        )));
    }
}

/// Scan `oid` under a fresh snapshot (as a statement would take), calling `row` with
/// each row's slot until it returns false; a table without rows of its own (a
/// partitioned one) has none.
fn scan(oid: pg_sys::Oid, mut row: impl FnMut(*mut pg_sys::TupleTableSlot) -> bool) {
    // SAFETY: the relation is opened (and locked) by oid and closed here; the scan,
    // slot and snapshot are ended on the way out, and an error on the way is cleaned
    // up by the transaction's abort (resource owner, memory context, snapshot stack).
    unsafe {
        let relation = pg_sys::table_open(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        // (A partitioned table holds no row of its own: its partitions do.)
        if (*(*relation).rd_rel).relkind != pg_sys::RELKIND_RELATION as std::ffi::c_char {
            pg_sys::table_close(relation, pg_sys::NoLock as pg_sys::LOCKMODE);
            return;
        }
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        let slot = pg_sys::table_slot_create(relation, std::ptr::null_mut());
        let scan =
            pg_sys::table_beginscan(relation, pg_sys::GetActiveSnapshot(), 0, std::ptr::null_mut());
        while pg_sys::table_scan_getnextslot(
            scan,
            pg_sys::ScanDirection::ForwardScanDirection,
            slot,
        ) {
            pgrx::check_for_interrupts!();
            if !row(slot) {
                break;
            }
        }
        pg_sys::table_endscan(scan);
        pg_sys::ExecDropSingleTupleTableSlot(slot);
        pg_sys::PopActiveSnapshot();
        pg_sys::table_close(relation, pg_sys::NoLock as pg_sys::LOCKMODE);
    }
}

/// Whether table `oid` holds a row (`what` names it in errors).
pub(crate) fn holds_rows(oid: pg_sys::Oid, what: &str) -> bool {
    check_readable(oid, what);
    let mut found = false;
    scan(oid, |_| {
        found = true;
        false
    });
    found
}

/// The distinct non-NULL values of column `column` of table `oid`, as text (the
/// column's output function), sorted as text.
pub(crate) fn distinct_texts(oid: pg_sys::Oid, column: &str, what: &str) -> Vec<String> {
    check_readable(oid, what);
    let name = CString::new(column).unwrap_or_default();
    // SAFETY: catalog lookups by oid and column name.
    let (attnum, output) = unsafe {
        let attnum = pg_sys::get_attnum(oid, name.as_ptr());
        if attnum == pg_sys::InvalidAttrNumber as pg_sys::AttrNumber {
            raise(Failure::Misconfigured(format!(
                "pg_lead_score: {what} (oid {}) has no column \"{column}\"",
                oid.to_u32()
            )));
        }
        let mut output = pg_sys::InvalidOid;
        let mut varlena = false;
        pg_sys::getTypeOutputInfo(pg_sys::get_atttype(oid, attnum), &mut output, &mut varlena);
        (attnum, output)
    };
    let mut found = BTreeSet::new();
    scan(oid, |slot| {
        let mut null = false;
        // SAFETY: the slot holds the scan's current row; attnum is one of its columns.
        let text = unsafe {
            let datum = pg_sys::slot_getattr(slot, attnum as i32, &mut null);
            (!null).then(|| {
                let text = pg_sys::OidOutputFunctionCall(output, datum);
                let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
                pg_sys::pfree(text.cast());
                owned
            })
        };
        found.extend(text);
        true
    });
    found.into_iter().collect()
}
