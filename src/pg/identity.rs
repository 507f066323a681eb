//! Whose rights: the role calling the extension (authorised and recorded), the switch
//! to the extension's owner for the writes only it may make, and the switch to the
//! CRM tables' owner for reading them.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::cell::Cell;
use std::ffi::CStr;

use crate::pg::errors::{raise, Failure};

thread_local! {
    /// The role a call into the extension came from, while that call runs (see
    /// `calling_role`); invalid outside one.
    static CALLING: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

/// The role the extension authorises and records for the call in progress: the one
/// `GetUserId()` named where the call entered the extension (an editing function, a
/// trigger, `adjust`, `rescore`, `tick`), whatever identity our own code switched to
/// since; outside a call, the current user. Not the session's role (`GetOuterUserId()`):
/// inside another role's SECURITY DEFINER function, or an index expression a
/// superuser's `ANALYZE` evaluates, the session may be a superuser's while the code
/// calling us is not.
pub(crate) fn calling_role() -> pg_sys::Oid {
    match CALLING.get() {
        // SAFETY: reads backend state.
        pg_sys::InvalidOid => unsafe { pg_sys::GetUserId() },
        calling => calling,
    }
}

/// A role's name, as the audit columns record it.
pub(crate) fn role_name(role: pg_sys::Oid) -> String {
    // SAFETY: GetUserNameFromId with noerr = true returns NULL instead of raising for a
    // dropped role; the name is copied at once.
    unsafe {
        let name = pg_sys::GetUserNameFromId(role, true);
        if name.is_null() {
            return String::from("(dropped role)");
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// `lead_score.acting_role()`: the role recorded in the audit columns, `calling_role`.
/// Volatile and parallel restricted: it reads this backend's call in progress, which a
/// parallel worker does not share.
#[pg_extern(volatile, parallel_restricted, schema = "lead_score")]
fn acting_role() -> String {
    role_name(calling_role())
}

/// Puts back the calling role an entry point replaced, when it returns or fails.
struct CallEntered {
    saved: pg_sys::Oid,
}

impl Drop for CallEntered {
    fn drop(&mut self) {
        CALLING.set(self.saved);
    }
}

/// A call enters the extension: the current user is its calling role until the
/// returned guard drops.
fn enter_call() -> CallEntered {
    // SAFETY: reads backend state.
    let saved = CALLING.replace(unsafe { pg_sys::GetUserId() });
    CallEntered { saved }
}

/// The entry of a function that runs as its caller (`adjust`): `f` runs with the
/// current user recorded as the calling role.
pub(crate) fn entered_by_caller<R>(f: impl FnOnce() -> R) -> R {
    let _entered = enter_call();
    f()
}

/// The entry of a function declared SECURITY INVOKER that acts with the rights of
/// `owner` (the extension's owner) for whoever calls it: records the caller as the
/// calling role, then runs `f` as `owner`, as SECURITY DEFINER would, but without
/// losing who called.
pub(crate) fn for_caller<R>(owner: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let _entered = enter_call();
    as_extension_owner_for_caller(owner, f)
}

/// The owner of function `function`: whose rights SECURITY DEFINER would give it.
pub(crate) fn function_owner(function: pg_sys::Oid) -> pg_sys::Oid {
    // SAFETY: a syscache lookup by oid; the tuple is read, then released.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::PROCOID as i32,
            pg_sys::Datum::from(function),
        );
        if tuple.is_null() {
            crate::pg::errors::internal("finding a function's owner", function.to_u32());
        }
        let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_proc>(tuple)).proowner;
        pg_sys::ReleaseSysCache(tuple);
        owner
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
    .unwrap_or_else(|e| crate::pg::errors::internal(what, e))
    .unwrap_or_else(|| crate::pg::errors::internal(what, entry.to_u32()))
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
            crate::pg::errors::internal(
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
            crate::pg::errors::internal(
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

/// `lead_score.in_restricted_operation()`: whether the caller runs inside a
/// security-restricted operation (an index expression evaluated by `ANALYZE`, `CREATE
/// INDEX` or autovacuum, a materialized view's query on `REFRESH`, ...), where code
/// runs as a table's owner while the session may be a superuser's. The catalog
/// tables' guard trigger refuses writes there, as Postgres refuses `SET ROLE`.
#[pg_extern(stable, parallel_safe, schema = "lead_score")]
fn in_restricted_operation() -> bool {
    // SAFETY: reads backend state.
    unsafe { pg_sys::InSecurityRestrictedOperation() }
}

/// Refuse `what` inside a security-restricted operation (42501), for the functions
/// that write score rows, tags and transitions but not the catalog (whose guard trigger
/// refuses the others): see `in_restricted_operation`.
pub(crate) fn refuse_within_restricted_operation(what: &str) {
    if in_restricted_operation() {
        raise(
            Failure::InsufficientPrivilege(format!(
                "pg_lead_score: {what} is not allowed within a security-restricted operation"
            ))
            .hint("Index expressions, ANALYZE, autovacuum and REFRESH MATERIALIZED VIEW run functions this way; call the extension's functions directly."),
        );
    }
}

// Whose rights a statement runs with.
//
// The triggers and maintenance functions run as the extension's owner (a superuser):
// they write the profiles' state tables, which nobody else may. But a statement that
// reads a CRM table's columns evaluates code the table's owner chose: a cast of a
// column's type to json, an operator of that type, a row-level security policy. Such
// statements run through `as_crm_owner`, as the owner of the CRM's tables, in a
// security-restricted operation with a pinned `search_path`, as `REFRESH MATERIALIZED
// VIEW` runs its query as the view's owner. Whatever that code does, it does with its
// owner's rights, and any setting it changes is undone when the statement is done.

/// `search_path` for every statement of ours, and for user code we evaluate: the
/// system catalog first, our own schema (nobody else can create objects in it), and
/// `pg_temp` last, where Postgres never looks for functions or operators. Every
/// relation in our statements is schema-qualified, so no temporary table is read.
pub(crate) const SAFE_SEARCH_PATH: &std::ffi::CStr = c"pg_catalog, lead_score, pg_temp";

/// The identity `as_crm_owner` switched away from: what `as_extension_owner` returns
/// to. Only `as_crm_owner` makes one, and hands it to its closure.
pub(crate) struct Outer {
    user: pg_sys::Oid,
    context: i32,
}

/// Put back an identity, and roll back a GUC nest level, when a switch ends. During a
/// panic (a Postgres error unwinding to the function's boundary) Postgres is not
/// touched: the (sub)transaction's abort restores the user id, the security context
/// and the settings.
struct Restore {
    user: pg_sys::Oid,
    context: i32,
    nest_level: i32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // SAFETY: rolls back the nest level this switch opened (inner levels are closed
        // already), then restores what GetUserIdAndSecContext returned before it.
        unsafe {
            pg_sys::AtEOXact_GUC(false, self.nest_level);
            pg_sys::SetUserIdAndSecContext(self.user, self.context);
        }
    }
}

fn current_identity() -> (pg_sys::Oid, i32) {
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    // SAFETY: reads backend state into the two locals.
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    (user, context)
}

/// Become `user` in `context`, in a new GUC nest level with `SAFE_SEARCH_PATH`, until
/// the returned guard is dropped. Whatever settings code run meanwhile changes (a
/// `set_config('search_path', ...)` in a user's function) are undone then.
fn switch(user: pg_sys::Oid, context: i32) -> Restore {
    let (saved_user, saved_context) = current_identity();
    // SAFETY: the switch is undone by `Restore` (or by the transaction's abort); the
    // nest level is opened after the switch, as Postgres' own callers do.
    unsafe {
        pg_sys::SetUserIdAndSecContext(user, context);
        let nest_level = pg_sys::NewGUCNestLevel();
        let restore = Restore { user: saved_user, context: saved_context, nest_level };
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            SAFE_SEARCH_PATH.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        restore
    }
}

/// Run `f` as `owner`, the owner of the CRM tables it reads, in a security-restricted
/// operation (no temporary objects, no `SET ROLE`, no cursors left open) with
/// `SAFE_SEARCH_PATH`; settings changed meanwhile are rolled back. `f` gets the identity
/// it runs inside of, for `as_extension_owner`.
pub(crate) fn as_crm_owner<R>(owner: pg_sys::Oid, f: impl FnOnce(&Outer) -> R) -> R {
    let (user, context) = current_identity();
    let outer = Outer { user, context };
    let _restore = switch(owner, context | pg_sys::SECURITY_RESTRICTED_OPERATION as i32);
    f(&outer)
}

/// Inside `as_crm_owner`, run `f` with the rights that were in force before it (the
/// extension owner's), for writing the extension's own tables while a CRM read
/// streams. It gets a GUC nest level of its own with `SAFE_SEARCH_PATH`: the CRM
/// owner's code may have changed settings (say, `search_path`) for the rest of the
/// read, and none of that may reach statements run with the extension's rights.
pub(crate) fn as_extension_owner<R>(outer: &Outer, f: impl FnOnce() -> R) -> R {
    let _restore = switch(outer.user, outer.context);
    f()
}

/// From a function that runs as its caller (granted to it alone), run `f` as the
/// extension's owner, who owns the tables `f` writes, with `SAFE_SEARCH_PATH`; settings
/// changed meanwhile are rolled back. The caller's own checks come before, as the
/// caller: unlike SECURITY DEFINER, this leaves `current_user` the role that called.
pub(crate) fn as_extension_owner_for_caller<R>(owner: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let (_, context) = current_identity();
    // As SECURITY DEFINER marks it: no SET ROLE until the switch ends.
    let _restore = switch(owner, context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
    f()
}

/// The extension's owner (see `as_extension_owner_for_caller`).
pub(crate) fn extension_owner(client: &SpiClient<'_>) -> pg_sys::Oid {
    client
        .select(
            "SELECT e.extowner FROM pg_catalog.pg_extension e
              WHERE e.extname OPERATOR(pg_catalog.=) 'pg_lead_score'",
            Some(1),
            &[],
        )
        .and_then(|rows| rows.first().get_one::<pg_sys::Oid>())
        .unwrap_or_else(|e| crate::pg::errors::internal("finding the extension's owner", e))
        .unwrap_or_else(|| crate::pg::errors::internal("finding the extension's owner", "none"))
}
