//! The shared machinery: the attached profile (catalog row, compiled version, prepared
//! statements, locks), whose rights a statement runs with, reading SPI rows and binding
//! parameters, reading a table by oid, the clock, the decayed type's stored layout,
//! the memory a pass holds, and the one error map.

pub(crate) mod attached;
pub(crate) mod attachment;
pub(crate) mod catalog;
pub(crate) mod clock;
pub(crate) mod decayed;
pub(crate) mod errors;
pub(crate) mod jsonb;
pub(crate) mod locks;
pub(crate) mod memory;
pub(crate) mod params;
pub(crate) mod queries;
pub(crate) mod rights;
pub(crate) mod schema_guard;
pub(crate) mod spi_rows;
pub(crate) mod state_table;
pub(crate) mod table_scan;
