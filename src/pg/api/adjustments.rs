//! Manual adjustments (reference: "Manual adjustments"): `lead_score.adjust()`. (Every recomputation reads them into its
//! summaries: see `summaries::fold_adjustments_of` and `fold_all_adjustments`.)

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::pg::base::attached::{attached_by_name, attached_locking};

use crate::pg::base::clock::{from_unix_micros, interval_seconds, now_unix_micros};
use crate::pg::base::errors::{internal, raise, spi_failed, Failure};
use crate::pg::base::params::Params;
use crate::pg::base::rights::{
    as_extension_owner_for_caller, calling_role, entered_by_caller, extension_owner, role_name,
};
use crate::pg::write::accounts::refresh_accounts;
use crate::pg::write::score_rows::standing;
use crate::pg::write::some_contacts::rescore_contacts;
use crate::pg::write::transitions::Cause;
use lead_score_core::decay::HalfLife;

/// At most this many points either way (the table's check says the same): no sum of
/// adjustments then overflows a stored score.
const MAX_POINTS: f64 = 1e9;

/// At most this many bytes of reason (the table's check says the same).
const MAX_REASON_BYTES: usize = 500;

/// The reason as stored: trimmed, not empty, at most `MAX_REASON_BYTES`; 22023 otherwise.
fn checked_reason(reason: &str) -> &str {
    let reason = reason.trim();
    if reason.is_empty() {
        raise(Failure::InvalidValue("reason must not be empty".to_owned()));
    }
    if reason.len() > MAX_REASON_BYTES {
        raise(Failure::InvalidValue(format!(
            "reason must be at most {MAX_REASON_BYTES} bytes, got {}",
            reason.len()
        )));
    }
    reason
}

/// The half-life of an adjustment: positive, as `extract(epoch from ...)` measures it;
/// 22023 otherwise.
fn checked_half_life(half_life: Option<Interval>) -> Option<Interval> {
    let half_life = half_life?;
    if let Err(error) = HalfLife::from_seconds(interval_seconds(&half_life)) {
        raise(Failure::InvalidValue(format!("half_life: {error}")));
    }
    Some(half_life)
}

/// Give `contact` of `profile` `points` for `reason`, now: store the adjustment and
/// rescore the contact in this transaction. Returns the adjustment's id.
fn adjust_contact(
    profile: &str,
    contact: &str,
    points: f64,
    reason: &str,
    half_life: Option<Interval>,
) -> i64 {
    if !points.is_finite() || points.abs() > MAX_POINTS {
        // As Postgres spells them.
        let spelled = match points {
            p if p.is_nan() => "NaN".to_owned(),
            p if p == f64::INFINITY => "Infinity".to_owned(),
            p if p == f64::NEG_INFINITY => "-Infinity".to_owned(),
            p => p.to_string(),
        };
        raise(Failure::InvalidValue(format!(
            "points must be a number between -{MAX_POINTS} and {MAX_POINTS}, got {spelled}"
        )));
    }
    let reason = checked_reason(reason);
    let half_life = checked_half_life(half_life);
    Spi::connect_mut(|client| {
        let cached = attached_by_name(client, profile);
        let attached = attached_locking(client, profile, &cached, pg_sys::RowExclusiveLock);
        // Only a contact the caller may see, as its scores view shows it (this runs as
        // the caller: the role that was granted adjust()).
        let Some(found) = standing(client, &attached, contact) else {
            raise(
                Failure::Undefined(format!("profile \"{profile}\" has no contact \"{contact}\""))
                    .hint("Adjust a contact that exists and that you may see."),
            )
        };
        let adjuster = role_name(calling_role());
        let now = now_unix_micros();
        // The adjustment and the new score, written as the extension's owner.
        let owner = extension_owner(client);
        as_extension_owner_for_caller(owner, || {
            // Bound to the contacts table and key column it was made on: no other
            // attachment of the profile counts it or shows it. (0.2.0's SQL, before
            // the update, has no place for them: the update records them.)
            let attachment = &attached.attachment;
            let mut params = Params::default();
            let values = [
                params.bind(attachment.profile_id),
                params.bind(found.key.as_str()),
                params.bind(points),
                params.bind(half_life),
                params.bind(reason),
                params.bind(from_unix_micros(now)),
                params.bind(adjuster.as_str()),
            ];
            let (mut columns, mut values) = (
                "profile_id, contact_key, points, half_life, reason, adjusted_at, adjusted_by"
                    .to_owned(),
                values.map(|v| v.to_string()).join(", "),
            );
            if attachment.adjustments_by_table {
                let contacts = params.bind(attachment.contacts_oid);
                let key_column = params.bind(attachment.contact_key_name.as_str());
                columns.push_str(", contacts, key_column");
                values.push_str(&format!(
                    ", {contacts}::pg_catalog.regclass, {key_column}::pg_catalog.name"
                ));
            }
            let insert = format!(
                "INSERT INTO lead_score.adjustment_store ({columns}) VALUES ({values}) RETURNING id"
            );
            let id = client
                .update(insert.as_str(), Some(1), params.args())
                .and_then(|rows| rows.first().get_one::<i64>())
                .unwrap_or_else(|e| spi_failed(&attached.attachment, "storing an adjustment", e))
                .unwrap_or_else(|| internal("storing an adjustment", "no id returned"));
            // Its transitions name the role that adjusted, as `adjusted_by` does.
            let key = [found.key];
            rescore_contacts(client, &attached, &key, now, Cause::Adjustment);
            refresh_accounts(client, &attached, &key, None, now, Cause::Adjustment);
            id
        })
    })
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.adjust(profile, contact, points, reason, half_life)`: add `points` to
    /// a contact's score by hand, now, decaying with `half_life` (never, without one);
    /// tags it in this transaction if that carries it over a threshold. Returns the
    /// adjustment's id. For roles granted it: it runs as the caller, and writes as the
    /// extension's owner only once the caller's own checks passed.
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn adjust(
        profile: Option<&str>,
        contact: Option<&str>,
        points: Option<f64>,
        reason: Option<&str>,
        half_life: default!(Option<Interval>, "NULL"),
    ) -> i64 {
        let given =
            |name: &str| -> ! { raise(Failure::NullValue(format!("{name} must not be NULL"))) };
        let profile = profile.unwrap_or_else(|| given("profile"));
        let contact = contact.unwrap_or_else(|| given("contact"));
        let points = points.unwrap_or_else(|| given("points"));
        let reason = reason.unwrap_or_else(|| given("reason"));
        entered_by_caller(|| adjust_contact(profile, contact, points, reason, half_life))
    }
}
