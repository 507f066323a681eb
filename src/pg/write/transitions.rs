//! Transitions recorded: settle tags and disqualification for freshly scored contacts
//! (the pure rules are in `lead_score_core::qualification`), then store the transitions,
//! the sticky tags and their copy in the state rows, and announce each transition with
//! `pg_notify('lead_score', ...)`, all in the writing transaction.

use std::collections::HashMap;

use pgrx::spi::SpiClient;

use crate::pg::base::attached::{run, Attached, Statement};
use crate::pg::base::errors::spi_failed;

use crate::pg::base::clock::from_unix_micros;
use crate::pg::base::params::Params;
use crate::pg::base::spi_rows::{Row, Rows};
use crate::pg::base::state_table;
use crate::pg::write::routing;
use crate::pg::write::score_rows::StoredRow;
use crate::pg::write::summaries::Scored;
use crate::pg::write::transition_log::{store_and_announce, NewTransitions, Recording};
use lead_score_core::engine::{CompiledProfile, ContactScore};
use lead_score_core::qualification::{next_crossing, transitions, Change, Held, Transition};

/// What made a contact's score change, as recorded in `lead_score.transitions.source`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Cause {
    Event,
    Contact,
    Account,
    Publish,
    Attach,
    Rescore,
    Tick,
    Adjustment,
}

impl Cause {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cause::Event => "event",
            Cause::Contact => "contact",
            Cause::Account => "account",
            Cause::Publish => "publish",
            Cause::Attach => "attach",
            Cause::Rescore => "rescore",
            Cause::Tick => "tick",
            Cause::Adjustment => "adjustment",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Cause> {
        [Cause::Publish, Cause::Attach, Cause::Rescore].into_iter().find(|c| c.name() == name)
    }
}

/// A contact's qualification before a write: its sticky tags, its disqualifiers and
/// its lifecycle stage.
#[derive(Clone, Debug, Default)]
pub(crate) struct Before {
    pub tags: Vec<String>,
    pub disqualified_by: Vec<String>,
    pub stage: Option<String>,
}

/// What to name as having pushed a contact over a threshold: the fit rules for a
/// contact or account change, the latest manual adjustment's reason for an adjustment,
/// otherwise the rule of its latest scoring event.
fn pushed_by(profile: &CompiledProfile, result: &ContactScore, cause: Cause) -> String {
    if let (Cause::Adjustment, Some(reason)) = (cause, &result.latest_adjustment) {
        return format!("adjustment: {reason}");
    }
    let name = |index: usize| profile.rules[index].0.as_str();
    let fit = result.fit_rules.iter().map(|&index| name(index)).collect::<Vec<_>>().join(", ");
    let event = result.latest_rule.map(|index| name(index).to_owned());
    match cause {
        Cause::Contact | Cause::Account if !fit.is_empty() => fit,
        _ => event.unwrap_or(fit),
    }
}

/// The transitions of freshly scored contacts, given what each was before (`before`,
/// one per contact of `scored`; `None` for a contact without a state row yet: it starts
/// as it is, so only tags count as transitions for it). Also moves each result's due
/// time up to the instant fading negative points would carry it over a threshold it
/// lacks.
pub(crate) fn settle(
    attached: &Attached,
    scored: &mut Scored,
    before: &[Option<Before>],
    cause: Cause,
    now: i64,
) -> Vec<(String, Transition)> {
    let settings = &attached.compiled.settings;
    let mut found = Vec::new();
    for ((key, result), before) in scored.iter_mut().zip(before) {
        let (tags, stage, disqualified_before) = match before {
            Some(b) => (b.tags.as_slice(), b.stage.as_deref(), b.disqualified_by.as_slice()),
            None => (&[][..], None, result.disqualified_by.as_slice()),
        };
        let holding = Held::of(settings, tags, stage);
        let score = result.score_at(now);
        let changes = transitions(
            settings,
            holding,
            result.stages_met,
            disqualified_before,
            &result.disqualified_by,
            score,
            || pushed_by(&attached.compiled, result, cause),
        );
        if result.disqualified_by.is_empty() {
            let mut tags_after = tags.to_vec();
            tags_after.extend(changes.iter().filter_map(|t| t.describe().1.map(str::to_owned)));
            let entered = changes.iter().find_map(|t| match &t.change {
                Change::StageChanged { to, .. } => Some(to.as_str()),
                _ => None,
            });
            let after = Held::of(settings, &tags_after, entered.or(stage));
            let (fit, engagement) = (result.fit, &result.engagement);
            if let Some(crossing) =
                next_crossing(settings, after, result.stages_met, fit, engagement, now)
            {
                result.next_due = Some(result.next_due.map_or(crossing, |d| d.min(crossing)));
            }
        }
        found.extend(changes.into_iter().map(|t| (key.clone(), t)));
    }
    found
}

/// A batch's qualification before a full rescore, contact by contact: tags from the tag
/// store (`tags`, taken out as used), disqualifiers from the state rows. Contacts
/// without a row start as they are, except that tags they have (after a re-attach)
/// still hold.
pub(crate) fn qualification_before(
    batch: &Scored,
    stored: &[Option<StoredRow>],
    tags: &mut HashMap<String, Vec<String>>,
) -> Vec<Option<Before>> {
    let mut held = |key: &String| if tags.is_empty() { None } else { tags.remove(key) };
    batch
        .iter()
        .zip(stored)
        .map(|((key, _), row)| match (row, held(key)) {
            (Some(row), tags) => Some(Before {
                tags: tags.unwrap_or_default(),
                disqualified_by: row.disqualified_by.clone(),
                stage: row.stage.clone(),
            }),
            (None, Some(tags)) => Some(Before { tags, ..Before::default() }),
            (None, None) => None,
        })
        .collect()
}

/// Store and announce transitions: one row each in `lead_score.transitions`, the new
/// tags in `lead_score.tag_store`, their copy in the state rows, one notification each.
/// Their `actor` is the calling role (`rights::calling_role`): the role that wrote
/// the CRM's rows, adjusted, rescored, published or ran `tick()`.
pub(crate) fn record(
    client: &SpiClient<'_>,
    attached: &Attached,
    found: &[(String, Transition)],
    cause: Cause,
    now: i64,
) {
    if found.is_empty() {
        return;
    }
    let attachment = &attached.attachment;
    let mut new = NewTransitions::default();
    for (key, transition) in found {
        new.push(key, transition.describe(), Some(transition.score), &transition.reason);
    }
    // Each transition names the table and key column its contact key belongs to: a key
    // of another table the profile is attached to later is another contact. (Older SQL,
    // before `ALTER EXTENSION ... UPDATE`, has no columns for them.)
    let table = attachment
        .transitions_by_table
        .then(|| (attachment.contacts_oid, attachment.contact_key_name.clone()));
    // The tags taken go to the tag store, and contacts entering a stage move into it
    // (see `entering`), in the same statement.
    let also = |params: &mut Params<'_>| {
        let profile_id = params.bind(attachment.profile_id);
        format!(
            ",
             tagged AS (
                 INSERT INTO lead_score.tag_store (profile_id, contact_key, tag, tagged_at, score,
                                                   version, rule, source)
                 SELECT {profile_id}, l.contact, l.tag, l.at, l.score, l.version, l.reason, l.source
                   FROM logged l WHERE l.kind OPERATOR(pg_catalog.=) 'tagged'
                 ON CONFLICT DO NOTHING){staged}",
            staged = entering(attached)
        )
    };
    let recording = Recording { name: Statement::RecordTransitions, table, order: String::new() };
    store_and_announce(client, attached, &recording, new, cause.name(), now, also);
    let mut tagged: Vec<Option<String>> = found
        .iter()
        .filter(|(_, t)| t.describe().0 == "tagged")
        .map(|(key, _)| Some(key.clone()))
        .collect();
    tagged.dedup();
    if !tagged.is_empty() {
        mirror_tags(client, attached, Some(tagged));
    }
    routing::route(client, attached, found, cause.name(), now);
}

/// The part of the recording statement that moves the contacts of `stage_changed`
/// transitions into their new stage, as of the transition: the stage, when it was
/// entered, and the engagement it had then (its state row, written before), from which
/// the scores view counts the points earned in the stage. (Nothing for a state table
/// without stage columns: older SQL, whose profiles have no stages.)
fn entering(attached: &Attached) -> String {
    let attachment = &attached.attachment;
    if !attachment.stages_stored {
        return String::new();
    }
    format!(
        ",
             staged AS (
                 UPDATE {state} s SET stage = l.new_state, stage_entered_at = l.at, stage_base = s.engagement
                   FROM logged l
                  WHERE l.kind = 'stage_changed' AND s.contact_key = l.contact::{key_type})",
        state = attachment.state_table,
        key_type = attachment.key_type
    )
}

/// Copy the sticky tags of the given contacts (all, with `None`) from
/// `lead_score.tag_store` into their state rows.
pub(crate) fn mirror_tags(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: Option<Vec<Option<String>>>,
) {
    let attachment = &attached.attachment;
    let (state, key_type) = (&attachment.state_table, &attachment.key_type);
    let some = keys.is_some();
    let name = if some { Statement::CopySomeTags } else { Statement::CopyAllTags };
    let mut params = Params::default();
    let profile_id = params.bind(attachment.profile_id);
    let pql_tag = params.bind(attached.compiled.settings.pql_tag.clone());
    let keys = keys.map(|keys| params.bind(keys));
    let copy = attached.statement(client, name, &params, true, || {
        // The contacts to look at: those given, or every one that has tags in either
        // place. A contact whose last tag went (clear_tag, forget) gets `{}`.
        let keys = match keys {
            // (Each key as the key type spells it: '007' is contact 7, whose tags are
            // stored under '7'.)
            Some(keys) => format!("SELECT unnest({keys}::text[])::{key_type}::text"),
            None => format!(
                "SELECT contact_key FROM lead_score.tag_store WHERE profile_id = {profile_id}
                 UNION SELECT contact_key::text FROM {state} WHERE tags <> '{{}}'"
            ),
        };
        format!(
            "UPDATE {state} s SET tags = t.tags, pql_at = t.pql_at
               FROM (SELECT k.key,
                            coalesce(array_agg(g.tag ORDER BY g.tag) FILTER (WHERE g.tag IS NOT NULL),
                                     '{{}}') AS tags,
                            max(g.tagged_at) FILTER (WHERE g.tag = {pql_tag}) AS pql_at
                       FROM ({keys}) AS k(key)
                       LEFT JOIN lead_score.tag_store g
                              ON g.profile_id = {profile_id} AND g.contact_key = k.key
                      GROUP BY k.key) t
              WHERE s.contact_key = t.key::{key_type}
                AND (s.tags, s.pql_at) IS DISTINCT FROM (t.tags, t.pql_at)"
        )
    });
    run(client, attached, &copy, "copying tags", &params);
}

/// Bring a contact's due time forward to the instant fading points carry it over the
/// lowest threshold it no longer holds (see `next_crossing`), unless it is disqualified:
/// taking a tag away can only make that instant earlier.
pub(crate) fn due_after_untagging(
    client: &SpiClient<'_>,
    attached: &Attached,
    contact: &str,
    now: i64,
) {
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let mut params = Params::default();
    let key = params.bind(contact);
    let read = attached.statement(client, Statement::UntaggedScore, &params, true, || {
        let stage = state_table::stage_column("s", attached.attachment.stages_stored);
        format!(
            "SELECT s.fit, s.engagement, s.tags, {stage} FROM {state} s
              WHERE s.contact_key = {key}::text::{key_type} AND cardinality(s.disqualified_by) = 0
                FOR UPDATE"
        )
    });
    let rows = run(client, attached, &read, "reading an untagged contact", &params);
    let crossing = rows.first().and_then(|row| {
        let (fit, engagement) = (row.float(1)?, row.decayed(2)?);
        let tags = row.text_array(3).unwrap_or_default();
        let settings = &attached.compiled.settings;
        // (Which stages' conditions hold is not stored: every stage above counts, and
        // a due time early by it finds nothing to do.)
        let holding = Held::of(settings, &tags, row.text(4));
        next_crossing(settings, holding, u64::MAX, fit, &engagement, now)
    });
    let Some(crossing) = crossing else { return };
    let mut params = Params::default();
    let key = params.bind(contact);
    let at = params.bind(from_unix_micros(crossing));
    let update = attached.statement(client, Statement::DueEarlier, &params, true, || {
        format!(
            "UPDATE {state} s SET next_due = {at}
              WHERE s.contact_key = {key}::text::{key_type}
                AND (s.next_due IS NULL OR s.next_due > {at})"
        )
    });
    run(client, attached, &update, "bringing a due time forward", &params);
}

/// The sticky tags of every contact of the profile, from `lead_score.tag_store`.
pub(crate) fn all_tags(
    client: &SpiClient<'_>,
    attached: &Attached,
) -> HashMap<String, Vec<String>> {
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    let rows = Rows::select(
        client,
        "SELECT contact_key, tag FROM lead_score.tag_store WHERE profile_id = $1 ORDER BY 1, 2",
        &[attached.attachment.profile_id.into()],
    )
    .unwrap_or_else(|e| spi_failed(&attached.attachment, "reading tags", e));
    // (Both columns are text and NOT NULL.)
    for row in rows.iter() {
        if let (Some(key), Some(tag)) = (row.text(1), row.text(2)) {
            tags.entry(key.to_owned()).or_default().push(tag.to_owned());
        }
    }
    tags
}
