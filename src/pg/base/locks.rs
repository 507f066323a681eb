//! Table locks taken so that nothing the extension does ever deadlocks with the CRM's
//! writers.
//!
//! The rule: a CRM writer waits for publish, rescore, attach or detach only on a table
//! lock, and none of them ever waits for a lock while holding another one a writer may
//! be waiting for. Triggers take their profile's score table first (`attached::lock_scores`,
//! before they read the profile or any other table); publish and rescore wait for
//! that one table alone; attach and detach, which change the CRM's tables, take their
//! locks on them all together or not at all (`lock_together`).

use std::time::{Duration, Instant};

use pgrx::pg_sys;

/// How long `lock_together` holds the locks it has while it tries for the others.
const PATIENCE: Duration = Duration::from_millis(50);

/// Lock every relation in its mode, all together: wait (in the lock manager, where
/// writers queue behind this) for one of them while holding none of the others, then
/// try for the others without waiting; when one is still taken after `PATIENCE`, let
/// them all go and start over by waiting for that one. Never waiting while it holds
/// one, this is never part of a deadlock: a writer holding one table and waiting for
/// another is let through, at worst after `PATIENCE`. Locks held before the call stay
/// held. (Relations that are gone are locked all the same, as `LockRelationOid` does.)
pub(crate) fn lock_together(locks: &[(pg_sys::Oid, u32)]) {
    if locks.is_empty() {
        return;
    }
    let mut first = 0;
    loop {
        let (oid, mode) = locks[first];
        // SAFETY: locks on relation oids, held to the end of the transaction unless
        // released below (by the same oid and mode, so a lock held before stays held).
        unsafe { pg_sys::LockRelationOid(oid, mode as pg_sys::LOCKMODE) };
        let mut held = vec![false; locks.len()];
        held[first] = true;
        let started = Instant::now();
        let missing = loop {
            for (place, &(oid, mode)) in locks.iter().enumerate() {
                if !held[place] {
                    // SAFETY: as above; this does not wait.
                    held[place] = unsafe {
                        pg_sys::ConditionalLockRelationOid(oid, mode as pg_sys::LOCKMODE)
                    };
                }
            }
            match held.iter().position(|held| !held) {
                None => return,
                Some(place) if started.elapsed() >= PATIENCE => break place,
                Some(_) => {
                    pgrx::check_for_interrupts!();
                    // SAFETY: a plain sleep of a millisecond.
                    unsafe { pg_sys::pg_usleep(1_000) };
                }
            }
        };
        for (place, &(oid, mode)) in locks.iter().enumerate() {
            if held[place] {
                // SAFETY: a lock taken above, in the same mode.
                unsafe { pg_sys::UnlockRelationOid(oid, mode as pg_sys::LOCKMODE) };
            }
        }
        first = missing;
    }
}

/// The lock mode a lock mode's name in `LOCK TABLE` spells.
pub(crate) fn lock_mode(name: &str) -> Option<u32> {
    Some(match name {
        "ACCESS SHARE" => pg_sys::AccessShareLock,
        "SHARE" => pg_sys::ShareLock,
        "SHARE ROW EXCLUSIVE" => pg_sys::ShareRowExclusiveLock,
        "EXCLUSIVE" => pg_sys::ExclusiveLock,
        "ACCESS EXCLUSIVE" => pg_sys::AccessExclusiveLock,
        _ => return None,
    })
}
