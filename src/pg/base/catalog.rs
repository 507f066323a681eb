//! Reading profiles from the catalog and compiling them for the engine.

use crate::pg::base::errors::{internal, raise, Failure};
use crate::pg::base::jsonb::AnyJsonb;
use pgrx::prelude::*;

use lead_score_core::engine::CompiledProfile;

/// Which rules of a profile to use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edition {
    /// The active published version.
    Active,
    /// The draft, as it would be published now.
    Draft,
    /// A published version.
    Version(i32),
}

pub(crate) struct LoadedProfile {
    pub compiled: CompiledProfile,
    /// `None` for the draft.
    pub version: Option<i32>,
}

/// Load and compile a profile's rules. Raises 42704 for an unknown profile, 55000 when
/// asking for the active version of a never-published one, 22023 for a draft that
/// does not compile (a published version always does: it was validated at publish).
pub(crate) fn load_profile(name: &str, edition: Edition) -> LoadedProfile {
    let (settings, version) = Spi::connect(|client| {
        let found = client.select(
            "SELECT draft_settings, active_version FROM lead_score.profiles WHERE name = $1",
            Some(1),
            &[name.into()],
        )?;
        if found.is_empty() {
            return Ok::<_, pgrx::spi::Error>((None, None));
        }
        let (draft_settings, active_version) = found.first().get_two::<AnyJsonb, i32>()?;
        let draft_settings = draft_settings.map_or(serde_json::Value::Null, |s| s.0);
        Ok(match edition {
            Edition::Draft => (Some(draft_settings), None),
            Edition::Version(v) => {
                let found = client.select(
                    "SELECT settings FROM lead_score.profile_versions WHERE profile = $1 AND version = $2",
                    Some(1),
                    &[name.into(), v.into()],
                )?;
                if found.is_empty() {
                    raise(Failure::Undefined(format!("profile \"{name}\" has no version {v}")));
                }
                (found.first().get_one::<AnyJsonb>()?.map(|s| s.0), Some(v))
            }
            Edition::Active => {
                let settings = match active_version {
                    None => None,
                    Some(v) => client
                        .select(
                            "SELECT settings FROM lead_score.profile_versions WHERE profile = $1 AND version = $2",
                            Some(1),
                            &[name.into(), v.into()],
                        )?
                        .first()
                        .get_one::<AnyJsonb>()?
                        .map(|s| s.0),
                };
                (settings.or(Some(serde_json::Value::Null)), active_version)
            }
        })
    })
    .unwrap_or_else(|e| internal(format!("reading profile \"{name}\""), e));

    let Some(settings) = settings else {
        raise(Failure::UnknownProfile(name.to_owned()));
    };
    if edition == Edition::Active && version.is_none() {
        raise(Failure::NotReady(format!("profile \"{name}\" has not been published yet")).hint(
            "Publish it with lead_score.publish(), or score its draft with use_draft => true.",
        ));
    }
    let rules: Vec<(String, serde_json::Value)> = Spi::connect(|client| {
        let (query, version) = match edition {
            Edition::Draft => ("SELECT rule_name, rule FROM lead_score.rules WHERE profile = $1 AND is_draft AND $2 IS NULL ORDER BY rule_name", None),
            Edition::Active => ("SELECT rule_name, rule FROM lead_score.rules WHERE profile = $1 AND is_active AND $2 IS NULL ORDER BY rule_name", None),
            Edition::Version(v) => ("SELECT rule_name, rule FROM lead_score.rules WHERE profile = $1 AND version = $2 ORDER BY rule_name", Some(v)),
        };
        client
            .select(query, None, &[name.into(), version.into()])?
            .map(|row| Ok((row.get::<String>(1)?.unwrap_or_default(), row.get::<AnyJsonb>(2)?.map_or(serde_json::Value::Null, |j| j.0))))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|e| internal(format!("reading the rules of profile \"{name}\""), e));

    match CompiledProfile::compile(&settings, &rules) {
        Ok(compiled) => LoadedProfile { compiled, version },
        Err(e) => raise(Failure::InvalidValue(match e.rule_name {
            Some(rule) => format!("profile \"{name}\", rule \"{rule}\": {}", e.error),
            None => format!("profile \"{name}\", settings: {}", e.error),
        })),
    }
}
