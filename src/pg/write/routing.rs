//! Lead routing (`"routing"` in a profile's settings): a contact that gets the routing
//! tag while its owner column is NULL is given the next owner in turn, in the writing
//! transaction, with a `routed` transition and its notification.
//!
//! The turn is a row of `lead_score.routing_turns` per profile, advanced by an UPDATE
//! whose row lock serialises concurrent taggers until they commit: owners are handed
//! out in commit order, and a rollback gives its turns back. The contacts are locked
//! first (their owner column still NULL), in key order, so two writers never route one
//! contact twice.
//!
//! The CRM's table is written as its owner, in a security-restricted operation (as
//! every read of it is, see `rights::as_crm_owner`): the owners' values are converted
//! to the column's type, and the CRM's own triggers fire, with that owner's rights.
//! Our own contacts triggers fire too; while our UPDATE runs they know it (see
//! `in_progress`) and skip rescoring for a profile whose rules do not read the column.

use std::cell::RefCell;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::pg::base::attached::{run, Attached, Statement};
use crate::pg::base::attachment::{ident, Quoted};
use crate::pg::base::errors::{
    caught_error, in_subtransaction, internal, raise, warn_skipped, Failure,
};
use crate::pg::base::params::Params;
use crate::pg::base::rights::{as_crm_owner, calling_role};
use crate::pg::base::spi_rows::Row;
use crate::pg::write::transition_log::{store_and_announce, NewTransitions, Recording};
use lead_score_core::condition::Source;
use lead_score_core::qualification::Transition;
use lead_score_core::settings::Routing;

/// Our own UPDATE of a contacts table's owner column, while it runs.
#[derive(Clone)]
pub(crate) struct RoutingUpdate {
    /// The role calling the extension when the routing happened: the nested triggers'
    /// calling role too (they fire as the table's owner).
    pub calling: pg_sys::Oid,
    pub contacts: pg_sys::Oid,
    pub column: String,
    /// Whether the table has BEFORE UPDATE row triggers of its own: they may change
    /// other columns in the same UPDATE, so every profile rescores then.
    pub before_row_triggers: bool,
    /// The trigger depth the UPDATE runs at: its own triggers fire one deeper, and a
    /// statement the CRM's triggers run from them deeper still (those rescore).
    pub depth: i32,
}

thread_local! {
    static IN_PROGRESS: RefCell<Option<RoutingUpdate>> = const { RefCell::new(None) };
}

/// The routing UPDATE running now in this backend, if any: our contacts triggers fire
/// nested in it.
pub(crate) fn in_progress() -> Option<RoutingUpdate> {
    IN_PROGRESS.with(|p| p.borrow().clone())
}

/// Puts back the flag when the UPDATE is done or fails (a Postgres error unwinds
/// through here as a panic, so the flag never outlives the statement).
struct Flagged(Option<RoutingUpdate>);

impl Drop for Flagged {
    fn drop(&mut self) {
        let saved = self.0.take();
        IN_PROGRESS.with(|p| *p.borrow_mut() = saved);
    }
}

/// Whether a nested contacts trigger of `attached` may skip rescoring during `update`:
/// it fires for that very UPDATE (not for a statement the CRM's own triggers run from
/// it), of its own contacts table, with no BEFORE trigger of the CRM's in between, and
/// none of its rules or stages reads the column.
pub(crate) fn skips_rescoring(attached: &Attached, update: &RoutingUpdate) -> bool {
    let compiled = &attached.compiled;
    let rules = compiled.rules.iter().flat_map(|(_, rule)| rule.fields());
    let stages = compiled.stage_conditions().flat_map(|(_, when)| when.fields());
    let mut read = rules.chain(stages);
    attached.attachment.contacts_oid == update.contacts
        && trigger_depth() == update.depth + 1
        && !update.before_row_triggers
        && !read.any(|f| {
            f.source == Source::Contact && f.path.first().is_some_and(|c| *c == update.column)
        })
}

/// The contacts of `found` that got the routing tag.
fn newly_tagged<'a>(routing: &Routing, found: &'a [(String, Transition)]) -> Vec<&'a str> {
    let mut keys: Vec<&str> = found
        .iter()
        .filter(|(_, t)| {
            let (kind, tag, _, _) = t.describe();
            kind == "tagged" && tag == Some(routing.tag.as_str())
        })
        .map(|(key, _)| key.as_str())
        .collect();
    keys.dedup();
    keys
}

/// The owner column's type, as SQL (`"schema"."name"`, arrays by their own name), read
/// from the catalog.
fn column_type(client: &SpiClient<'_>, attached: &Attached, column: &str) -> Quoted {
    let found = client
        .select(
            "SELECT n.nspname::pg_catalog.text, t.typname::pg_catalog.text
               FROM pg_catalog.pg_attribute a
               JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
              WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2
                AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
            Some(1),
            &[attached.attachment.contacts_oid.into(), column.into()],
        )
        .and_then(|rows| {
            if rows.is_empty() {
                return Ok(None);
            }
            let row = rows.first();
            Ok(row.get::<String>(1)?.zip(row.get::<String>(2)?))
        })
        .unwrap_or_else(|e| internal("reading the routing column's type", e));
    match found {
        Some((schema, name)) => Quoted::qualified(&schema, &name),
        None => raise(Failure::UndefinedColumn(format!(
            "profile \"{}\": $.routing.column: column {} of the contacts table does not exist",
            attached.attachment.profile_name,
            ident(column)
        ))),
    }
}

/// Which of `keys` (in key order) have no owner yet, read as the contacts' owner;
/// `lock` locks them (FOR UPDATE) too. A contact another writer routed meanwhile is
/// seen with its owner once that writer commits, and left out.
pub(crate) fn unassigned(
    client: &SpiClient<'_>,
    attached: &Attached,
    routing: &Routing,
    keys: &[&str],
    lock: bool,
) -> Vec<String> {
    let attachment = &attached.attachment;
    let mut params = Params::default();
    let bound = params.bind(keys.iter().map(|k| Some((*k).to_owned())).collect::<Vec<_>>());
    let name = if lock { Statement::LockUnrouted } else { Statement::Unrouted };
    let select = attached.statement(client, name, &params, lock, || {
        format!(
            "SELECT c.{key}::pg_catalog.text FROM {contacts} c
              WHERE c.{key} OPERATOR(pg_catalog.=) ANY ({bound}::pg_catalog.text[]::{key_type}[])
                AND c.{column} IS NULL
              ORDER BY c.{key}{locking}",
            key = attachment.contact_key,
            contacts = attachment.contacts,
            key_type = attachment.key_type,
            column = ident(&routing.column),
            locking = if lock { " FOR UPDATE OF c" } else { "" },
        )
    });
    as_crm_owner(attachment.crm_owner, |_| {
        run(client, attached, &select, "reading contacts to route", &params).texts()
    })
}

/// Route the contacts `found` gave the routing tag (see the module's comment); `source`
/// is what caused it, as `lead_score.transitions.source` names it.
pub(crate) fn route(
    client: &SpiClient<'_>,
    attached: &Attached,
    found: &[(String, Transition)],
    source: &str,
    now: i64,
) {
    let Some(routing) = &attached.compiled.settings.routing else { return };
    // (Older SQL, before `ALTER EXTENSION ... UPDATE`, has no turns to take.)
    if !attached.attachment.routing_sql {
        return;
    }
    let tagged = newly_tagged(routing, found);
    if tagged.is_empty() {
        return;
    }
    let keys = unassigned(client, attached, routing, &tagged, true);
    if keys.is_empty() {
        return;
    }
    let attachment = &attached.attachment;
    let mut params = Params::default();
    let profile_id = params.bind(attachment.profile_id);
    let taken = params.bind(keys.len() as i64);
    let take = attached.statement(client, Statement::TakeTurns, &params, true, || {
        format!(
            "INSERT INTO lead_score.routing_turns AS t (profile_id, next_turn)
             VALUES ({profile_id}, {taken})
             ON CONFLICT (profile_id) DO UPDATE SET next_turn = t.next_turn + {taken}
             RETURNING t.next_turn - {taken}"
        )
    });
    // The turns and the UPDATE together, in a subtransaction: the CRM's write never
    // fails because its table refuses an owner (a check, a foreign key, a trigger of its
    // own that raises, a deferred trigger, which a security-restricted operation cannot
    // queue). Then the turns are given back, the contacts stay unassigned, and the
    // failure is recorded (`routing_failed`) and reported as a WARNING.
    let turns_params = params;
    let routed = in_subtransaction(|| {
        let first = run(client, attached, &take, "taking routing turns", &turns_params)
            .first()
            .and_then(|row| row.int8(1))
            .unwrap_or_else(|| internal("taking routing turns", "no turn returned"));
        let owners: Vec<Option<String>> = (0..keys.len() as i64)
            .map(|i| Some(routing.owner_of_turn(first + i).to_owned()))
            .collect();
        set_owners(client, attached, routing, &keys, &owners);
        owners
    });
    let (kind, reason, owners) = match routed {
        Ok(owners) => ("routed", format!("tagged {}: round robin", routing.tag), owners),
        Err(error) => {
            let (code, message) = caught_error(&error);
            let why = format!("tagged {}: routing failed: {code}: {message}", routing.tag);
            warn_skipped(
                &format!(
                    "profile \"{}\": routing {} contact(s) to column {}",
                    attachment.profile_name,
                    keys.len(),
                    ident(&routing.column)
                ),
                error,
            );
            ("routing_failed", why, vec![Some("unassigned".to_owned()); keys.len()])
        }
    };
    record_routed(client, attached, routing, found, &keys, (kind, &reason, &owners), source, now);
}

/// Set the owner column of `keys` to `owners`, as the contacts table's owner, with the
/// routing flag up for our own triggers nested in the UPDATE (see `in_progress`).
fn set_owners(
    client: &SpiClient<'_>,
    attached: &Attached,
    routing: &Routing,
    keys: &[String],
    owners: &[Option<String>],
) {
    let attachment = &attached.attachment;

    let mut params = Params::default();
    let bound_keys = params.bind(keys.iter().cloned().map(Some).collect::<Vec<_>>());
    let bound_owners = params.bind(owners.to_vec());
    let update = attached.statement(client, Statement::RouteContacts, &params, true, || {
        let owner_type = column_type(client, attached, &routing.column);
        format!(
            "UPDATE {contacts} c SET {column} = r.owner::{owner_type}
               FROM unnest({bound_keys}::pg_catalog.text[], {bound_owners}::pg_catalog.text[])
                    AS r(key, owner)
              WHERE c.{key} OPERATOR(pg_catalog.=) r.key::{key_type}",
            contacts = attachment.contacts,
            column = ident(&routing.column),
            key = attachment.contact_key,
            key_type = attachment.key_type,
        )
    });
    {
        let flag = RoutingUpdate {
            calling: calling_role(),
            contacts: attachment.contacts_oid,
            column: routing.column.clone(),
            before_row_triggers: before_row_triggers(client, attachment.contacts_oid),
            depth: trigger_depth(),
        };
        let _flagged = Flagged(IN_PROGRESS.with(|p| p.replace(Some(flag))));
        as_crm_owner(attachment.crm_owner, |_| {
            run(client, attached, &update, "routing contacts", &params);
        });
    }
}

/// How many triggers deep this backend is now (`pg_trigger_depth()`).
pub(crate) fn trigger_depth() -> i32 {
    // SAFETY: pg_trigger_depth takes no argument and returns an int4.
    unsafe { pgrx::direct_function_call::<i32>(pg_sys::pg_trigger_depth, &[]) }.unwrap_or(0)
}

/// Whether `table` has enabled BEFORE UPDATE row triggers (tgtype: ROW 1, BEFORE 2,
/// UPDATE 16).
fn before_row_triggers(client: &SpiClient<'_>, table: pg_sys::Oid) -> bool {
    client
        .select(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                             WHERE t.tgrelid OPERATOR(pg_catalog.=) $1 AND NOT t.tgisinternal
                               AND t.tgenabled OPERATOR(pg_catalog.<>) 'D'
                               AND (t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 19) OPERATOR(pg_catalog.=) 19)",
            Some(1),
            &[table.into()],
        )
        .and_then(|rows| rows.first().get_one::<bool>())
        .unwrap_or_else(|e| internal("reading the contacts table's triggers", e))
        .unwrap_or(true)
}

/// One transition per contact routed (`routed`, the owner as its new state) or not
/// (`routing_failed`, the error as its reason), announced as every transition is.
#[allow(clippy::too_many_arguments)]
fn record_routed(
    client: &SpiClient<'_>,
    attached: &Attached,
    routing: &Routing,
    found: &[(String, Transition)],
    keys: &[String],
    (kind, reason, owners): (&str, &str, &[Option<String>]),
    source: &str,
    now: i64,
) {
    let attachment = &attached.attachment;
    // Each routed contact's score when it got the tag.
    let scores: Vec<Option<f64>> = keys
        .iter()
        .map(|key| {
            found
                .iter()
                .find(|(k, t)| k == key && t.describe().1 == Some(routing.tag.as_str()))
                .map(|(_, t)| t.score)
        })
        .collect();
    let mut new = NewTransitions::default();
    for ((key, owner), score) in keys.iter().zip(owners).zip(scores) {
        let owner = owner.as_deref().unwrap_or_default();
        new.push(key, (kind, Some(routing.tag.as_str()), "unassigned", owner), score, reason);
    }
    let table = Some((attachment.contacts_oid, attachment.contact_key_name.clone()));
    let recording = Recording { name: Statement::RecordRouted, table, order: String::new() };
    store_and_announce(client, attached, &recording, new, source, now, |_| String::new());
}

/// Check a profile's routing against the contacts table it is (or is being) attached
/// to: the column exists (42703), is not the key and not generated (22023), and the
/// column's type reads each owner's value (22P02 or 22023, naming the owner). The
/// values are converted as the table's owner in a security-restricted operation: the
/// input function of the column's type (a domain's checks) is the CRM's code.
pub(crate) fn check_routing(
    client: &SpiClient<'_>,
    profile: &str,
    routing: &Routing,
    contacts: pg_sys::Oid,
    contact_key: &str,
) {
    let column = &routing.column;
    let found = client
        .select(
            "SELECT a.atttypid, a.atttypmod, a.attgenerated OPERATOR(pg_catalog.<>) '', c.relowner,
                    c.oid::pg_catalog.regclass::pg_catalog.text
               FROM pg_catalog.pg_attribute a
               JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
              WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2
                AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
            Some(1),
            &[contacts.into(), column.as_str().into()],
        )
        .and_then(|rows| {
            if rows.is_empty() {
                return Ok(None);
            }
            let row = rows.first();
            Ok(Some((
                row.get::<pg_sys::Oid>(1)?.unwrap_or(pg_sys::InvalidOid),
                row.get::<i32>(2)?.unwrap_or(-1),
                row.get::<bool>(3)?.unwrap_or(false),
                row.get::<pg_sys::Oid>(4)?.unwrap_or(pg_sys::InvalidOid),
                row.get::<String>(5)?.unwrap_or_default(),
            )))
        })
        .unwrap_or_else(|e| internal(format!("profile \"{profile}\": checking its routing"), e));
    let Some((type_oid, typmod, generated, owner, table)) = found else {
        let table = client
            .select("SELECT $1::pg_catalog.regclass::pg_catalog.text", Some(1), &[contacts.into()])
            .and_then(|rows| rows.first().get_one::<String>())
            .ok()
            .flatten()
            .unwrap_or_default();
        raise(
            Failure::UndefinedColumn(format!(
                "profile \"{profile}\": $.routing.column: column {} of relation {table} does not exist",
                ident(column)
            ))
            .hint("Name the contacts' owner column in the routing setting."),
        );
    };
    // The attachment (made already when attach checks) names the account column.
    let account_column = client
        .select(
            "SELECT a.contact_account::pg_catalog.text FROM lead_score.attachment_store a
               JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) a.profile_id
              WHERE p.name OPERATOR(pg_catalog.=) $1 AND a.contacts OPERATOR(pg_catalog.=) $2",
            Some(1),
            &[profile.into(), contacts.into()],
        )
        .and_then(|rows| if rows.is_empty() { Ok(None) } else { rows.first().get_one::<String>() })
        .unwrap_or_else(|e| internal(format!("profile \"{profile}\": checking its routing"), e));
    if column == contact_key || generated || account_column.as_deref() == Some(column.as_str()) {
        let why = if generated {
            "a generated column"
        } else if column == contact_key {
            "the contacts' key column"
        } else {
            "the contacts' account column (\"contact_account\")"
        };
        raise(Failure::InvalidValue(format!(
            "profile \"{profile}\": $.routing.column: column {} of relation {table} is {why}; \
             routing needs a column it can set",
            ident(column)
        )));
    }
    // A deferrable constraint or trigger that an UPDATE of the column queues: routing
    // runs in a security-restricted operation, which may not queue one (42501, on every
    // tagging): refused here (55000) rather than recorded as a failure each time.
    let deferred = client
        .select(
            "SELECT t.tgname::pg_catalog.text FROM pg_catalog.pg_trigger t
               JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.tgrelid
                AND a.attname OPERATOR(pg_catalog.=) $2
               LEFT JOIN pg_catalog.pg_constraint k ON k.oid OPERATOR(pg_catalog.=) t.tgconstraint
              WHERE t.tgrelid OPERATOR(pg_catalog.=) $1 AND t.tgdeferrable
                AND t.tgenabled OPERATOR(pg_catalog.<>) 'D'
                AND (t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) 16) OPERATOR(pg_catalog.<>) 0
                AND (k.contype IS DISTINCT FROM 'f' OR a.attnum OPERATOR(pg_catalog.=) ANY (k.conkey))
                AND (pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) OPERATOR(pg_catalog.=) 0
                     OR a.attnum OPERATOR(pg_catalog.=) ANY (t.tgattr::pg_catalog.int2[]))
              ORDER BY 1 LIMIT 1",
            Some(1),
            &[contacts.into(), column.as_str().into()],
        )
        .and_then(|rows| if rows.is_empty() { Ok(None) } else { rows.first().get_one::<String>() })
        .unwrap_or_else(|e| internal(format!("profile \"{profile}\": checking its routing"), e));
    if let Some(trigger) = deferred {
        raise(
            Failure::Misconfigured(format!(
                "profile \"{profile}\": $.routing.column: an UPDATE of column {} of relation {table} \
                 queues the deferrable trigger {}, which routing cannot run",
                ident(column),
                ident(&trigger)
            ))
            .hint("Make the constraint or trigger NOT DEFERRABLE, or route with another column."),
        );
    }
    for (i, value) in routing.owners.iter().enumerate() {
        let text = std::ffi::CString::new(value.as_str()).unwrap_or_else(|_| {
            raise(Failure::InvalidText(format!(
                "profile \"{profile}\": $.routing.owners[{i}]: a value may not contain a NUL"
            )))
        });
        let converted = in_subtransaction(|| {
            as_crm_owner(owner, |_| {
                // SAFETY: the input function of the column's type, called on a
                // NUL-terminated string as Postgres' own input functions are; the result
                // is discarded.
                unsafe {
                    let (mut input, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
                    pg_sys::getTypeInputInfo(type_oid, &mut input, &mut ioparam);
                    pg_sys::OidInputFunctionCall(input, text.as_ptr() as *mut _, ioparam, typmod);
                }
            })
        });
        if let Err(error) = converted {
            let (code, message) = caught_error(&error);
            let message = format!(
                "profile \"{profile}\": $.routing.owners[{i}]: the value {} does not fit column {} \
                 of relation {table}: {message}",
                serde_json::Value::from(value.as_str()),
                ident(column)
            );
            raise(if code == "22P02" {
                Failure::InvalidText(message)
            } else {
                Failure::InvalidValue(message)
            });
        }
    }
}
