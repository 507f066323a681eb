//! How the core's long loops can be stopped without knowing Postgres: they take a
//! callback, [`Between`], and call it between steps (each event, each candidate, each
//! iteration). The glue passes one that raises a pending cancel or statement_timeout
//! (`check_for_interrupts!()` in a closure), which unwinds out of the loop; tests pass one
//! that counts, or panics to stand for a cancel. Its cost is a call and a flag test per
//! step, so it may be called per event.

/// A callback a long loop calls between steps; it stops the loop by not returning (the
/// glue's raises a Postgres error, which unwinds).
pub type Between<'a> = &'a mut dyn FnMut();
