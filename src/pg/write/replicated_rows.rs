//! Replicated writes: a logical-replication apply worker (and anybody writing under
//! `session_replication_role = replica`) fires row triggers only, never the statement
//! triggers the CRM's own writes are scored by (but truncate's). So each table also has
//! the profile's row triggers, `ENABLE REPLICA`: each row they see is presented to the
//! statement path as a statement of one row, its transition tables made of that row,
//! and scored exactly as the same write made by the CRM would be. Under that role the
//! statement triggers leave the rows to them, so that no row counts twice (the initial
//! copy of a subscription fires both).

use std::ffi::CStr;

use pgrx::pg_sys;

use crate::pg::base::errors::internal;

/// Whether this session writes as replication does (`session_replication_role =
/// replica`), when only row triggers enabled for it fire.
pub(crate) fn replicated_session() -> bool {
    // SAFETY: a plain global the GUC machinery sets.
    unsafe { pg_sys::SessionReplicationRole == pg_sys::SESSION_REPLICATION_ROLE_REPLICA as i32 }
}

/// Whether `trigger` fired for one row.
pub(crate) fn fired_for_row(trigger: &pgrx::PgTrigger<'_>) -> bool {
    trigger.trigger_data().tg_event & pg_sys::TRIGGER_EVENT_ROW != 0
}

const NEW_TABLE: &CStr = c"changed";
const OLD_TABLE: &CStr = c"before_change";

/// Call `f` with the row `trigger` fired for presented as an AFTER ... FOR EACH
/// STATEMENT firing of the same trigger, whose transition tables (`changed`,
/// `before_change`, as the statement triggers name them) hold that row alone.
pub(crate) fn as_one_row_statement<R>(
    trigger: &pgrx::PgTrigger<'_>,
    f: impl FnOnce(&pgrx::PgTrigger<'_>) -> R,
) -> R {
    let data = trigger.trigger_data();
    // SAFETY: the trigger data, its trigger and slots live for the duration of the
    // call; the copies below point into them or into stores made here, and live until
    // `f` returns. The stores are ended after; an error on the way frees them with the
    // memory context.
    unsafe {
        let store_of = |slot: *mut pg_sys::TupleTableSlot| {
            let store = pg_sys::tuplestore_begin_heap(false, false, pg_sys::work_mem);
            pg_sys::tuplestore_puttupleslot(store, slot);
            store
        };
        let operation = data.tg_event & pg_sys::TRIGGER_EVENT_OPMASK;
        let (old_slot, new_slot) = match operation {
            pg_sys::TRIGGER_EVENT_INSERT => (None, Some(data.tg_trigslot)),
            pg_sys::TRIGGER_EVENT_UPDATE => (Some(data.tg_trigslot), Some(data.tg_newslot)),
            pg_sys::TRIGGER_EVENT_DELETE => (Some(data.tg_trigslot), None),
            other => internal("a replicated row", format!("a row trigger fired for event {other}")),
        };
        let mut statement_trigger = *data.tg_trigger;
        let mut statement = *data;
        statement.tg_event = operation;
        statement.tg_oldtable = old_slot.map_or(std::ptr::null_mut(), store_of);
        statement.tg_newtable = new_slot.map_or(std::ptr::null_mut(), store_of);
        statement_trigger.tgoldtable =
            if old_slot.is_some() { OLD_TABLE.as_ptr().cast_mut() } else { std::ptr::null_mut() };
        statement_trigger.tgnewtable =
            if new_slot.is_some() { NEW_TABLE.as_ptr().cast_mut() } else { std::ptr::null_mut() };
        statement.tg_trigger = &mut statement_trigger;
        statement.tg_trigtuple = std::ptr::null_mut();
        statement.tg_newtuple = std::ptr::null_mut();
        statement.tg_trigslot = std::ptr::null_mut();
        statement.tg_newslot = std::ptr::null_mut();
        let mut call: pg_sys::FunctionCallInfoBaseData = std::mem::zeroed();
        call.context = (&mut statement as *mut pg_sys::TriggerData).cast();
        let presented = pgrx::PgTrigger::from_fcinfo(&call)
            .unwrap_or_else(|e| internal("presenting a replicated row", format!("{e:?}")));
        let result = f(&presented);
        for store in [statement.tg_oldtable, statement.tg_newtable] {
            if !store.is_null() {
                pg_sys::tuplestore_end(store);
            }
        }
        result
    }
}
