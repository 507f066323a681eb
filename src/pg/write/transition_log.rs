//! The transitions log: storing transitions in `lead_score.transitions` and announcing
//! each with `pg_notify('lead_score', ...)` (`lead_score.announce`), in one statement
//! per writer, shared by contacts' transitions, routing and account tags.

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::pg::base::attached::{run, Attached, Statement};
use crate::pg::base::params::Params;
use crate::pg::base::rights::{calling_role, role_name};

/// Transitions to store and announce, one value per transition in each column.
#[derive(Default)]
pub(crate) struct NewTransitions {
    contacts: Vec<Option<String>>,
    kinds: Vec<Option<String>>,
    tags: Vec<Option<String>>,
    old_states: Vec<Option<String>>,
    new_states: Vec<Option<String>>,
    scores: Vec<Option<f64>>,
    reasons: Vec<Option<String>>,
}

impl NewTransitions {
    /// One transition of `contact`: its kind, tag, old and new state (as
    /// `Transition::describe` gives them), the score and the reason.
    pub(crate) fn push(
        &mut self,
        contact: &str,
        (kind, tag, old_state, new_state): (&str, Option<&str>, &str, &str),
        score: Option<f64>,
        reason: &str,
    ) {
        self.contacts.push(Some(contact.to_owned()));
        self.kinds.push(Some(kind.to_owned()));
        self.tags.push(tag.map(str::to_owned));
        self.old_states.push(Some(old_state.to_owned()));
        self.new_states.push(Some(new_state.to_owned()));
        self.scores.push(score);
        self.reasons.push(Some(reason.to_owned()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }
}

/// How a writer records its transitions: its prepared statement, the table and key
/// column the `contact` keys belong to (`None`: older SQL, without those columns), and
/// the order of the rows (an ORDER BY over `r(contact, kind, tag, ...)`; empty: as
/// given).
pub(crate) struct Recording {
    pub(crate) name: Statement,
    pub(crate) table: Option<(pg_sys::Oid, String)>,
    pub(crate) order: String,
}

/// Insert `new` into `lead_score.transitions` (as of `now`, for the attachment's profile
/// and version, with `source` and the calling role as `actor`) and announce each row
/// with its notification, in one statement: the CTE `logged` holds the rows inserted,
/// and `also` (which binds its own parameters on every call) adds the writer's CTEs
/// after it (`, name AS (...)`).
pub(crate) fn store_and_announce<'a>(
    client: &SpiClient<'_>,
    attached: &Attached,
    recording: &Recording,
    new: NewTransitions,
    source: &str,
    now: i64,
    also: impl FnOnce(&mut Params<'a>) -> String,
) {
    if new.is_empty() {
        return;
    }
    let attachment = &attached.attachment;
    let mut params = Params::default();
    let now = params.bind(now as f64);
    let profile = params.bind(attachment.profile_name.clone());
    let version = params.bind(attachment.version);
    let source = params.bind(source);
    let actor = params.bind(role_name(calling_role()));
    let texts = [new.contacts, new.kinds, new.tags, new.old_states, new.new_states];
    let [contacts, kinds, tags, old_states, new_states] = texts.map(|column| params.bind(column));
    let (scores, reasons) = (params.bind(new.scores), params.bind(new.reasons));
    let (table_columns, table_values) = match &recording.table {
        Some((oid, key_column)) => {
            let (table, key_column) = (params.bind(*oid), params.bind(key_column.clone()));
            (
                ", contacts, key_column",
                format!(", {table}::pg_catalog.regclass, {key_column}::pg_catalog.name"),
            )
        }
        None => ("", String::new()),
    };
    let also = also(&mut params);
    let insert = attached.statement(client, recording.name, &params, true, || {
        let order = match recording.order.as_str() {
            "" => "r.n".to_owned(),
            order => order.to_owned(),
        };
        format!(
            "WITH logged AS (
                 INSERT INTO lead_score.transitions (at, profile, version, contact, kind, tag, old_state,
                                                     new_state, score, reason, source, actor{table_columns})
                 SELECT pg_catalog.to_timestamp({now} OPERATOR(pg_catalog./) 1e6), {profile}, {version},
                        r.contact, r.kind, r.tag, r.old_state, r.new_state, r.score, r.reason, {source},
                        {actor}::pg_catalog.text{table_values}
                   FROM unnest({contacts}::pg_catalog.text[], {kinds}::pg_catalog.text[],
                               {tags}::pg_catalog.text[], {old_states}::pg_catalog.text[],
                               {new_states}::pg_catalog.text[], {scores}::pg_catalog.float8[],
                               {reasons}::pg_catalog.text[])
                        WITH ORDINALITY AS r(contact, kind, tag, old_state, new_state, score, reason, n)
                  ORDER BY {order}
                 RETURNING *){also}
             SELECT lead_score.announce(l) FROM logged l ORDER BY l.id"
        )
    });
    run(client, attached, &insert, "recording transitions", &params);
}
