//! What a statement the triggers saw (`api::live_scores`) touched, and which way of
//! scoring it takes (new events added in place, some contacts
//! recomputed, everyone rescored after a TRUNCATE).

use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::pg::base::attached::{self, lock_scores, run, Attached, Statement};
use crate::pg::base::attachment::{ident, Accounts};
use crate::pg::base::clock::decision_now_unix_micros;
use crate::pg::base::errors::{internal, raise, Failure};
use crate::pg::base::params::Params;
use crate::pg::base::queries::Watched;
use crate::pg::base::rights::{as_crm_owner, for_caller, for_caller_as, function_owner};
use crate::pg::write::accounts::{clear_accounts, placed_by_statement, refresh_accounts};
use crate::pg::write::maintenance::rewrite_everyone;
use crate::pg::write::new_events::add_inserted_events;
use crate::pg::write::replicated_rows::{as_one_row_statement, fired_for_row, replicated_session};
use crate::pg::write::routing;
use crate::pg::write::some_contacts::rescore_contacts;
use crate::pg::write::transitions::Cause;

/// The contacts a statement touched, in the key's own order (so every writer locks
/// state rows in one global order), read from the transition tables.
fn touched_keys(
    client: &SpiClient<'_>,
    attached: &Attached,
    relation: pg_sys::Oid,
    watched: Watched,
    tables: &[&str],
) -> Vec<String> {
    let attachment = &attached.attachment;
    // Accounts triggers exist only when accounts are attached.
    let Some(accounts) = (match watched {
        Watched::Accounts => attachment.accounts.as_ref().map(Some),
        _ => Some(None),
    }) else {
        return Vec::new();
    };
    if tables.is_empty() {
        return Vec::new();
    }
    let name = Statement::Touched {
        relation,
        watched,
        new_rows: tables.contains(&"changed"),
        old_rows: tables.contains(&"before_change"),
    };
    let no_params = Params::default();
    // (The text is built only when the statement is first prepared.)
    let query = attached.statement(client, name, &no_params, false, || {
        let key_type = &attachment.key_type;
        let selects: Vec<String> = tables
            .iter()
            .map(|table| match (watched, accounts) {
                (Watched::Accounts, Some(Accounts { contact_account, account_key, .. })) => format!(
                    "SELECT c.{key} AS k FROM {contacts} c WHERE c.{contact_account} IN (SELECT {account_key} FROM {table})",
                    key = attachment.contact_key,
                    contacts = attachment.contacts
                ),
                (Watched::Events, _) => format!("SELECT {c}::{key_type} AS k FROM {table}", c = attachment.event_contact),
                _ => format!("SELECT {c}::{key_type} AS k FROM {table}", c = attachment.contact_key),
            })
            .collect();
        format!(
            // The output is named `key`, so `ORDER BY k` sorts the keys, not their text.
            "SELECT k::text AS key FROM ({}) touched WHERE k IS NOT NULL GROUP BY k ORDER BY k",
            selects.join(" UNION ALL ")
        )
    });
    // The transition tables hold the CRM's rows: read as their owner.
    as_crm_owner(attachment.crm_owner, |_| {
        let what = "reading the touched contacts";
        run(client, attached, &query, what, &no_params).texts()
    })
}

/// The attachment a scoring trigger fires for, or an error: a trigger with nothing to
/// do is a misconfiguration (a copied trigger, a table attached by hand), and staying
/// silent would let scores go stale unnoticed.
///
/// Loaded once the profile's score table is locked (ROW EXCLUSIVE), before the trigger
/// reads anything else: a publish or rescore in progress (EXCLUSIVE) is waited for, and
/// what it committed, the version too, is what the trigger then reads. (Publish and
/// rescore wait for this table alone, so a writer that holds other tables never blocks
/// them.) A contacts write locks the accounts it reads before that (see
/// `lock_accounts_read`).
fn trigger_attachment(
    client: &SpiClient<'_>,
    trigger: &pgrx::PgTrigger<'_>,
    watched: Watched,
) -> Rc<Attached> {
    let name = trigger.name().unwrap_or("?").to_owned();
    // SAFETY: the trigger's relation is open for the duration of the trigger call.
    let relation = unsafe { (*trigger.trigger_data().tg_relation).rd_id };
    let table = trigger
        .relation()
        .map(|r| format!("{}.{}", ident(r.namespace()), ident(r.name())))
        .unwrap_or_default();
    let misfired = |why: String, hint: &str| -> ! {
        raise(
            Failure::NotReady(format!("pg_lead_score trigger \"{name}\" on table {table}: {why}"))
                .hint(hint),
        )
    };
    let Some(profile_id) =
        trigger.extra_args().ok().and_then(|a| a.first().and_then(|id| id.parse::<i64>().ok()))
    else {
        misfired(
            "it names no profile".to_owned(),
            "Only lead_score.attach() creates these triggers: drop this one.",
        )
    };
    let attached_here = |attached: Option<Rc<Attached>>| -> Rc<Attached> {
        let Some(attached) = attached else {
            misfired(
                format!("profile {profile_id} is not attached"),
                "Drop the trigger, or attach the profile with lead_score.attach().",
            )
        };
        let attachment = &attached.attachment;
        let expected = match watched {
            Watched::Events => Some(attachment.events_oid),
            Watched::Contacts => Some(attachment.contacts_oid),
            Watched::Accounts => attachment.accounts_oid,
        };
        // (A partition of a partitioned events table has the profile's triggers too:
        // a statement naming it fires no trigger of its parent.)
        if expected != Some(relation)
            && !(watched == Watched::Events
                && is_partition_of(client, relation, attachment.events_oid))
        {
            misfired(
                format!(
                    "profile \"{}\" is not attached to this table as its {watched:?}",
                    attachment.profile_name
                ),
                "Drop the trigger: lead_score.attach() made it for another table.",
            );
        }
        attached
    };
    let cached = attached_here(attached::attached(client, profile_id));
    let accounts_locked = lock_accounts_read(client, &cached, trigger, watched);
    lock_scores(&cached, pg_sys::RowExclusiveLock);
    let attached = attached_here(attached::attached(client, profile_id));
    // (Only when the version published meanwhile is the first to read accounts.)
    if !accounts_locked {
        lock_accounts_read(client, &attached, trigger, watched);
    }
    attached
}

/// Whether `relation` is a partition, at any level, of `root`: read from pg_inherits
/// itself, so that a partition whose DETACH ... CONCURRENTLY was interrupted (detach
/// pending, which pg_partition_ancestors leaves out) still counts: it keeps the
/// profile's triggers until DETACH ... FINALIZE, and a CRM write to it must not fail
/// because of scoring.
fn is_partition_of(client: &SpiClient<'_>, relation: pg_sys::Oid, root: pg_sys::Oid) -> bool {
    client
        .select(
            "WITH RECURSIVE up(relid) AS (
                 SELECT h.inhparent FROM pg_catalog.pg_inherits h WHERE h.inhrelid OPERATOR(pg_catalog.=) $1
                 UNION
                 SELECT h.inhparent FROM pg_catalog.pg_inherits h JOIN up ON h.inhrelid OPERATOR(pg_catalog.=) up.relid
             )
             SELECT EXISTS (SELECT FROM up WHERE up.relid OPERATOR(pg_catalog.=) $2)",
            Some(1),
            &[relation.into(), root.into()],
        )
        .and_then(|rows| rows.first().get_one::<bool>())
        .unwrap_or_else(|e| internal("finding a partition's parents", e))
        .unwrap_or(false)
}

/// For contacts given an account by a statement (inserted, or updated to another
/// account), when the rules read accounts: lock those accounts FOR SHARE, in key order,
/// before any score row. An UPDATE of such an account waits for this writer, and this
/// writer for one in flight: the account's trigger rescores only the contacts it sees
/// in the account, so a contact coming into it must not be scored with the account as
/// this writer's snapshot had it before that UPDATE committed. Under READ COMMITTED the
/// contacts are read after the wait, with the account as committed. (FOR KEY SHARE
/// would let an UPDATE of other columns through.) A contact that stays in its account
/// needs no lock: the account's trigger sees it, and the two serialise on its score
/// row; and with none, a transaction that wrote a contact's event and then updates the
/// contact never waits for its account while holding the score row that account's
/// trigger waits for. Whether it locked.
fn lock_accounts_read(
    client: &SpiClient<'_>,
    attached: &Attached,
    trigger: &pgrx::PgTrigger<'_>,
    watched: Watched,
) -> bool {
    let attachment = &attached.attachment;
    let update = match trigger.op() {
        Ok(pgrx::PgTriggerOperation::Insert) => false,
        Ok(pgrx::PgTriggerOperation::Update) => true,
        _ => return false,
    };
    let Some(Accounts { table, contact_account, account_key }) = &attachment.accounts else {
        return false;
    };
    if watched != Watched::Contacts || attached.plan.layout.account.is_empty() {
        return false;
    }
    let no_params = Params::default();
    let lock =
        attached.statement(client, Statement::LockAccounts { update }, &no_params, true, || {
            // (A contact whose key changed counts as new.)
            let new_references = if update {
                format!(
                    "SELECT c.{contact_account} FROM changed c
                       LEFT JOIN before_change b ON b.{key} = c.{key}
                      WHERE b.{contact_account} IS DISTINCT FROM c.{contact_account}",
                    key = attachment.contact_key
                )
            } else {
                format!("SELECT c.{contact_account} FROM changed c")
            };
            format!(
                "SELECT FROM {table} a WHERE a.{account_key} IN ({new_references})
                  ORDER BY a.{account_key} FOR SHARE"
            )
        });
    // The transition tables hold the CRM's rows, and locking needs the owner's rights.
    as_crm_owner(attachment.crm_owner, |_| {
        run(client, attached, &lock, "locking the contacts' new accounts", &no_params);
    });
    true
}

pub(crate) fn keep_current(trigger: &pgrx::PgTrigger<'_>, watched: Watched) {
    // Replicated writes are the row triggers' (see `replicated_rows`), the CRM's own the
    // statement triggers'; truncate has a statement trigger alone, firing for both.
    let truncate = matches!(trigger.op(), Ok(pgrx::PgTriggerOperation::Truncate));
    let per_row = fired_for_row(trigger);
    if !truncate && per_row != replicated_session() {
        return;
    }
    if per_row {
        return as_one_row_statement(trigger, |statement| {
            keep_current_as_caller(statement, watched)
        });
    }
    keep_current_as_caller(trigger, watched)
}

fn keep_current_as_caller(trigger: &pgrx::PgTrigger<'_>, watched: Watched) {
    // The trigger functions are SECURITY INVOKER: the role whose statement fired them is
    // the calling role (its transitions name it), and they act as their owner, the
    // extension's, as SECURITY DEFINER would.
    // SAFETY: the trigger data and its trigger live for the duration of the call.
    let function = unsafe { (*trigger.trigger_data().tg_trigger).tgfoid };
    match routing::in_progress() {
        // Fired by our own routing UPDATE (run as the CRM's owner): the calling role is
        // still the one whose write caused the routing.
        Some(update) if watched == Watched::Contacts => {
            for_caller_as(update.calling, function_owner(function), || {
                keep_current_as_owner(trigger, watched)
            })
        }
        _ => for_caller(function_owner(function), || keep_current_as_owner(trigger, watched)),
    }
}

fn keep_current_as_owner(trigger: &pgrx::PgTrigger<'_>, watched: Watched) {
    Spi::connect_mut(|client| {
        // SAFETY: we are inside this trigger's own SPI connection; the trigger data
        // outlives it. This makes the transition tables queryable by name.
        unsafe {
            pg_sys::SPI_register_trigger_data(trigger.trigger_data() as *const _ as *mut _);
        }
        let attached = trigger_attachment(client, trigger, watched);
        // SAFETY: the trigger's relation is open for the duration of the trigger call.
        let relation = unsafe { (*trigger.trigger_data().tg_relation).rd_id };
        // Our routing UPDATE sets an owner column no rule of this profile reads: the
        // scores stay as they are (and the contacts' tags, which routing follows).
        if watched == Watched::Contacts
            && routing::in_progress().is_some_and(|u| routing::skips_rescoring(&attached, &u))
        {
            return;
        }
        let now = decision_now_unix_micros();
        let truncate = matches!(trigger.op(), Ok(pgrx::PgTriggerOperation::Truncate));
        let cause = match watched {
            Watched::Events => Cause::Event,
            Watched::Contacts => Cause::Contact,
            Watched::Accounts => Cause::Account,
        };
        match (watched, truncate) {
            (Watched::Contacts, true) => {
                // No contacts: no scores, and no tags (the transitions stay).
                let state = &attached.attachment.state_table;
                let clear = format!(
                    "WITH gone AS (DELETE FROM {state})
                     DELETE FROM lead_score.tag_store WHERE profile_id = $1"
                );
                if let Err(e) =
                    client.update(clear.as_str(), None, &[attached.attachment.profile_id.into()])
                {
                    internal(format!("clearing {state}"), e);
                }
                clear_accounts(client, &attached);
            }
            (Watched::Events | Watched::Accounts, true) => {
                rewrite_everyone(client, &attached, now, cause);
            }
            (Watched::Events, false)
                if matches!(trigger.op(), Ok(pgrx::PgTriggerOperation::Insert)) =>
            {
                // SAFETY: an AFTER ... FOR EACH STATEMENT trigger with a NEW TABLE.
                let new_rows = unsafe {
                    let new_table = trigger.trigger_data().tg_newtable;
                    if new_table.is_null() {
                        0
                    } else {
                        pg_sys::tuplestore_tuple_count(new_table)
                    }
                };
                let (slow, touched) =
                    add_inserted_events(client, &attached, relation, new_rows, now);
                rescore_contacts(client, &attached, &slow, now, cause);
                refresh_accounts(client, &attached, &touched, None, now, cause);
            }
            _ => {
                let mut tables = Vec::new();
                if trigger.new_transition_table_name().ok().flatten().is_some() {
                    tables.push("changed");
                }
                if trigger.old_transition_table_name().ok().flatten().is_some() {
                    tables.push("before_change");
                }
                let keys = touched_keys(client, &attached, relation, watched, &tables);
                rescore_contacts(client, &attached, &keys, now, cause);
                // A contacts statement places its contacts (new rows) in their accounts.
                let placed = (watched == Watched::Contacts && tables.contains(&"changed"))
                    .then(|| placed_by_statement(client, &attached));
                refresh_accounts(client, &attached, &keys, placed.as_ref(), now, cause);
            }
        }
    });
}
