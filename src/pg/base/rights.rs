//! Whose rights: the role calling the extension (authorised and recorded), the switch
//! to the extension's owner for the writes only it may make, and the switch to the
//! CRM tables' owner for reading them.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use std::cell::Cell;
use std::ffi::CStr;

use crate::pg::base::attached::Attached;

use crate::pg::base::errors::{raise, spi_failed, Failure};

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

/// Puts back the calling role an entry point replaced, when it returns or fails.
pub(crate) struct CallEntered {
    saved: pg_sys::Oid,
}

impl Drop for CallEntered {
    fn drop(&mut self) {
        CALLING.set(self.saved);
    }
}

/// A call enters the extension: the current user is its calling role until the
/// returned guard drops.
pub(crate) fn enter_call() -> CallEntered {
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

/// `for_caller` with `calling` recorded as the calling role instead of the current
/// user: for a trigger fired by our own statement run as another role (the routing
/// UPDATE, run as the CRM's owner), whose calling role stays the one that caused it.
pub(crate) fn for_caller_as<R>(
    calling: pg_sys::Oid,
    owner: pg_sys::Oid,
    f: impl FnOnce() -> R,
) -> R {
    let _entered = CallEntered { saved: CALLING.replace(calling) };
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
            crate::pg::base::errors::internal("finding a function's owner", function.to_u32());
        }
        let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_proc>(tuple)).proowner;
        pg_sys::ReleaseSysCache(tuple);
        owner
    }
}

/// Whether the caller runs inside a security-restricted operation (an index expression
/// evaluated by `ANALYZE`, `CREATE INDEX` or autovacuum, a materialized view's query on
/// `REFRESH`, ...), where code runs as a table's owner while the session may be a
/// superuser's. The catalog tables' guard trigger refuses writes there (through
/// `lead_score.in_restricted_operation()`), as Postgres refuses `SET ROLE`.
pub(crate) fn in_restricted_operation() -> bool {
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
        .unwrap_or_else(|e| crate::pg::base::errors::internal("finding the extension's owner", e))
        .unwrap_or_else(|| {
            crate::pg::base::errors::internal("finding the extension's owner", "none")
        })
}

/// Which contacts a recomputation for a caller covers.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Covering {
    /// One contact the caller found through the contacts' own policies (`standing`).
    OneContact,
    /// Every contact a relation of the caller's names (evaluate, train).
    AnyContact,
}

/// A recomputation from history shows what the attached tables hold about a contact (an
/// explanation, how many of its events each rule counted; a score at any time, when its
/// events happened): the caller must be allowed to read them all. 42501 if not; `doing`
/// names what was refused ("explain scores"). The recomputation reads as the tables'
/// owner, whom row-level security does not restrict: an events or accounts table whose
/// policies apply to the caller is refused too, or it would show rows they hide. For
/// one contact, the contacts table's policies decide which contacts the caller may ask
/// about; covering any contact, a contacts table whose policies apply is refused as well.
pub(crate) fn check_may_read_tables(
    client: &SpiClient<'_>,
    attached: &Attached,
    doing: &str,
    covering: Covering,
) {
    let attachment = &attached.attachment;
    let tables: Vec<pg_sys::Oid> = [attachment.contacts_oid, attachment.events_oid]
        .into_iter()
        .chain(attachment.accounts_oid)
        .collect();
    // The table whose policies may apply: the contacts, for one contact; none otherwise.
    let exempt = match covering {
        Covering::OneContact => attachment.contacts_oid,
        Covering::AnyContact => pg_sys::InvalidOid,
    };
    let what = "checking privileges on the attached tables";
    let allowed = client
        .select(
            // (`IS TRUE`: no NULL, which bool_and would skip, may let a table through;
            // an exempt oid that is invalid arrives as NULL.)
            "SELECT pg_catalog.bool_and((pg_catalog.has_table_privilege(r, 'SELECT')
                                         AND ((r OPERATOR(pg_catalog.=) $2) IS TRUE
                                              OR NOT pg_catalog.row_security_active(r::pg_catalog.regclass))) IS TRUE)
               FROM pg_catalog.unnest($1::pg_catalog.oid[]) AS r",
            Some(1),
            &[tables.into(), exempt.into()],
        )
        .and_then(|rows| rows.first().get_one::<bool>())
        .unwrap_or_else(|e| spi_failed(attachment, what, e));
    if allowed != Some(true) {
        let tables = match covering {
            Covering::OneContact => "the events or accounts table",
            Covering::AnyContact => "any of them",
        };
        raise(
            Failure::InsufficientPrivilege(format!(
                "permission denied to {doing} of profile \"{}\"",
                attachment.profile_name
            ))
            .hint(format!(
                "It reads what the attached tables hold: it needs SELECT on each of \
                 them, and no row-level security on {tables} that applies to you."
            )),
        );
    }
}
