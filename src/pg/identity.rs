//! Who is acting, for the audit columns of the catalog.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::ffi::CStr;

use crate::pg::errors::{raise, Failure};

/// `lead_score.acting_role()`: the role that called into the extension. Inside the
/// SECURITY DEFINER editing functions `current_user` is the extension's owner, so the
/// catalog records the outer role instead: the one set by login or `SET ROLE`.
#[pg_extern(stable, parallel_safe, schema = "lead_score")]
fn acting_role() -> String {
    // SAFETY: GetOuterUserId reads backend state; GetUserNameFromId with noerr = true
    // returns NULL instead of raising for a dropped role.
    unsafe {
        let name = pg_sys::GetUserNameFromId(pg_sys::GetOuterUserId(), true);
        if name.is_null() {
            return String::from("(dropped role)");
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
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
    let _restore = switch(owner, context);
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
