//! The clock (reference: "The clock"): `lead_score.now()`, the instant the extension
//! scores at (see `base::clock` for the setting that simulates it).

use pgrx::prelude::*;

use crate::pg::base::clock::now_timestamp;

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.now()`: the extension's clock as a timestamptz.
    #[pg_extern(stable, parallel_safe, name = "now")]
    fn clock_now() -> TimestampWithTimeZone {
        now_timestamp()
    }
}
