//! Decay (reference: "decay", "decayed_sum"): `lead_score.decay(points, age,
//! half_life)`, and `lead_score.decayed`, the `lead_score.decayed_sum(points, at,
//! half_life)` aggregate, `lead_score.value_at(decayed, at)` and `decayed + decayed`:
//! decayed sums as a value users can store, evaluate at any later time and add up. (The
//! type's stored layout, which the score rows share, is `base::decayed`'s.)

use pgrx::prelude::*;

#[pg_schema]
pub(crate) mod lead_score {
    use pgrx::aggregate::{Aggregate, ParallelOption};
    use pgrx::datum::Interval;
    use pgrx::prelude::*;
    use pgrx::InOutFuncs;

    use crate::pg::base::errors::{raise, Failure};
    use serde::{Deserialize, Serialize};

    use crate::pg::base::clock::interval_seconds;
    use crate::pg::base::clock::to_unix_micros;
    use crate::pg::base::decayed::{read_stored, stored};
    use lead_score_core::decay::{DecayedSum, HalfLife};

    /// A decayed sum: one term per half-life, each with its worth at its anchor time.
    /// Its text form is JSON (`{"terms": [...]}`); read it with `value_at()`. Stored in
    /// `DecayedSum::to_bytes`' fixed layout rather than pgrx's default (CBOR, with field
    /// names): a score row is smaller, and reading one parses nothing.
    #[derive(Clone, Default, PostgresType, Serialize, Deserialize, AggregateName)]
    #[aggregate_name = "decayed_sum"]
    #[serde(transparent)]
    #[inoutfuncs]
    #[bikeshed_postgres_type_manually_impl_from_into_datum]
    pub struct Decayed(pub(crate) DecayedSum);

    impl pgrx::datum::IntoDatum for Decayed {
        fn into_datum(self) -> Option<pg_sys::Datum> {
            Some(stored(&self.0))
        }

        fn type_oid() -> pg_sys::Oid {
            pgrx::wrappers::rust_regtypein::<Self>()
        }
    }

    unsafe impl pgrx::callconv::BoxRet for Decayed {
        unsafe fn box_into<'fcx>(
            self,
            fcinfo: &mut pgrx::callconv::FcInfo<'fcx>,
        ) -> pgrx::datum::Datum<'fcx> {
            match pgrx::datum::IntoDatum::into_datum(self) {
                None => fcinfo.return_null(),
                Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            }
        }
    }

    impl pgrx::datum::FromDatum for Decayed {
        unsafe fn from_polymorphic_datum(
            datum: pg_sys::Datum,
            is_null: bool,
            _typoid: pg_sys::Oid,
        ) -> Option<Self> {
            if is_null {
                return None;
            }
            Some(Decayed(read_stored(datum)))
        }

        unsafe fn from_datum_in_memory_context(
            _memory_context: pgrx::memcxt::PgMemoryContexts,
            datum: pg_sys::Datum,
            is_null: bool,
            typoid: pg_sys::Oid,
        ) -> Option<Self> {
            // The value is parsed into Rust memory: nothing is left in any context.
            Self::from_polymorphic_datum(datum, is_null, typoid)
        }
    }

    unsafe impl pgrx::datum::UnboxDatum for Decayed {
        type As<'dat>
            = Self
        where
            Self: 'dat;

        unsafe fn unbox<'dat>(datum: pgrx::datum::Datum<'dat>) -> Self::As<'dat>
        where
            Self: 'dat,
        {
            let raw = core::mem::transmute::<pgrx::datum::Datum<'dat>, pg_sys::Datum>(datum);
            <Self as pgrx::datum::FromDatum>::from_datum(raw, false).unwrap_or_default()
        }
    }

    unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for Decayed {
        unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
            let index = arg.index();
            arg.unbox_arg_using_from_datum()
                .unwrap_or_else(|| panic!("argument {index} must not be null"))
        }
    }

    impl InOutFuncs for Decayed {
        fn input(input: &core::ffi::CStr) -> Self {
            let parsed =
                input.to_str().ok().and_then(|text| serde_json::from_str::<DecayedSum>(text).ok());
            let Some(parsed) = parsed else {
                raise(Failure::InvalidText(format!(
                    "invalid input syntax for type lead_score.decayed: \"{}\"; expected {{\"terms\": [...]}}",
                    input.to_string_lossy()
                )))
            };
            // Sorted and folded as the engine keeps sums, or refused: merging and
            // storing rely on it.
            parsed.checked().map(Decayed).unwrap_or_else(|problem| {
                raise(Failure::InvalidText(format!(
                    "invalid input syntax for type lead_score.decayed: {problem}"
                )))
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
                    raise(Failure::InvalidValue(format!("lead_score.decayed_sum: {e}")))
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

    /// `lead_score.decay(points, age, half_life)`: what `points` earned `age` ago are
    /// worth now when they halve every `half_life`. Ages below zero (events still in the
    /// future) are worth 0. Intervals are measured as `extract(epoch from ...)` measures
    /// them.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn decay(points: f64, age: Interval, half_life: Interval) -> f64 {
        match HalfLife::from_seconds(interval_seconds(&half_life)) {
            Ok(half_life) => half_life.decay(points, interval_seconds(&age)),
            Err(error) => raise(Failure::InvalidValue(format!("lead_score.decay: {error}"))),
        }
    }

    /// The sum's worth at `at`: exact at or after the latest point's time.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn value_at(sum: Decayed, at: TimestampWithTimeZone) -> f64 {
        sum.0.value_at(to_unix_micros(at))
    }

    /// The same worth as `sum` at every instant from `at` on, without the caps that can
    /// no longer bind (what an account keeps of each member: see `docs/accounts.md`).
    #[pg_extern(immutable, strict, parallel_safe)]
    fn settled(sum: Decayed, at: TimestampWithTimeZone) -> Decayed {
        Decayed(sum.0.settled(to_unix_micros(at)))
    }

    /// Whether `a` and `b` are worth the same, to within rounding, at `at` and at one
    /// and four of each of their half-lives after it.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn same_worth(a: Decayed, b: Decayed, at: TimestampWithTimeZone) -> bool {
        a.0.same_worth(&b.0, to_unix_micros(at), &mut || {
            pgrx::check_for_interrupts!();
        })
    }

    /// A score the row with `fit` and `engagement` cannot exceed from an hour before
    /// `at` on, on the ceilings' coarse grid: what each score row keeps as `ceiling`,
    /// the order `lead_score.top` reads them in. (The hour: a reader's transaction,
    /// whose clock is its start, may have begun before the write it reads.)
    #[pg_extern(immutable, strict, parallel_safe)]
    fn score_ceiling(fit: f64, engagement: Decayed, at: TimestampWithTimeZone) -> f64 {
        const MARGIN_MICROS: i64 = 3_600_000_000;
        let from = to_unix_micros(at).saturating_sub(MARGIN_MICROS);
        let bound = lead_score_core::decay::bounded(fit + engagement.0.ceiling_at(from));
        lead_score_core::top_list::ceiling_step(bound)
    }

    /// `a + b`: both sums together.
    #[pg_operator(immutable, parallel_safe)]
    #[opname(+)]
    fn decayed_add(mut a: Decayed, b: Decayed) -> Decayed {
        a.0.merge(&b.0);
        a
    }
}
