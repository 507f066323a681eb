//! Account scores kept current: after a write stored its contacts' score rows, the
//! rows of their accounts (`lead_score.accounts_<id>`, see
//! sql/attached_objects.sql) are rebuilt from the state rows in a few set-based
//! statements, whatever the number of contacts: each account keeps its members' fits
//! and decayed engagements (an account's score decays as theirs do, so the view
//! computes it at every read), whether each is a PQL, and their buying roles. Then the
//! account thresholds an account now reaches give it their sticky tags, each an
//! `account_tagged` transition with its notification.
//!
//! Which contacts an account has is kept here, by key (a GIN index finds a contact's
//! account): an event's write needs no read of the CRM's contacts. Only a contacts
//! statement changes it, placing each contact it wrote in its (new) account, with its
//! role, as its transition table `changed` has them.
//!
//! Locks: the writers lock their contacts' state rows first (the existing paths), then
//! the account rows, in account key order, in a statement of their own, so that the
//! rebuild, a later statement, reads the rows and the members' state rows as committed
//! by any writer it waited for. An account that is new gets its row first (ON CONFLICT
//! DO NOTHING waits for a writer inserting the same one), so every account a writer
//! changes is a row it locks.

use pgrx::spi::SpiClient;

use crate::pg::base::attached::{run, Attached, Statement};
use crate::pg::base::attachment::{ident, AccountTable};
use crate::pg::base::errors::spi_failed;
use crate::pg::base::params::Params;
use crate::pg::base::rights::as_crm_owner;
use crate::pg::base::spi_rows::{Row, Rows};
use crate::pg::write::transition_log::{store_and_announce, NewTransitions, Recording};
use crate::pg::write::transitions::Cause;

/// Contacts placed in accounts by a statement: each key (as text) with its account
/// key (as text, `None`: no account) and role.
#[derive(Clone, Default)]
pub(crate) struct Placed {
    keys: Vec<Option<String>>,
    accounts: Vec<Option<String>>,
    roles: Vec<Option<String>>,
}

/// The role column as the contacts' rows are read (`c`), as text.
fn role_column(attached: &Attached) -> String {
    match &attached.compiled.settings.accounts.buying_roles {
        Some(column) => format!("c.{}::text", ident(column)),
        None => "NULL::text".to_owned(),
    }
}

/// Where the contacts a statement wrote are now (its transition table `changed`):
/// read as the CRM's owner, who owns those rows.
pub(crate) fn placed_by_statement(client: &SpiClient<'_>, attached: &Attached) -> Placed {
    let attachment = &attached.attachment;
    let Some(accounts) = &attachment.accounts else { return Placed::default() };
    if attachment.account_scores.is_none() {
        return Placed::default();
    }
    let no_params = Params::default();
    let read = attached.statement(client, Statement::AccountsPlaced, &no_params, false, || {
        format!(
            "SELECT c.{key}::text, c.{account}::text, {role} FROM changed c WHERE c.{key} IS NOT NULL",
            key = attachment.contact_key,
            account = accounts.contact_account,
            role = role_column(attached)
        )
    });
    as_crm_owner(attachment.crm_owner, |_| {
        read_placed(run(client, attached, &read, "reading the contacts' accounts", &no_params))
    })
}

fn read_placed(rows: Rows<'_>) -> Placed {
    let mut placed = Placed::default();
    for row in rows.iter() {
        placed.keys.push(row.text(1).map(str::to_owned));
        placed.accounts.push(row.text(2).map(str::to_owned));
        placed.roles.push(row.text(3).map(str::to_owned));
    }
    placed
}

/// Every contact with an account, as the contacts table has them now (read as its
/// owner): a full rebuild's members.
pub(crate) fn placed_everyone(client: &SpiClient<'_>, attached: &Attached) -> Placed {
    let attachment = &attached.attachment;
    let Some(accounts) = &attachment.accounts else { return Placed::default() };
    let query = format!(
        "SELECT c.{key}::text, c.{account}::text, {role} FROM {contacts} c
          WHERE c.{account} IS NOT NULL AND c.{key} IS NOT NULL",
        key = attachment.contact_key,
        account = accounts.contact_account,
        role = role_column(attached),
        contacts = attachment.contacts
    );
    let no_params = Params::default();
    as_crm_owner(attachment.crm_owner, |_| {
        let rows = Rows::select(client, query.as_str(), no_params.args())
            .unwrap_or_else(|e| spi_failed(attachment, "reading the contacts' accounts", e));
        read_placed(rows)
    })
}

/// The members' columns of the accounts in `members` (account, contact, role), from
/// the state rows, each account's members in key order; members without a state row
/// (deleted contacts) drop out. Engagements are kept settled as of `now` (see
/// `lead_score.settled`): worth the same from then on, without the caps that cannot bind.
fn rebuilt_sql(attached: &Attached, members: &str, pql_tag: &str, now: &str) -> String {
    let attachment = &attached.attachment;
    format!(
        "SELECT m.account, array_agg(m.contact ORDER BY s.contact_key) AS contact_keys,
                array_agg(s.fit ORDER BY s.contact_key) AS fits,
                array_agg(lead_score.settled(s.engagement, to_timestamp({now} / 1e6)) ORDER BY s.contact_key)
                    AS engagements,
                array_agg(coalesce({pql_tag} = ANY (s.tags), false) ORDER BY s.contact_key) AS pql,
                array_agg(m.role ORDER BY s.contact_key) AS roles
           FROM ({members}) m JOIN {state} s ON s.contact_key = m.contact::{key_type}
          GROUP BY m.account",
        state = attachment.state_table,
        key_type = attachment.key_type
    )
}

/// What the refreshing statements return for account thresholds (nothing without
/// them): each account's key, its score as of `now`, its tags, and the contact to name
/// as the reason (the first member among `touched`, else the best one).
fn returning(attached: &Attached, now: &str, touched: &str) -> String {
    if attached.compiled.settings.accounts.thresholds.is_empty() {
        return String::new();
    }
    let scoring = attached.compiled.settings.accounts.scoring.name();
    let scores = format!(
        "ARRAY(SELECT u.fit + lead_score.value_at(u.engagement, to_timestamp({now} / 1e6))
                 FROM unnest(x.fits, x.engagements) WITH ORDINALITY AS u(fit, engagement, n) ORDER BY u.n)"
    );
    format!(
        " RETURNING x.account_key::text, lead_score.account_score({scores}, '{scoring}'), x.tags,
                    coalesce((SELECT k FROM unnest(x.contact_keys) AS k WHERE {touched} LIMIT 1),
                             lead_score.best_contact(x.contact_keys, {scores}))"
    )
}

/// Keep the accounts of the contacts `touched` (keys as text, their score rows written)
/// current, and, for a contacts statement, those its contacts were `placed` in.
pub(crate) fn refresh_accounts(
    client: &SpiClient<'_>,
    attached: &Attached,
    touched: &[String],
    placed: Option<&Placed>,
    now: i64,
    cause: Cause,
) {
    let attachment = &attached.attachment;
    let Some(AccountTable { table, key_type, .. }) = &attachment.account_scores else { return };
    let empty = Placed::default();
    let placed = placed.unwrap_or(&empty);
    if touched.is_empty() && placed.keys.is_empty() {
        return;
    }
    // (Events never delete a contact: its score row is there.)
    if let ([one], true, Cause::Event) = (touched, placed.keys.is_empty(), cause) {
        return refresh_one(client, attached, one, now, cause);
    }
    let touched: Vec<Option<String>> = touched.iter().cloned().map(Some).collect();
    // New accounts get their row first, in key order, so that the lock below takes it.
    if placed.accounts.iter().any(Option::is_some) {
        let mut params = Params::default();
        let accounts = params.bind(placed.accounts.clone());
        let ensure = attached.statement(client, Statement::EnsureAccounts, &params, true, || {
            format!(
                "INSERT INTO {table} (account_key, contact_keys, fits, engagements, pql, roles)
                 SELECT n.a, '{{}}', '{{}}', '{{}}', '{{}}', '{{}}'
                   FROM (SELECT DISTINCT p::{key_type} AS a FROM unnest({accounts}::text[]) AS p
                          WHERE p IS NOT NULL) n
                  ORDER BY n.a
                 ON CONFLICT DO NOTHING"
            )
        });
        run(client, attached, &ensure, "adding accounts", &params);
    }
    let mut params = Params::default();
    let touched_param = params.bind(touched);
    let accounts = params.bind(placed.accounts.clone());
    let lock = attached.statement(client, Statement::LockAccountRows, &params, true, || {
        format!(
            "SELECT FROM {table} x
              WHERE x.contact_keys && {touched_param}::text[]
                 OR x.account_key = ANY ({accounts}::text[]::{key_type}[])
              ORDER BY x.account_key FOR UPDATE"
        )
    });
    run(client, attached, &lock, "locking accounts", &params);
    // (A statement of its own: its snapshot sees what the writers waited for committed.)
    let keys = params.bind(placed.keys.clone());
    let roles = params.bind(placed.roles.clone());
    let pql_tag = params.bind(attached.compiled.settings.pql_tag.clone());
    let now_param = params.bind(now as f64);
    let refresh = attached.statement(client, Statement::RefreshAccounts, &params, true, || {
        let members = format!(
            "SELECT t.account_key AS account, m.contact, m.role
               FROM targets t CROSS JOIN LATERAL unnest(t.contact_keys, t.roles) AS m(contact, role)
              WHERE NOT m.contact = ANY ({keys}::text[])
             UNION ALL
             SELECT p.account::{key_type}, p.contact, p.role
               FROM unnest({keys}::text[], {accounts}::text[], {roles}::text[]) AS p(contact, account, role)
              WHERE p.account IS NOT NULL AND p.contact IS NOT NULL"
        );
        let keyed = keyed_sql(attached, &placed_members(&keys, &accounts), false);
        format!(
            "WITH {keyed},
             targets AS (
                 SELECT x.account_key, x.contact_keys, x.roles FROM {table} x
                  WHERE x.contact_keys && {touched_param}::text[]
                     OR x.account_key = ANY ({accounts}::text[]::{key_type}[])),
             rebuilt AS ({rebuilt}),
             gone AS (
                 DELETE FROM {table} x USING targets t
                  WHERE x.account_key = t.account_key
                    AND NOT EXISTS (SELECT FROM rebuilt r WHERE r.account = t.account_key))
             UPDATE {table} x SET contact_keys = r.contact_keys, fits = r.fits, engagements = r.engagements,
                                  pql = r.pql, roles = r.roles
               FROM rebuilt r WHERE x.account_key = r.account{returning}",
            rebuilt = rebuilt_sql(attached, &members, &pql_tag.to_string(), &now_param.to_string()),
            returning = returning(
                attached,
                &now_param.to_string(),
                &format!("k = ANY ({touched_param}::text[]) OR k = ANY ({keys}::text[])")
            )
        )
    });
    let rows = run(client, attached, &refresh, "refreshing accounts", &params);
    tag_accounts(client, attached, reached_by(attached, rows), now, cause);
}

/// One contact's events (the usual single-row INSERT): its entries in its account's row replaced by its score row,
/// in one UPDATE that takes the row's lock itself (one row: no order to keep). Its
/// other members' entries are the row's latest version's: waiting for another writer
/// of the row, the UPDATE re-reads it (EvalPlanQual) and computes the new value from
/// that, so what the other writer committed stays. (Its own state row is locked and
/// written by this transaction: this snapshot sees it.)
fn refresh_one(client: &SpiClient<'_>, attached: &Attached, key: &str, now: i64, cause: Cause) {
    let attachment = &attached.attachment;
    let Some(AccountTable { table, .. }) = &attachment.account_scores else { return };
    let (state, key_type) = (&attachment.state_table, attachment.key_type);
    let mut params = Params::default();
    let touched = params.bind(vec![Some(key.to_owned())]);
    let pql_tag = params.bind(attached.compiled.settings.pql_tag.clone());
    let now_param = params.bind(now as f64);
    let update = attached.statement(client, Statement::RefreshOneAccount, &params, true, || {
        format!(
            "UPDATE {table} x
                SET (contact_keys, fits, engagements, pql, roles) = (
                    SELECT array_agg(m.k ORDER BY m.n),
                           array_agg(coalesce(s.fit, m.fit) ORDER BY m.n),
                           array_agg(coalesce(lead_score.settled(s.engagement, to_timestamp({now_param} / 1e6)),
                                              m.engagement) ORDER BY m.n),
                           array_agg(CASE WHEN s.contact_key IS NULL THEN m.pql
                                          ELSE coalesce({pql_tag} = ANY (s.tags), false) END ORDER BY m.n),
                           array_agg(m.role ORDER BY m.n)
                      FROM unnest(x.contact_keys, x.fits, x.engagements, x.pql, x.roles)
                           WITH ORDINALITY AS m(k, fit, engagement, pql, role, n)
                      LEFT JOIN {state} s ON m.k = ANY ({touched}::text[]) AND s.contact_key = m.k::{key_type}
                    )
              WHERE x.contact_keys && {touched}::text[]{returning}",
            returning = returning(
                attached,
                &now_param.to_string(),
                &format!("k = ANY ({touched}::text[])")
            )
        )
    });
    let rows = run(client, attached, &update, "refreshing an account", &params);
    tag_accounts(client, attached, reached_by(attached, rows), now, cause);
}

/// The fast path's UPDATE of one contact's state row (`update`, returning `returned`
/// columns and then the contact's new engagement and account key), with the contact's
/// entry in its account's row brought along in the same statement: an event changes
/// only the member's engagement (a PQL tag it takes is settled after, and its account
/// refreshed then). The account row is found by the key the score row keeps (see
/// `keyed_sql`), by its primary key. The statement returns `update`'s columns, then,
/// with account thresholds, the account's `returning` columns (NULL without an
/// account). As in `refresh_one`, waiting for another writer of the account row
/// re-reads it, so what that writer committed stays; the state row is locked first,
/// as every writer does, and a writer moving the contact to another account holds it
/// until it commits, so the key read is the contact's account as committed.
pub(crate) fn with_account_entry(
    attached: &Attached,
    update: &str,
    returned: usize,
    key: &str,
    now: &str,
) -> String {
    let Some(AccountTable { table, key_type, .. }) = &attached.attachment.account_scores else {
        return update.to_owned();
    };
    let columns: Vec<String> = (1..=returned).map(|n| format!("r{n}")).collect();
    let account = returning(attached, now, &format!("k = {key}::text"));
    let (join, account_columns) =
        if account.is_empty() { ("", "") } else { (" LEFT JOIN a ON true", ", a.*") };
    format!(
        "WITH s({columns}, engagement, account_key) AS ({update}),
              a AS (UPDATE {table} x
                       SET engagements[array_position(x.contact_keys, {key}::text)] =
                               lead_score.settled(s.engagement, to_timestamp({now} / 1e6))
                      FROM s
                     WHERE x.account_key = s.account_key::{key_type}
                       AND array_position(x.contact_keys, {key}::text) IS NOT NULL{account})
         SELECT {selected}{account_columns} FROM s{join}",
        columns = columns.join(", "),
        selected = columns.iter().map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
    )
}

/// Where the contacts in `members` (contact, account: a query of text keys) belong:
/// each score row's key and the account key as the account key type spells it (text);
/// with `everyone`, every score row, NULL for a contact not among them (a full
/// rebuild). Nothing without account scores.
fn placements_sql(attached: &Attached, members: &str, everyone: bool) -> Option<String> {
    let attachment = &attached.attachment;
    let AccountTable { key_type: account_type, .. } = attachment.account_scores.as_ref()?;
    let (state, key_type) = (&attachment.state_table, &attachment.key_type);
    let placed = format!(
        "SELECT p.contact::{key_type} AS contact_key, p.account::{account_type}::text AS account
           FROM ({members}) p WHERE p.contact IS NOT NULL"
    );
    Some(if everyone {
        format!(
            "SELECT t.contact_key, p.account FROM {state} t
               LEFT JOIN ({placed}) p ON p.contact_key = t.contact_key"
        )
    } else {
        placed
    })
}

/// A CTE (`keyed`) of the refreshing statements that sets the account key kept in the
/// score rows (see `placements_sql`) where it differs.
fn keyed_sql(attached: &Attached, members: &str, everyone: bool) -> String {
    let Some(placed) = placements_sql(attached, members, everyone) else {
        return String::new();
    };
    format!(
        "keyed AS (
             UPDATE {state} s SET account_key = n.account FROM ({placed}) n
              WHERE s.contact_key = n.contact_key AND s.account_key IS DISTINCT FROM n.account)",
        state = attached.attachment.state_table
    )
}

/// The members of `placed` as a query of text keys (contact, account).
fn placed_members(keys: &impl std::fmt::Display, accounts: &impl std::fmt::Display) -> String {
    format!("SELECT * FROM unnest({keys}::text[], {accounts}::text[]) AS p(contact, account)")
}

/// Rebuild every account from the contacts table and the state rows (a full pass:
/// attach, publish, rescore, a TRUNCATE of the events or accounts).
pub(crate) fn rebuild_accounts(
    client: &SpiClient<'_>,
    attached: &Attached,
    now: i64,
    cause: Cause,
) {
    let attachment = &attached.attachment;
    let Some(AccountTable { table, key_type, .. }) = &attachment.account_scores else { return };
    let placed = placed_everyone(client, attached);
    let mut params = Params::default();
    let keys = params.bind(placed.keys);
    let accounts = params.bind(placed.accounts);
    let roles = params.bind(placed.roles);
    let pql_tag = params.bind(attached.compiled.settings.pql_tag.clone());
    let now_param = params.bind(now as f64);
    let rebuild = attached.statement(client, Statement::RebuildAccounts, &params, true, || {
    let members = format!(
        "SELECT p.account::{key_type} AS account, p.contact, p.role
           FROM unnest({keys}::text[], {accounts}::text[], {roles}::text[]) AS p(contact, account, role)"
    );
    let keyed = keyed_sql(attached, &placed_members(&keys, &accounts), true);
    format!(
        "WITH {keyed},
         rebuilt AS ({rebuilt}),
         gone AS (DELETE FROM {table} x WHERE NOT EXISTS (SELECT FROM rebuilt r WHERE r.account = x.account_key))
         INSERT INTO {table} AS x (account_key, contact_keys, fits, engagements, pql, roles)
         SELECT r.* FROM rebuilt r ORDER BY r.account
         ON CONFLICT (account_key) DO UPDATE
            SET contact_keys = EXCLUDED.contact_keys, fits = EXCLUDED.fits,
                engagements = EXCLUDED.engagements, pql = EXCLUDED.pql, roles = EXCLUDED.roles{returning}",
        rebuilt = rebuilt_sql(attached, &members, &pql_tag.to_string(), &now_param.to_string()),
        returning = returning(attached, &now_param.to_string(), "false")
    )
    });
    let rows = run(client, attached, &rebuild, "rebuilding accounts", &params);
    tag_accounts(client, attached, reached_by(attached, rows), now, cause);
}

/// No contacts, no accounts (a TRUNCATE of the contacts).
pub(crate) fn clear_accounts(client: &SpiClient<'_>, attached: &Attached) {
    let Some(AccountTable { table, .. }) = &attached.attachment.account_scores else { return };
    let no_params = Params::default();
    let clear = attached.statement(client, Statement::ClearAccounts, &no_params, true, || {
        format!("DELETE FROM {table}")
    });
    run(client, attached, &clear, "clearing accounts", &no_params);
}

/// An account tag a refreshed account now reaches: the account's key, the tag, the
/// account's score and the reason to record.
pub(crate) struct Reached {
    account: String,
    tag: String,
    score: f64,
    reason: String,
}

/// The account tags the refreshed account in `row` reaches (its `returning` columns
/// from column `first` on; none without account thresholds).
pub(crate) fn reached(attached: &Attached, row: &impl Row, first: i32) -> Vec<Reached> {
    let settings = &attached.compiled.settings.accounts;
    if settings.thresholds.is_empty() {
        return Vec::new();
    }
    let (Some(account), Some(score)) = (row.text(first), row.float(first + 1)) else {
        return Vec::new();
    };
    let tags = row.text_array(first + 2).unwrap_or_default();
    let reason = match row.text(first + 3) {
        Some(contact) => format!("contact {contact}"),
        None => "no contact".to_owned(),
    };
    let reached = settings.reached(score, &tags);
    reached
        .into_iter()
        .map(|tag| Reached {
            account: account.to_owned(),
            tag: tag.to_owned(),
            score,
            reason: reason.clone(),
        })
        .collect()
}

/// The account tags reached by the refreshed accounts (rows of `returning`).
fn reached_by(attached: &Attached, rows: Rows<'_>) -> Vec<Reached> {
    rows.iter().flat_map(|row| reached(attached, &row, 1)).collect()
}

/// Give the accounts the tags they `reached`, each an `account_tagged` transition,
/// announced.
pub(crate) fn tag_accounts(
    client: &SpiClient<'_>,
    attached: &Attached,
    reached: Vec<Reached>,
    now: i64,
    cause: Cause,
) {
    let attachment = &attached.attachment;
    let Some(AccountTable { table, key_type, accounts_oid, account_key_name }) =
        &attachment.account_scores
    else {
        return;
    };
    let mut new = NewTransitions::default();
    for Reached { account, tag, score, reason } in &reached {
        new.push(
            account,
            ("account_tagged", Some(tag), "untagged", "tagged"),
            Some(*score),
            reason,
        );
    }
    // The tags go to the account rows in the same statement.
    let tagged = format!(
        ",
             tagged AS (
                 UPDATE {table} x
                    SET tags = ARRAY(SELECT DISTINCT t FROM unnest(x.tags || n.tags) AS t ORDER BY t)
                   FROM (SELECT l.contact, array_agg(l.tag) AS tags FROM logged l GROUP BY l.contact) n
                  WHERE x.account_key = n.contact::{key_type})"
    );
    let recording = Recording {
        name: Statement::TagAccounts,
        table: Some((*accounts_oid, account_key_name.clone())),
        order: format!("r.contact::{key_type}, r.tag"),
    };
    store_and_announce(client, attached, &recording, new, cause.name(), now, |_| tagged);
}

/// Every account whose row differs from a rebuild from the contacts table and the state
/// rows (`verify`; `placed`: `placed_everyone`): `account <key>`, its stored and
/// recomputed scores as of `now`, and `account`.
pub(crate) fn account_differences(
    client: &SpiClient<'_>,
    attached: &Attached,
    placed: &Placed,
    now: i64,
) -> Vec<(String, Option<f64>, Option<f64>, String)> {
    let attachment = &attached.attachment;
    let Some(AccountTable { table, key_type, .. }) = &attachment.account_scores else {
        return Vec::new();
    };
    let placed = placed.clone();
    let mut params = Params::default();
    let keys = params.bind(placed.keys);
    let accounts = params.bind(placed.accounts);
    let roles = params.bind(placed.roles);
    let pql_tag = params.bind(attached.compiled.settings.pql_tag.clone());
    let now = params.bind(now as f64);
    let scoring = attached.compiled.settings.accounts.scoring.name();
    let members = format!(
        "SELECT p.account::{key_type} AS account, p.contact, p.role
           FROM unnest({keys}::text[], {accounts}::text[], {roles}::text[]) AS p(contact, account, role)"
    );
    let score = |row: &str| {
        format!(
            "lead_score.account_score(ARRAY(SELECT u.fit + lead_score.value_at(u.engagement, to_timestamp({now} / 1e6))
                 FROM unnest({row}.fits, {row}.engagements) WITH ORDINALITY AS u(fit, engagement, n) ORDER BY u.n),
                 '{scoring}')"
        )
    };
    let compare = format!(
        "WITH rebuilt AS ({rebuilt})
         SELECT coalesce(x.account_key, r.account)::text,
                CASE WHEN x.account_key IS NOT NULL THEN {stored} END,
                CASE WHEN r.account IS NOT NULL THEN {recomputed} END
           FROM {table} x FULL JOIN rebuilt r ON r.account = x.account_key
          WHERE x.account_key IS NULL OR r.account IS NULL
             OR (x.contact_keys, x.fits, x.pql, x.roles) IS DISTINCT FROM (r.contact_keys, r.fits, r.pql, r.roles)
             OR cardinality(x.engagements) IS DISTINCT FROM cardinality(r.engagements)
             OR NOT (SELECT bool_and(lead_score.same_worth(e.stored, e.rebuilt, to_timestamp({now} / 1e6)))
                       FROM unnest(x.engagements, r.engagements) AS e(stored, rebuilt))
          ORDER BY 1",
        rebuilt = rebuilt_sql(attached, &members, &pql_tag.to_string(), &now.to_string()),
        stored = score("x"),
        recomputed = score("r")
    );
    let rows = Rows::select(client, compare.as_str(), params.args())
        .unwrap_or_else(|e| spi_failed(attachment, "comparing accounts", e));
    rows.iter()
        .map(|row| {
            let key = row.text(1).unwrap_or_default();
            (format!("account {key}"), row.float(2), row.float(3), "account".to_owned())
        })
        .collect()
}

/// The contacts whose score row keeps another account key than the contacts table
/// gives them (`verify`): a single event's write would update the wrong account, or
/// none (`placed`: `placed_everyone`).
pub(crate) fn stale_account_keys(
    client: &SpiClient<'_>,
    attached: &Attached,
    placed: &Placed,
) -> Vec<String> {
    let attachment = &attached.attachment;
    if attachment.account_scores.is_none() {
        return Vec::new();
    }
    let mut params = Params::default();
    let keys = params.bind(placed.keys.clone());
    let accounts = params.bind(placed.accounts.clone());
    let Some(placed) = placements_sql(attached, &placed_members(&keys, &accounts), true) else {
        return Vec::new();
    };
    let compare = format!(
        "SELECT n.contact_key::text FROM ({placed}) n JOIN {state} s ON s.contact_key = n.contact_key
          WHERE s.account_key IS DISTINCT FROM n.account",
        state = attachment.state_table
    );
    let rows = Rows::select(client, compare.as_str(), params.args())
        .unwrap_or_else(|e| spi_failed(attachment, "comparing the account keys", e));
    rows.iter().filter_map(|row| row.text(1).map(str::to_owned)).collect()
}
