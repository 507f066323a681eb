//! Who is acting, for the audit columns of the catalog.

use pgrx::prelude::*;
use std::ffi::CStr;

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
