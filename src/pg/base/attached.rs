//! Per-backend cache of attached profiles: the attachment, its compiled active version
//! and the SPI plans prepared for it, so a trigger call plans nothing and reads no
//! catalog.
//!
//! Invalidation rides on Postgres' relcache invalidation of
//! `lead_score.attachment_store`: attach, detach and publish call
//! `lead_score.invalidate_scoring_cache()`, which queues
//! one for every backend at commit (and marks this backend's cache stale at once). A
//! trigger locks its profile's score table before it uses the entry, and loads the
//! entry again after (see `write::statement::trigger_attachment`); taking a lock processes
//! pending invalidations, and publish holds that table until it commits, so a trigger
//! never scores with a version older than the one committed before its lock was
//! granted. A relcache reset (an overflowed queue)
//! clears the cache too, and so does any invalidation of an attached CRM table (DDL,
//! a change of owner): the attachment is then loaded and checked again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::spi::{OwnedPreparedStatement, SpiClient};

use crate::pg::base::attachment::{load_attachment, Attachment};
use crate::pg::base::catalog::{load_profile, Edition};
use crate::pg::base::decayed::DecayedTypes;
use crate::pg::base::errors::{internal, raise, spi_failed, texts, Failure};
use crate::pg::base::params::Params;
use crate::pg::base::queries::{FactsPlan, Watched};
use crate::pg::base::spi_rows::Rows;
use lead_score_core::condition::Source;
use lead_score_core::engine::CompiledProfile;

/// The statements prepared for an attachment, by what they do: each is prepared once
/// per backend, on first use, and cached under its name here.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Statement {
    /// The contacts whose due time has passed (`tick`).
    Due,
    /// Bring the highest score ceilings down to their bounds now (`tick`).
    TightenCeilings,
    /// Read some contacts' columns (`some_contacts`).
    Contacts,
    /// Read some contacts' events (`some_contacts`).
    EventsOfContacts,
    /// Read some contacts' manual adjustments (`some_contacts`).
    AdjustmentsOfContacts,
    /// Put keys in the key type's own order.
    KeyOrder,
    /// Lock score rows in key order and read them (`some_contacts`).
    LockAndRead,
    /// Lock score rows in key order, reading what their limited rules selected (the
    /// fast path).
    Lock,
    /// Lock the accounts a contacts statement gave its contacts (`triggers`), for an
    /// UPDATE (which compares the old rows) or an INSERT.
    LockAccounts {
        update: bool,
    },
    /// Drop the score rows of contacts that are gone.
    RemoveMissing,
    /// Upsert results.
    WriteScores,
    /// A statement's new events, read from its transition table. (Per table the
    /// trigger is on: a partition's transition tables have its own column layout,
    /// which a plan prepared for its parent's would misread.)
    NewEvents {
        relation: pg_sys::Oid,
    },
    /// Add one contact's new events to its stored sums.
    AddOneContactsEvents,
    /// Add several contacts' new events to their stored sums.
    AddNewEvents,
    /// The keys a statement touched, from its transition tables (which of them, and
    /// of which table, as for `NewEvents`).
    Touched {
        relation: pg_sys::Oid,
        watched: Watched,
        new_rows: bool,
        old_rows: bool,
    },
    /// Record transitions, tags and notifications (and move contacts into the stages
    /// they entered).
    RecordTransitions,
    /// Copy some contacts' tags into their score rows.
    CopySomeTags,
    /// Copy every contact's tags into their score rows.
    CopyAllTags,
    /// A contact's score and tags, locked, after tags were taken away.
    UntaggedScore,
    /// Bring a contact's due time forward.
    DueEarlier,
    /// A contact key as the key type prints it.
    StoredKey,
    /// A contact's score row as the caller sees it (`score()`, the insight functions).
    Standing,
    /// Which tagged contacts have no owner yet (`routing`), locking them or not.
    LockUnrouted,
    Unrouted,
    /// Take routing turns.
    TakeTurns,
    /// Set the owner column of routed contacts.
    RouteContacts,
    /// Record `routed` transitions.
    RecordRouted,
    /// Where a contacts statement's contacts are now: their accounts and roles.
    AccountsPlaced,
    /// Give new accounts their (empty) rows, to be locked.
    EnsureAccounts,
    /// Lock the account rows a write changes, in key order.
    LockAccountRows,
    /// Rebuild some accounts' rows from the state rows.
    RefreshAccounts,
    /// Replace one contact's entries in its account's row.
    RefreshOneAccount,
    /// Rebuild every account's row.
    RebuildAccounts,
    /// Drop every account's row.
    ClearAccounts,
    /// Give accounts the tags their score reached, recording and announcing each.
    TagAccounts,
}

/// An attached profile as the triggers use it. Entries are replaced, never changed.
pub(crate) struct Attached {
    pub attachment: Attachment,
    pub compiled: CompiledProfile,
    pub plan: FactsPlan,
    pub decayed_types: DecayedTypes,
    statements: RefCell<HashMap<Statement, Rc<OwnedPreparedStatement>>>,
}

thread_local! {
    static ATTACHED: RefCell<HashMap<i64, Rc<Attached>>> = RefCell::new(HashMap::new());
    static STALE: Cell<bool> = const { Cell::new(false) };
    /// `lead_score.attachment_store`'s oid, once known: its invalidations clear the cache.
    static WATCHED: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
    /// The attached CRM tables of the cached profiles: any change to one (a column
    /// renamed, retyped or dropped, a new owner) clears the cache too, so the next
    /// call loads the attachment again and checks it against the catalog.
    static TABLES: RefCell<rustc_hash::FxHashSet<pg_sys::Oid>> = RefCell::new(Default::default());
}

/// Registered by `_PG_init`. Runs inside invalidation processing, where nothing may
/// fail or free a plan that might be executing: it only raises a flag.
pub(crate) fn register_invalidation_callback() {
    unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
        let watched = WATCHED.with(Cell::get);
        // (A table set being filled in right now counts as watched.)
        let attached_table =
            TABLES.with(|t| t.try_borrow().map_or(true, |tables| tables.contains(&relid)));
        if relid == pg_sys::InvalidOid || relid == watched || attached_table {
            STALE.with(|s| s.set(true));
        }
    }
    // SAFETY: called once from _PG_init; the callback is a plain function.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0),
        );
    }
}

pub(crate) fn attachment_store_oid(client: &SpiClient<'_>) -> pg_sys::Oid {
    client
        .select(
            "SELECT 'lead_score.attachment_store'::pg_catalog.regclass::pg_catalog.oid",
            Some(1),
            &[],
        )
        .and_then(|t| t.first().get_one::<pg_sys::Oid>())
        .unwrap_or_else(|e| {
            crate::pg::base::errors::internal("finding lead_score.attachment_store", e)
        })
        .unwrap_or(pg_sys::InvalidOid)
}

/// The attached profile with this id, or `None` when it is not attached.
pub(crate) fn attached(client: &SpiClient<'_>, profile_id: i64) -> Option<Rc<Attached>> {
    clear_if_stale();
    if let Some(found) = ATTACHED.with(|a| a.borrow().get(&profile_id).cloned()) {
        return Some(found);
    }
    if WATCHED.with(Cell::get) == pg_sys::InvalidOid {
        WATCHED.with(|w| w.set(attachment_store_oid(client)));
    }
    let attachment = load_attachment(client, profile_id)?;
    TABLES.with(|t| {
        let mut tables = t.borrow_mut();
        tables.extend([attachment.contacts_oid, attachment.events_oid]);
        tables.extend(attachment.accounts_oid);
    });
    let compiled = load_profile(&attachment.profile_name, Edition::Active).compiled;
    let loaded = Rc::new(Attached::with_compiled(client, attachment, compiled));
    ATTACHED.with(|a| a.borrow_mut().insert(profile_id, loaded.clone()));
    Some(loaded)
}

/// Forget every cached attachment if an invalidation came since the last call.
fn clear_if_stale() {
    if STALE.with(|s| s.replace(false)) {
        // Callers hold `Rc`s to what they use, so nothing in use is freed here.
        ATTACHED.with(|a| a.borrow_mut().clear());
        TABLES.with(|t| t.borrow_mut().clear());
        // The extension may have been dropped and created again: look the oid up anew.
        WATCHED.with(|w| w.set(pg_sys::InvalidOid));
    }
}

/// The id of the profile called `profile`; 42704 when there is none.
fn profile_id(client: &SpiClient<'_>, profile: &str) -> i64 {
    let found = client
        .select(
            "SELECT id FROM lead_score.profile_store WHERE name = $1",
            Some(1),
            &[profile.into()],
        )
        .unwrap_or_else(|e| internal(format!("looking up profile \"{profile}\""), e));
    if found.is_empty() {
        raise(Failure::UnknownProfile(profile.to_owned()));
    }
    found
        .first()
        .get_one::<i64>()
        .unwrap_or_else(|e| internal(format!("looking up profile \"{profile}\""), e))
        .unwrap_or_else(|| internal(format!("profile \"{profile}\""), "it has no id"))
}

/// The attached profile called `profile`: 42704 when there is no such profile, 55000
/// when it is not attached.
pub(crate) fn attached_by_name(client: &SpiClient<'_>, profile: &str) -> Rc<Attached> {
    // A profile loaded already needs no catalog lookup (readers such as score() run once
    // per row): attach, detach, publish, a rename and a drop all invalidate the cache.
    clear_if_stale();
    let cached = ATTACHED.with(|a| {
        a.borrow().values().find(|entry| entry.attachment.profile_name == profile).cloned()
    });
    if let Some(found) = cached {
        return found;
    }
    let id = profile_id(client, profile);
    attached(client, id).unwrap_or_else(|| {
        raise(Failure::NotReady(format!("profile \"{profile}\" is not attached")))
    })
}

/// Forget everything cached in this backend (after attach, detach or publish here).
pub(crate) fn mark_stale() {
    STALE.with(|s| s.set(true));
}

impl Attached {
    /// An attachment scored with `compiled`: its plan of what to read, and no prepared
    /// statement yet. (The cache holds the active version's; `preview` makes one for a
    /// draft or another version.)
    pub fn with_compiled(
        client: &SpiClient<'_>,
        attachment: Attachment,
        mut compiled: CompiledProfile,
    ) -> Attached {
        // A state table made before 0.3.0 has no place for a stage until the update:
        // its stages are not settled meanwhile.
        if !attachment.stages_stored {
            compiled.drop_stages();
        }
        let mut plan = FactsPlan::of(&compiled);
        plan.learn_column_types(client, &attachment);
        let decayed_types = DecayedTypes::look_up(client);
        Attached { attachment, compiled, plan, decayed_types, statements: RefCell::default() }
    }

    /// The prepared statement `name` of this attachment, prepared on first use from
    /// `sql()` with the types of `params` (bound before, so `sql` can name them).
    /// `mutating` statements lock or write.
    pub fn statement(
        &self,
        client: &SpiClient<'_>,
        name: Statement,
        params: &Params<'_>,
        mutating: bool,
        sql: impl FnOnce() -> String,
    ) -> Rc<OwnedPreparedStatement> {
        if let Some(found) = self.statements.borrow().get(&name) {
            return found.clone();
        }
        let text = sql();
        let types = params.types();
        let prepared = if mutating {
            client.prepare_mut(text.as_str(), &types)
        } else {
            client.prepare(text.as_str(), &types)
        };
        let prepared = Rc::new(
            prepared
                .unwrap_or_else(|e| {
                    let profile = &self.attachment.profile_name;
                    internal(format!("profile \"{profile}\": preparing {name:?}"), e)
                })
                .keep(),
        );
        self.statements.borrow_mut().insert(name, prepared.clone());
        prepared
    }
}

/// Run a prepared statement, or raise an error naming the profile and what failed; its
/// result's rows are read in place (see `Rows`).
pub(crate) fn run<'conn>(
    client: &SpiClient<'conn>,
    attached: &Attached,
    statement: &OwnedPreparedStatement,
    what: &str,
    params: &Params<'_>,
) -> Rows<'conn> {
    Rows::select(client, statement, params.args())
        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e))
}

/// Lock a profile's state table in `mode`; false when it is gone (the profile was
/// detached while this waited). A publish holds that table in EXCLUSIVE mode until it
/// commits; once the lock is granted its invalidation has been processed, so the
/// profile loaded after this is the version it published, never the one before.
pub(crate) fn lock_scores(attached: &Attached, mode: u32) -> bool {
    let oid = attached.attachment.state_oid;
    if oid == pg_sys::InvalidOid {
        return false;
    }
    // SAFETY: a lock on a relation oid; once granted, the pending invalidations have
    // been processed, so the syscache says whether the relation is still there.
    unsafe {
        let mode = mode as pg_sys::LOCKMODE;
        pg_sys::LockRelationOid(oid, mode);
        let relation = pg_sys::SysCacheIdentifier::RELOID as i32;
        let zero = pg_sys::Datum::from(0);
        if !pg_sys::SearchSysCacheExists(relation, pg_sys::Datum::from(oid), zero, zero, zero) {
            pg_sys::UnlockRelationOid(oid, mode);
            return false;
        }
        // A transaction id marks the statements that follow as writing, which SPI runs
        // each with a fresh snapshot (pgrx runs the ones before any write on the
        // caller's, taken before this waited): the reload after this lock sees what
        // committed meanwhile. (Callers write scores next: tick and verify when anything
        // is due.)
        pg_sys::GetCurrentTransactionId();
    }
    true
}

/// `attached`, a profile's cache entry, loaded again once its state table is locked in
/// `mode` (see `lock_scores`); a profile detached meanwhile is not attached (55000).
pub(crate) fn attached_locking(
    client: &SpiClient<'_>,
    profile: &str,
    attached: &Attached,
    mode: u32,
) -> Rc<Attached> {
    lock_scores(attached, mode);
    attached_by_name(client, profile)
}

/// Every column the rules of `attached` read must exist in the attached tables: 42703
/// naming the rule and the column otherwise (as publish and attach would refuse them).
fn check_fields_exist(client: &SpiClient<'_>, attached: &Attached, edition: &str) {
    let attachment = &attached.attachment;
    let compiled = &attached.compiled;
    let rules =
        compiled.rules.iter().map(|(name, rule)| (format!("rule \"{name}\""), rule.fields()));
    let stages = compiled
        .stage_conditions()
        .map(|(name, when)| (format!("stage \"{name}\""), when.fields()));
    for (reader, fields) in rules.chain(stages) {
        for field in fields {
            let column = field.path.join(".");
            let (table, what) = match field.source {
                Source::Contact => (Some(attachment.contacts_oid), "contacts"),
                Source::Event => (Some(attachment.events_oid), "events"),
                Source::Account => (attachment.accounts_oid, "accounts"),
                // Properties are read from the event_props column, if attached with one.
                Source::Props if attachment.event_props.is_some() => continue,
                Source::Props => (None, "event properties"),
            };
            let found = table.is_some_and(|oid| {
                let exists = client.select(
                    "SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2
                        AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
                    Some(1),
                    &[oid.into(), column.as_str().into()],
                );
                !texts(exists, attachment, "checking the rules' columns").is_empty()
            });
            if !found {
                raise(Failure::UndefinedColumn(format!(
                    "profile \"{}\" ({edition}), {reader}: field \"{column}\" names no column of its {what} table",
                    attachment.profile_name
                )));
            }
        }
    }
}

/// An attached profile scored with another edition of its rules (the draft, or a
/// published version): its attachment with that edition compiled, after checking that
/// every column the edition's rules read exists (42703, as publish would refuse it).
pub(crate) fn attached_edition(
    client: &SpiClient<'_>,
    active: &Attached,
    edition: Edition,
) -> Attached {
    let label = match edition {
        Edition::Version(v) => format!("version {v}"),
        Edition::Draft => "draft".to_owned(),
        Edition::Active => "active version".to_owned(),
    };
    let compiled = load_profile(&active.attachment.profile_name, edition).compiled;
    let candidate = Attached::with_compiled(client, active.attachment.clone(), compiled);
    check_fields_exist(client, &candidate, &label);
    candidate
}
