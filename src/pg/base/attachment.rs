//! An attached profile as the catalog holds it: its relations fixed by oid and named
//! schema-qualified, its columns quoted, checked again each time it is loaded.

use crate::pg::base::errors::{internal, raise, Failure, OfProfile};
use pgrx::pg_sys::{self};
use pgrx::spi::SpiClient;

/// A profile's attachment: its relations fixed by oid, and as SQL, schema-qualified
/// and quoted by [`ident`], whatever the caller's `search_path`.
#[derive(Clone)]
pub(crate) struct Attachment {
    pub profile_id: i64,
    pub profile_name: String,
    pub version: i32,
    /// `ONLY "schema"."table"`: rows of inheritance children are not the attached
    /// table's (its triggers do not see writes to them), so no statement reads them.
    /// (A partitioned events table is named without `ONLY`: see `relation`.)
    pub contacts: Quoted,
    pub contacts_oid: pg_sys::Oid,
    pub contact_key: Quoted,
    /// The key column's name, as named at attach.
    pub(crate) contact_key_name: String,
    /// The key type as SQL (`pg_catalog.int8`, ...): one of the spellings
    /// `key_type_sql` knows, never text read from anywhere else.
    pub key_type: &'static str,
    pub(crate) key_type_oid: pg_sys::Oid,
    pub events: Quoted,
    pub events_oid: pg_sys::Oid,
    pub event_contact: Quoted,
    /// The event contact column's name, as named at attach.
    pub(crate) event_contact_name: String,
    pub event_type: Quoted,
    pub event_time: Quoted,
    /// `timestamptz`, `timestamp` or `date`.
    pub(crate) event_time_type: pg_sys::Oid,
    pub event_props: Option<Quoted>,
    /// Whether the properties column is `json` (not `jsonb`): its values may hold
    /// strings no jsonb can (`\u0000`), so it is read without converting it.
    pub(crate) event_props_json: bool,
    pub accounts: Option<Accounts>,
    pub accounts_oid: Option<pg_sys::Oid>,
    /// The role owning the CRM tables: statements reading their columns run as it
    /// (see `rights::as_crm_owner`).
    pub crm_owner: pg_sys::Oid,
    pub state_table: Quoted,
    /// Its oid, for locking it (invalid if it is missing).
    pub state_oid: pg_sys::Oid,
    /// Whether the extension's SQL objects are this version's: not 0.1.0's, as between
    /// installing this library and `ALTER EXTENSION ... UPDATE`. Only then are there
    /// manual adjustments to read and a likelihood to record (both arrive with the
    /// update, told apart by the adjustments table).
    pub(crate) current_sql: bool,
    /// Whether each manual adjustment names the contacts table and key column it was
    /// made on (0.3.0's SQL), so that only those of this attachment's are read. 0.2.0's
    /// SQL names none: its adjustments are read by profile, as 0.2.0 did, until
    /// `ALTER EXTENSION ... UPDATE` records the table of each.
    pub(crate) adjustments_by_table: bool,
    /// Whether each transition names the contacts table and key column its contact key
    /// belongs to (0.3.0's SQL): written with every transition. Older SQL has no place
    /// for them until `ALTER EXTENSION ... UPDATE`.
    pub(crate) transitions_by_table: bool,
    /// Whether there are routing turns to take (0.3.0's SQL): a profile routes only
    /// then (see `write::routing`).
    pub(crate) routing_sql: bool,
    /// Whether `attachment_store` has the scores view's grades (0.3.0's SQL): written
    /// with the rest of the scored version's settings.
    pub(crate) grades_stored: bool,
    /// Whether the state table has the lifecycle stage's columns (0.3.0's attach, or its
    /// update): before, the profile's stages are not settled (see `Attached`).
    pub(crate) stages_stored: bool,
    /// Whether the state table has the score ceiling (0.3.0's attach, or its update):
    /// before, writes keep none and `tick` tightens none (see `lead_score.top`).
    pub(crate) ceiling_stored: bool,
    /// Whether the SQL knows the profile's triggers by what they are
    /// (`lead_score.profile_triggers`, 0.3.0's): before, `verify` checks no table's.
    pub(crate) triggers_known: bool,
    /// The account table keeping the account scores (attached with accounts, 0.3.0's
    /// attach or update), with the accounts' key type.
    pub(crate) account_scores: Option<AccountTable>,
}

/// A profile's account table (`lead_score.accounts_<id>`), as SQL.
#[derive(Clone)]
pub(crate) struct AccountTable {
    pub table: Quoted,
    /// The account key's type, schema-qualified and quoted.
    pub key_type: Quoted,
    /// The accounts table's oid and its key column's name, which account transitions
    /// name (their `contact` is an account key).
    pub accounts_oid: pg_sys::Oid,
    pub account_key_name: String,
}

/// The accounts table of an attachment, as SQL.
#[derive(Clone)]
pub(crate) struct Accounts {
    /// `ONLY "schema"."table"`.
    pub table: Quoted,
    /// The contacts' column referencing the account, quoted.
    pub contact_account: Quoted,
    /// The accounts' key, quoted.
    pub account_key: Quoted,
}

/// SQL text made of quoted identifiers only: what a name becomes before it may be
/// written into a statement. Only `ident` makes one from a name, so a name that was not
/// quoted cannot be spliced into SQL by mistake (it is a `String`, not a `Quoted`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Quoted(String);

impl std::fmt::Display for Quoted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Quoted {
    /// `"schema"."name"`.
    pub(crate) fn qualified(schema: &str, name: &str) -> Quoted {
        Quoted(format!("{}.{}", ident(schema), ident(name)))
    }

    /// `ONLY <relation>`: the relation without its inheritance children.
    pub(crate) fn only(self) -> Quoted {
        Quoted(format!("ONLY {}", self.0))
    }
}

/// A name as a quoted SQL identifier: the one way names reach SQL text. Identifiers
/// know no backslash escapes, so this is right under any `standard_conforming_strings`.
pub(crate) fn ident(name: &str) -> Quoted {
    Quoted(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// The supported key types, by oid, as SQL.
pub(crate) fn key_type_sql(oid: pg_sys::Oid) -> Option<&'static str> {
    Some(match oid {
        pg_sys::INT8OID => "pg_catalog.int8",
        pg_sys::INT4OID => "pg_catalog.int4",
        pg_sys::INT2OID => "pg_catalog.int2",
        pg_sys::UUIDOID => "pg_catalog.uuid",
        pg_sys::TEXTOID => "pg_catalog.text",
        pg_sys::VARCHAROID => "pg_catalog.varchar",
        _ => return None,
    })
}

/// A relation of an attachment: `ONLY "schema"."name"` (a partitioned table without
/// `ONLY`) and its owner, or a 55000 error naming what is gone (a dropped table leaves
/// its attachment behind).
pub(crate) fn relation(
    client: &SpiClient<'_>,
    profile: &str,
    what: &str,
    oid: pg_sys::Oid,
) -> (Quoted, pg_sys::Oid) {
    let found = client
        .select(
            "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.relowner,
                    c.relkind OPERATOR(pg_catalog.=) 'p'
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
              WHERE c.oid OPERATOR(pg_catalog.=) $1",
            Some(1),
            &[oid.into()],
        )
        .unwrap_or_else(|e| internal(format!("profile \"{profile}\": reading its {what} table"), e));
    let found = (!found.is_empty()).then(|| {
        let row = found.first();
        let read = |e: pgrx::spi::Error| -> ! {
            internal(format!("profile \"{profile}\": reading its {what} table"), e)
        };
        (
            row.get::<String>(1).unwrap_or_else(|e| read(e)).unwrap_or_default(),
            row.get::<String>(2).unwrap_or_else(|e| read(e)).unwrap_or_default(),
            row.get::<pg_sys::Oid>(3).unwrap_or_else(|e| read(e)).unwrap_or(pg_sys::InvalidOid),
            row.get::<bool>(4).unwrap_or_else(|e| read(e)).unwrap_or(false),
        )
    });
    match found {
        // A partitioned (events) table is read whole: its partitions' rows are its own
        // (ONLY would read none), and each partition has the profile's triggers.
        Some((schema, name, owner, true)) => (Quoted::qualified(&schema, &name), owner),
        Some((schema, name, owner, false)) => (Quoted::qualified(&schema, &name).only(), owner),
        None => raise(
            Failure::Misconfigured(format!(
                "profile \"{profile}\": its {what} table no longer exists"
            ))
            .detail(format!("The profile was attached to the table with oid {}.", oid.to_u32()))
            .hint(format!(
                "Detach the profile with lead_score.detach('{}').",
                profile.replace('\'', "''")
            )),
        ),
    }
}

/// Load the attachment of a profile, or `None` when it is not attached. Raises 55000
/// when its tables are gone, or no longer have one owner.
pub(crate) fn load_attachment(client: &SpiClient<'_>, profile_id: i64) -> Option<Attachment> {
    let table = client
        .select(
            "SELECT p.name, p.active_version, a.contacts::pg_catalog.oid, a.contact_key::pg_catalog.text,
                    a.key_type::pg_catalog.oid, a.events::pg_catalog.oid, a.event_contact::pg_catalog.text,
                    a.event_type::pg_catalog.text, a.event_time::pg_catalog.text,
                    a.event_props::pg_catalog.text, a.accounts::pg_catalog.oid,
                    a.contact_account::pg_catalog.text, a.account_key::pg_catalog.text,
                    a.state_table::pg_catalog.text,
                    (SELECT c.oid FROM pg_catalog.pg_class c
                      WHERE c.relname OPERATOR(pg_catalog.=) a.state_table
                        AND c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace),
                    (SELECT t.atttypid FROM pg_catalog.pg_attribute t
                      WHERE t.attrelid OPERATOR(pg_catalog.=) a.events
                        AND t.attname OPERATOR(pg_catalog.=) a.event_time AND NOT t.attisdropped),
                    pg_catalog.to_regclass('lead_score.adjustment_store') IS NOT NULL,
                    EXISTS (SELECT FROM pg_catalog.pg_attribute t
                             WHERE t.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('lead_score.adjustment_store')
                               AND t.attname OPERATOR(pg_catalog.=) 'key_column' AND NOT t.attisdropped),
                    EXISTS (SELECT FROM pg_catalog.pg_attribute t
                             WHERE t.attrelid OPERATOR(pg_catalog.=) a.events
                               AND t.attname OPERATOR(pg_catalog.=) a.event_props AND NOT t.attisdropped
                               AND t.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.json'::pg_catalog.regtype),
                    EXISTS (SELECT FROM pg_catalog.pg_attribute t
                             WHERE t.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('lead_score.transitions')
                               AND t.attname OPERATOR(pg_catalog.=) 'key_column' AND NOT t.attisdropped),
                    pg_catalog.to_regclass('lead_score.routing_turns') IS NOT NULL,
                    EXISTS (SELECT FROM pg_catalog.pg_attribute t
                             WHERE t.attrelid OPERATOR(pg_catalog.=) 'lead_score.attachment_store'::pg_catalog.regclass
                               AND t.attname OPERATOR(pg_catalog.=) 'grade_names' AND NOT t.attisdropped),
                    EXISTS (SELECT FROM pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.attrelid
                             WHERE c.relname OPERATOR(pg_catalog.=) a.state_table
                               AND c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
                               AND t.attname OPERATOR(pg_catalog.=) 'stage' AND NOT t.attisdropped),
                    EXISTS (SELECT FROM pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.attrelid
                             WHERE c.relname OPERATOR(pg_catalog.=) a.state_table
                               AND c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
                               AND t.attname OPERATOR(pg_catalog.=) 'ceiling' AND NOT t.attisdropped),
                    pg_catalog.to_regclass('lead_score.profile_triggers') IS NOT NULL
               FROM lead_score.attachment_store a
               JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) a.profile_id
              WHERE a.profile_id OPERATOR(pg_catalog.=) $1",
            Some(1),
            &[profile_id.into()],
        )
        .unwrap_or_else(|e| internal(format!("loading the attachment of profile {profile_id}"), e));
    if table.is_empty() {
        return None;
    }
    let row = table.first();
    let loading = format!("loading the attachment of profile {profile_id}");
    let read = |e: pgrx::spi::Error| -> ! { internal(&loading, e) };
    let text = |i: usize| row.get::<String>(i).unwrap_or_else(|e| read(e));
    let oid = |i: usize| row.get::<pg_sys::Oid>(i).unwrap_or_else(|e| read(e));
    let flag = |i: usize| row.get::<bool>(i).unwrap_or_else(|e| read(e)) == Some(true);
    let profile_name = text(1)?;
    let (contacts, crm_owner) = relation(client, &profile_name, "contacts", oid(3)?);
    let (events, events_owner) = relation(client, &profile_name, "events", oid(6)?);
    let mut owners = vec![("events", events_owner)];
    let accounts_oid = oid(11);
    let accounts = match (accounts_oid, text(12), text(13)) {
        (Some(accounts_oid), Some(contact_account), Some(account_key)) => {
            let (table, owner) = relation(client, &profile_name, "accounts", accounts_oid);
            owners.push(("accounts", owner));
            Some(Accounts {
                table,
                contact_account: ident(&contact_account),
                account_key: ident(&account_key),
            })
        }
        _ => None,
    };
    if let Some((what, _)) = owners.iter().find(|(_, owner)| *owner != crm_owner) {
        raise(
            Failure::Misconfigured(format!(
                "profile \"{profile_name}\": its contacts and {what} tables have different owners"
            ))
            .hint(
                "Scoring reads the attached tables as their one owner: give them one owner \
                   with ALTER TABLE ... OWNER TO."
                    .to_owned(),
            ),
        );
    }
    let key_type_oid = oid(5)?;
    // The key columns are compared with built-in operators only while they keep the
    // type they had at attach: a column swapped for another of the same name since is a
    // misconfiguration, caught here rather than evaluated. So is a non-deterministic
    // collation given to one since (attach refuses them): under it the CRM's = makes
    // one contact of keys scoring tells apart, and that contact's events would be lost.
    let (contacts_oid, events_oid) = (oid(3)?, oid(6)?);
    for (what, relation, column) in
        [("contacts", contacts_oid, text(4)?), ("events", events_oid, text(7)?)]
    {
        let found = client
            .select(
                "SELECT a.atttypid, l.oid::pg_catalog.regcollation::pg_catalog.text
                   FROM pg_catalog.pg_attribute a
                   LEFT JOIN pg_catalog.pg_collation l ON l.oid OPERATOR(pg_catalog.=) a.attcollation
                                                      AND NOT l.collisdeterministic
                  WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2
                    AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
                Some(1),
                &[relation.into(), column.as_str().into()],
            )
            .and_then(|t| {
                if t.is_empty() {
                    Ok(None)
                } else {
                    let row = t.first();
                    Ok(Some((row.get::<pg_sys::Oid>(1)?, row.get::<String>(2)?)))
                }
            })
            .unwrap_or_else(|e| {
                internal(format!("profile \"{profile_name}\": reading its key columns"), e)
            });
        match found {
            Some((Some(found), None)) if found == key_type_oid => {}
            Some((Some(found), Some(collation))) if found == key_type_oid => raise(
                Failure::Misconfigured(format!(
                    "profile \"{profile_name}\": column {} of its {what} table has the \
                     non-deterministic collation {collation}",
                    ident(&column)
                ))
                .hint(
                    "Key columns need a deterministic collation: give the column one again \
                     (ALTER TABLE ... ALTER COLUMN ... TYPE ... COLLATE), or detach the profile.",
                ),
            ),
            _ => raise(
                Failure::Misconfigured(format!(
                    "profile \"{profile_name}\": column {} of its {what} table is gone or no \
                     longer has the contacts' key type",
                    ident(&column)
                ))
                .hint("Detach the profile and attach it again."),
            ),
        }
    }
    let Some(key_type) = key_type_sql(key_type_oid) else {
        raise(
            Failure::Misconfigured(format!(
                "profile \"{profile_name}\": its contact key has an unsupported type (oid {})",
                key_type_oid.to_u32()
            ))
            .hint("Detach the profile and attach it again."),
        )
    };
    let account_scores = match (accounts_oid, text(13)) {
        (Some(accounts_oid), Some(account_key_name)) => {
            account_table(client, profile_id, accounts_oid, account_key_name)
        }
        _ => None,
    };
    Some(Attachment {
        account_scores,
        profile_id,
        version: row.get::<i32>(2).unwrap_or_else(|e| read(e))?,
        contacts,
        contacts_oid,
        contact_key: ident(&text(4)?),
        contact_key_name: text(4)?,
        key_type,
        key_type_oid,
        events,
        events_oid,
        event_contact: ident(&text(7)?),
        event_contact_name: text(7)?,
        event_type: ident(&text(8)?),
        event_time: ident(&text(9)?),
        event_time_type: oid(16).unwrap_or(pg_sys::TIMESTAMPTZOID),
        event_props: text(10).map(|p| ident(&p)),
        event_props_json: flag(19),
        accounts,
        accounts_oid,
        crm_owner,
        state_table: Quoted::qualified("lead_score", &text(14)?),
        state_oid: oid(15).unwrap_or(pg_sys::InvalidOid),
        current_sql: flag(17),
        adjustments_by_table: flag(18),
        transitions_by_table: flag(20),
        routing_sql: flag(21),
        grades_stored: flag(22),
        stages_stored: flag(23),
        ceiling_stored: flag(24),
        triggers_known: flag(25),
        profile_name,
    })
}

/// The profile's account table, if it has one (an attachment with accounts made before
/// 0.3.0's update has none until then).
fn account_table(
    client: &SpiClient<'_>,
    profile_id: i64,
    accounts_oid: pg_sys::Oid,
    account_key_name: String,
) -> Option<AccountTable> {
    let found = client
        .select(
            "SELECT n.nspname::pg_catalog.text, t.typname::pg_catalog.text
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
                                             AND a.attname OPERATOR(pg_catalog.=) 'account_key'
               JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
              WHERE c.relname OPERATOR(pg_catalog.=) ('accounts_' OPERATOR(pg_catalog.||) $1::pg_catalog.text)
                AND c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace",
            Some(1),
            &[profile_id.into()],
        )
        .unwrap_or_else(|e| internal(format!("loading the account table of profile {profile_id}"), e));
    if found.is_empty() {
        return None;
    }
    let row = found.first();
    let text = |i: usize| row.get::<String>(i).ok().flatten().unwrap_or_default();
    Some(AccountTable {
        table: Quoted::qualified("lead_score", &format!("accounts_{profile_id}")),
        key_type: Quoted::qualified(&text(1), &text(2)),
        accounts_oid,
        account_key_name,
    })
}

impl OfProfile for Attachment {
    fn profile_name(&self) -> &str {
        &self.profile_name
    }
}
