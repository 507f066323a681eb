//! The schema guard (reference: "Live scores", sql/schema_guard.sql): the event
//! triggers keep what each attached profile read from a DDL command's start to its
//! end here (see `base::schema_guard`), and leave the extension's own scripts alone.

use pgrx::prelude::*;
use pgrx::JsonB;

use crate::pg::base::schema_guard;

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.schema_guard_push(snapshot)`: keep a command's snapshot until its end.
    #[pg_extern(volatile, parallel_unsafe)]
    fn schema_guard_push(snapshot: JsonB) {
        schema_guard::push(snapshot.0);
    }

    /// `lead_score.schema_guard_pop()`: the snapshot of the command now ending, or NULL
    /// when there is none.
    #[pg_extern(volatile, parallel_unsafe)]
    fn schema_guard_pop() -> Option<JsonB> {
        schema_guard::pop().map(JsonB)
    }

    /// `lead_score.in_own_script()`: whether this runs inside pg_lead_score's own install
    /// or update script, whose commands the guard leaves alone (they change the
    /// extension's objects, never a CRM table's columns, and may change the guard's
    /// own functions mid-way).
    #[pg_extern(stable, parallel_restricted)]
    fn in_own_script() -> bool {
        schema_guard::in_own_script()
    }
}
