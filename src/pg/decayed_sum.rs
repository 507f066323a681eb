//! `lead_score.decayed`, the `lead_score.decayed_sum(points, at, half_life)` aggregate,
//! `lead_score.value_at(decayed, at)` and `decayed + decayed`: decayed sums as a value
//! users can store, evaluate at any later time and add up.

use pgrx::prelude::*;

#[pg_schema]
pub(crate) mod lead_score {
    use pgrx::aggregate::{Aggregate, ParallelOption};
    use pgrx::datum::Interval;
    use pgrx::prelude::*;
    use pgrx::InOutFuncs;
    use pgrx::PgSqlErrorCode::{
        ERRCODE_INVALID_PARAMETER_VALUE, ERRCODE_INVALID_TEXT_REPRESENTATION,
    };
    use serde::{Deserialize, Serialize};

    use crate::pg::clock::to_unix_micros;
    use crate::pg::decay_functions::interval_seconds;
    use crate::pg::errors::raise;
    use crate::scoring::decay::{DecayedSum, HalfLife};

    /// A decayed sum: one term per half-life, each with its worth at its anchor time.
    /// Its text form is JSON (`{"terms": [...]}`); read it with `value_at()`.
    #[derive(Clone, Default, PostgresType, Serialize, Deserialize, AggregateName)]
    #[aggregate_name = "decayed_sum"]
    #[serde(transparent)]
    #[inoutfuncs]
    pub struct Decayed(pub(crate) DecayedSum);

    impl InOutFuncs for Decayed {
        fn input(input: &core::ffi::CStr) -> Self {
            let parsed =
                input.to_str().ok().and_then(|text| serde_json::from_str::<DecayedSum>(text).ok());
            parsed.map(Decayed).unwrap_or_else(|| {
                raise(
                    ERRCODE_INVALID_TEXT_REPRESENTATION,
                    format!(
                        "invalid input syntax for type lead_score.decayed: \"{}\"; expected {{\"terms\": [...]}}",
                        input.to_string_lossy()
                    ),
                )
            })
        }

        fn output(&self, buffer: &mut pgrx::StringInfo) {
            buffer.push_str(&serde_json::to_string(&self.0).unwrap_or_default());
        }
    }

    #[pg_aggregate]
    impl Aggregate<Decayed> for Decayed {
        type Args = (
            pgrx::name!(points, Option<f64>),
            pgrx::name!(at, Option<TimestampWithTimeZone>),
            pgrx::name!(half_life, Option<Interval>),
        );
        const INITIAL_CONDITION: Option<&'static str> = Some(r#"{"terms": []}"#);
        const PARALLEL: Option<ParallelOption> = Some(ParallelOption::Safe);

        /// Rows with a NULL `points` or `at` are skipped, as `sum()` skips NULLs; a NULL
        /// `half_life` means points that never decay.
        fn state(
            mut current: Self::State,
            (points, at, half_life): Self::Args,
            _fcinfo: pg_sys::FunctionCallInfo,
        ) -> Self::State {
            let (Some(points), Some(at)) = (points, at) else {
                return current;
            };
            let half_life = half_life.map(|h| {
                HalfLife::from_seconds(interval_seconds(&h)).unwrap_or_else(|e| {
                    raise(ERRCODE_INVALID_PARAMETER_VALUE, format!("lead_score.decayed_sum: {e}"))
                })
            });
            current.0.add(points, to_unix_micros(at), half_life);
            current
        }

        fn combine(
            mut first: Self::State,
            second: Self::State,
            _fcinfo: pg_sys::FunctionCallInfo,
        ) -> Self::State {
            first.0.merge(&second.0);
            first
        }
    }

    /// The sum's worth at `at`: exact at or after the latest point's time.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn value_at(sum: Decayed, at: TimestampWithTimeZone) -> f64 {
        sum.0.value_at(to_unix_micros(at))
    }

    /// `a + b`: both sums together.
    #[pg_operator(immutable, parallel_safe)]
    #[opname(+)]
    fn decayed_add(mut a: Decayed, b: Decayed) -> Decayed {
        a.0.merge(&b.0);
        a
    }
}
