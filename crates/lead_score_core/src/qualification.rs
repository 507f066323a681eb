//! Qualification: which sticky tags a contact gains, when it becomes disqualified or
//! requalified, when decay alone will next carry it over a threshold, and its score on
//! the 1–100 and 0–5 star scales. Pure functions of a contact's state before and after
//! a write; the Postgres glue stores and announces what they return.

use crate::decay::DecayedSum;
use crate::settings::Settings;
use crate::stages::{next_stage_minimum, stage_reached};
use crate::value::Micros;

/// What one write did to a contact's qualification.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// The contact reached `threshold` and got `tag`.
    Tagged { tag: String, threshold: f64 },
    /// A disqualifier started to hold (`reason`: the disqualifiers that hold).
    Disqualified,
    /// No disqualifier holds any more (`reason`: the ones that held).
    Requalified,
    /// The contact entered stage `to` (number `index` in the settings' stages) from
    /// stage `from` (`None`: none yet).
    StageChanged { from: Option<String>, to: String, index: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub change: Change,
    /// The score at that moment.
    pub score: f64,
    pub reason: String,
}

impl Transition {
    /// `(kind, tag, old state, new state)` as the transitions table spells them (a
    /// stage change: the stages' names, `none` for no stage yet).
    pub fn describe(&self) -> (&'static str, Option<&str>, &str, &str) {
        match &self.change {
            Change::Tagged { tag, .. } => ("tagged", Some(tag), "untagged", "tagged"),
            Change::Disqualified => ("disqualified", None, "qualified", "disqualified"),
            Change::Requalified => ("requalified", None, "disqualified", "qualified"),
            Change::StageChanged { from, to, .. } => {
                ("stage_changed", None, from.as_deref().unwrap_or("none"), to)
            }
        }
    }

    /// How `preview` names it: `tagged PQL`, `stage SQL`, `disqualified`.
    pub fn label(&self) -> String {
        match &self.change {
            Change::Tagged { tag, .. } => format!("tagged {tag}"),
            Change::StageChanged { to, .. } => format!("stage {to}"),
            _ => self.describe().0.to_owned(),
        }
    }
}

/// What a contact holds before a write: its sticky tags and its stage (an index into
/// the settings' stages; `None`: none, or one the profile no longer lists, named by
/// `stage_name`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Held<'a> {
    pub tags: &'a [String],
    pub stage: Option<usize>,
    pub stage_name: Option<&'a str>,
}

impl<'a> Held<'a> {
    /// What a contact holding `tags` and the stage named `stage` holds, the stage found
    /// by its name in `settings` (one the profile no longer lists: no index).
    pub fn of(settings: &Settings, tags: &'a [String], stage: Option<&'a str>) -> Held<'a> {
        let index = stage.and_then(|name| crate::stages::stage_index(&settings.stages, name));
        Held { tags, stage: index, stage_name: stage }
    }
}

/// The transitions of one contact: `held` is what it held before the write,
/// `disqualified_before` / `disqualified_by` its disqualifiers before and after,
/// `stages_met` which stages' conditions hold now (see `ContactScore::stages_met`),
/// `score` its score now and `pushed_by` what to name as having pushed it over (asked
/// only when a tag is given or a stage entered).
///
/// Disqualification is settled first: a contact that is disqualified now gets no tag
/// and enters no stage, and one requalified by this write can. Tags and stages are
/// sticky, so none is ever taken away here and no contact moves down a stage.
pub fn transitions(
    settings: &Settings,
    held: Held<'_>,
    stages_met: u64,
    disqualified_before: &[String],
    disqualified_by: &[String],
    score: f64,
    pushed_by: impl Fn() -> String,
) -> Vec<Transition> {
    let mut found = Vec::new();
    match (disqualified_before.is_empty(), disqualified_by.is_empty()) {
        (true, false) => found.push(Transition {
            change: Change::Disqualified,
            score,
            reason: disqualified_by.join(", "),
        }),
        (false, true) => found.push(Transition {
            change: Change::Requalified,
            score,
            reason: format!("no longer: {}", disqualified_before.join(", ")),
        }),
        _ => {}
    }
    if disqualified_by.is_empty() {
        for (tag, threshold) in tags_reached(settings, held.tags, score) {
            found.push(Transition {
                change: Change::Tagged { tag: tag.to_owned(), threshold },
                score,
                reason: pushed_by(),
            });
        }
        if let Some(index) = stage_reached(&settings.stages, held.stage, stages_met, score) {
            let (from, to) =
                (held.stage_name.map(str::to_owned), settings.stages[index].name.clone());
            // (A stage entered with no rule to name: the first one, or one whose
            // condition came to hold by itself.)
            let reason = match pushed_by() {
                named if !named.is_empty() => named,
                _ if index == 0 => "first stage".to_owned(),
                _ => "its condition".to_owned(),
            };
            found.push(Transition {
                change: Change::StageChanged { from, to, index },
                score,
                reason,
            });
        }
    }
    found
}

/// Whether a write that only added points may need `transitions` (or a new due time
/// from `next_crossing`): the contact is not disqualified, lacks a tag or a stage
/// above its own, and either has reached that one's minimum or has negative points
/// whose fading can raise it. Only the stages whose conditions held when it was last
/// computed in full count (`stages_met`; adding events changes no condition).
pub fn may_change(
    settings: &Settings,
    held: Held<'_>,
    stages_met: u64,
    disqualified: bool,
    fit: f64,
    engagement: &DecayedSum,
    now: Micros,
) -> bool {
    if disqualified {
        return false;
    }
    let Some(lowest) = lowest_pending(settings, held, stages_met) else { return false };
    fit + engagement.value_at(now) >= lowest || engagement.all_terms().any(|t| t.value < 0.0)
}

/// The lowest score that would give a contact holding `held` something new: a tag it
/// lacks, or a stage above its own whose condition holds (bits of `stages_met`).
fn lowest_pending(settings: &Settings, held: Held<'_>, stages_met: u64) -> Option<f64> {
    let stage = next_stage_minimum(&settings.stages, held.stage, stages_met);
    lowest_unheld(settings, held.tags).into_iter().chain(stage).reduce(f64::min)
}

/// The tags of `settings` that a contact holding `held` lacks, with their thresholds,
/// in the profile's order.
fn unheld<'a>(settings: &'a Settings, held: &'a [String]) -> impl Iterator<Item = (&'a str, f64)> {
    settings.tags().filter(|(tag, _)| !held.iter().any(|h| h == tag))
}

/// The tags a contact holding `held` would get at `score` (if not disqualified): those
/// it lacks whose threshold the score reaches, in the profile's order.
pub fn tags_reached<'a>(
    settings: &'a Settings,
    held: &'a [String],
    score: f64,
) -> impl Iterator<Item = (&'a str, f64)> {
    unheld(settings, held).filter(move |(_, threshold)| score >= *threshold)
}

fn lowest_unheld(settings: &Settings, held: &[String]) -> Option<f64> {
    unheld(settings, held).map(|(_, threshold)| threshold).reduce(f64::min)
}

/// The first instant after `now` at which decay alone carries a contact that is below
/// every threshold it lacks (and every stage minimum above its stage whose condition
/// holds, see `stages_met`) up to the lowest of them; `None` when that never happens.
///
/// Only negative points fade upwards, so without them the score never rises by itself.
/// The score is sampled over 40 of the longest half-lives (after which every decaying
/// term has shrunk by 2^-40) and the first crossing is narrowed down to a second; the
/// instant returned is at or just after the crossing, never before it.
pub fn next_crossing(
    settings: &Settings,
    held: Held<'_>,
    stages_met: u64,
    fit: f64,
    engagement: &DecayedSum,
    now: Micros,
) -> Option<Micros> {
    const SAMPLES: i64 = 4096;
    const SECOND: i64 = 1_000_000;
    let threshold = lowest_pending(settings, held, stages_met)?;
    let score = |at: Micros| fit + engagement.value_at(at);
    if score(now) >= threshold || !engagement.all_terms().any(|t| t.value < 0.0) {
        return None;
    }
    let longest = engagement.all_terms().filter_map(|t| t.half_life).fold(0.0, f64::max);
    let horizon = (40.0 * longest * 1e6).min(i64::MAX as f64 / 4.0) as i64;
    let step = (horizon / SAMPLES).max(SECOND);
    let mut below = now;
    let mut above = None;
    for n in 1..=SAMPLES {
        let at = now.saturating_add(step.saturating_mul(n));
        if score(at) >= threshold {
            above = Some(at);
            break;
        }
        below = at;
    }
    let mut above = above?;
    while above - below > SECOND {
        let middle = below + (above - below) / 2;
        if score(middle) >= threshold {
            above = middle;
        } else {
            below = middle;
        }
    }
    Some(above)
}

/// How a profile shows scores on the 1–100 and star scales.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreScale {
    pub curve: Curve,
    /// Saturating: the score shown as 50. Linear: the score shown as 100.
    pub scale: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Curve {
    /// `100·(1 − 2^(−score/scale))`: every `scale` points close half the remaining gap.
    Saturating,
    /// `100·score/scale`, capped at 100.
    Linear,
}

impl Curve {
    pub fn name(self) -> &'static str {
        match self {
            Curve::Saturating => "saturating",
            Curve::Linear => "linear",
        }
    }

    pub fn parse(name: &str) -> Option<Curve> {
        match name {
            "saturating" => Some(Curve::Saturating),
            "linear" => Some(Curve::Linear),
            _ => None,
        }
    }
}

impl ScoreScale {
    /// 1 to 100, rounded up, so that any positive score shows at least 1; scores at or
    /// below zero (and NaN) show 1.
    pub fn score_100(self, score: f64) -> i32 {
        if score.is_nan() || score <= 0.0 {
            return 1;
        }
        let fraction = match self.curve {
            Curve::Saturating => 1.0 - (-score / self.scale).exp2(),
            Curve::Linear => score / self.scale,
        };
        (100.0 * fraction).ceil().clamp(1.0, 100.0) as i32
    }

    /// 0 stars at or below zero, else one star per started 20 of `score_100`.
    pub fn stars(self, score: f64) -> i16 {
        if score.is_nan() || score <= 0.0 {
            return 0;
        }
        ((self.score_100(score) + 19) / 20) as i16
    }
}
