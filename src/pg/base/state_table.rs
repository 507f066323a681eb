//! A profile's state table (`lead_score.state_<id>`): its columns, in order, with their
//! types, owned here. `attach()` (sql/attach.sql) creates the table with these
//! definitions, spelled the same way (a test compares them); the score reads and
//! writes take their column lists from here.

/// One column of the state table.
pub(crate) struct Column {
    pub(crate) name: &'static str,
    /// Its type and constraints as attach's `CREATE TABLE` spells them (`%2$s`: the
    /// contacts' key type). (Read by the test that compares it with attach.)
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) definition: &'static str,
    /// Whether a score write sets it (the upsert of `write_batch`); the rest belong to
    /// the qualification's writer (the sticky tags' copy and the PQL time).
    pub(crate) written: bool,
    /// Whether a full pass reads it back (see `StoredRow`), in this order.
    pub(crate) stored: bool,
    /// Whether a score write compares it with the result (`compared`): the written
    /// columns it reads back. (The stage is read back to settle, never rewritten.)
    pub(crate) compared: bool,
}

const fn column(
    name: &'static str,
    definition: &'static str,
    written: bool,
    stored: bool,
) -> Column {
    Column { name, definition, written, stored, compared: written && stored }
}

/// The state table's columns, in order.
pub(crate) const COLUMNS: [Column; 16] = [
    column("contact_key", "%2$s PRIMARY KEY", true, false),
    column("version", "integer NOT NULL", true, false),
    column("fit", "float8 NOT NULL", true, true),
    column("engagement", "lead_score.decayed NOT NULL", true, true),
    column("dimensions", "jsonb NOT NULL", true, true),
    column("disqualified_by", "text[] NOT NULL", true, true),
    column("next_due", "timestamptz", true, true),
    column("tally", "bigint[] NOT NULL", true, true),
    column("limits", "bigint[]", true, true),
    column("scored_at", "timestamptz NOT NULL", true, false),
    column("tags", "text[] NOT NULL DEFAULT '{}'", false, false),
    column("pql_at", "timestamptz", false, false),
    column("stage", "text", false, true),
    column("stage_entered_at", "timestamptz", false, false),
    column("stage_base", "lead_score.decayed", false, false),
    // Which stages' conditions held when the contact was last computed in full (bit i:
    // stage i; NULL: unknown), so that adding events sends it to the full path only
    // when its score reaches a stage it can enter.
    column("stages_met", "bigint", true, true),
];

/// The columns a state table made before 0.3.0 lacks until the update adds them.
const STAGE_COLUMNS: [&str; 4] = ["stage", "stage_entered_at", "stage_base", "stages_met"];

/// Whether a table with (`stages`) or without the stage's columns has `name`.
fn present(name: &str, stages: bool) -> bool {
    stages || !STAGE_COLUMNS.contains(&name)
}

/// How many columns a full pass reads back (`stored_columns`).
pub(crate) const STORED_COLUMN_COUNT: i32 = {
    let (mut count, mut i) = (0, 0);
    while i < COLUMNS.len() {
        count += COLUMNS[i].stored as i32;
        i += 1;
    }
    count
};

/// How many columns a score write sets (`written`).
pub(crate) const WRITTEN_COUNT: usize = {
    let (mut count, mut i) = (0, 0);
    while i < COLUMNS.len() {
        count += COLUMNS[i].written as usize;
        i += 1;
    }
    count
};

/// The columns a full pass reads back, in order.
pub(crate) fn stored() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().filter(|c| c.stored).map(|c| c.name)
}

/// The columns a score write sets, in order (`stages`: whether the table has the
/// stage's columns).
pub(crate) fn written(stages: bool) -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().filter(move |c| c.written && present(c.name, stages)).map(|c| c.name)
}

/// Whether every name in `names` is a column a score write sets: a writer that sets
/// some of them asserts it of its list at compile time.
pub(crate) const fn all_written(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if !is_written(names[i]) {
            return false;
        }
        i += 1;
    }
    true
}

const fn is_written(name: &str) -> bool {
    let mut i = 0;
    while i < COLUMNS.len() {
        if COLUMNS[i].written && same(COLUMNS[i].name.as_bytes(), name.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

/// `a == b`, in a const fn.
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The state row columns read beside every contact in a full pass, and by the locking
/// read of the full path (see `StoredRow`), of the row aliased `s`, each after a comma.
/// (Dimensions NULL when empty, the usual case: nothing to parse.)
/// (`stages`: whether the table has the stage's columns; NULL in their place if not.)
pub(crate) fn stored_columns(stages: bool) -> String {
    stored()
        .map(|name| match name {
            "dimensions" => ", nullif(s.dimensions, '{}')".to_owned(),
            "stage" if !stages => ", NULL::text".to_owned(),
            "stages_met" if !stages => ", NULL::bigint".to_owned(),
            _ => format!(", s.{name}"),
        })
        .collect()
}

/// The stage column of the row aliased `alias`, or NULL for a state table without one
/// (made before 0.3.0, not updated yet).
pub(crate) fn stage_column(alias: &str, stages: bool) -> String {
    if stages {
        format!("{alias}.stage")
    } else {
        "NULL::text".to_owned()
    }
}

/// The stored columns of the row aliased `alias`, as a score write compares them (the
/// engagement by its text: the type has no equality).
pub(crate) fn compared(alias: &str, stages: bool) -> String {
    let each: Vec<String> = COLUMNS
        .iter()
        .filter(|c| c.compared && present(c.name, stages))
        .map(|c| match c.name {
            "engagement" => format!("{alias}.engagement::text"),
            name => format!("{alias}.{name}"),
        })
        .collect();
    each.join(", ")
}

#[cfg(test)]
mod architecture_tests {
    use super::COLUMNS;

    /// attach() creates the state table with exactly `COLUMNS`, in order, each spelled
    /// as here: the SQL and the Rust that reads and writes the table cannot drift.
    #[test]
    fn attach_creates_the_state_table_with_its_columns() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql/attach.sql");
        let text = std::fs::read_to_string(&path).expect("sql/attach.sql is readable");
        let body = text
            .split("CREATE TABLE lead_score.%1$I (")
            .nth(1)
            .and_then(|rest| rest.split(") WITH (fillfactor = 70)$ddl$").next())
            .expect("attach's CREATE TABLE of the state table");
        let found: Vec<(String, String)> = body
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("--"))
            .map(|line| {
                let line = line.strip_suffix(',').unwrap_or(line);
                let (name, definition) = line.split_once(char::is_whitespace).expect("a column");
                (name.to_owned(), definition.trim().to_owned())
            })
            .collect();
        let expected: Vec<(String, String)> =
            COLUMNS.iter().map(|c| (c.name.to_owned(), c.definition.to_owned())).collect();
        assert_eq!(found, expected, "the state table in sql/attach.sql and state_table::COLUMNS");
    }
}
