//! How much memory the backend holds, for passes that must stay within
//! `maintenance_work_mem`.

use pgrx::pg_sys;

/// The bytes a full pass's summaries may take: `maintenance_work_mem`, the setting
/// Postgres gives its own maintenance work (index builds, VACUUM) on the same scale.
pub(crate) fn pass_budget() -> usize {
    // SAFETY: a GUC variable of the backend, read on its own thread.
    let kilobytes = unsafe { pg_sys::maintenance_work_mem };
    usize::try_from(kilobytes).unwrap_or(0).saturating_mul(1024)
}

/// The bytes the backend's heap holds now: Rust's allocations and Postgres's memory
/// contexts alike come from malloc (large blocks mapped on their own included).
pub(crate) fn held() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    info.uordblks.saturating_add(info.hblkhd)
}
