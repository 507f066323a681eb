//! pg_lead_score: scores a CRM's leads and contacts inside its own database.
//!
//! * `lead_score_core` (crates/lead_score_core) — the pure core (rule model, evaluation,
//!   decay math, qualification, learning): a crate of its own, with no pgrx dependency.
//! * `pg`      — the Postgres glue: SQL functions, triggers, SPI, catalog.
//! * `sql/`    — hand-written SQL, included into the install script from here.

::pgrx::pg_module_magic!(name, version);

pub mod pg;

/// Runs when a backend first loads the library. It registers the settings and the
/// invalidation callback of the per-backend profile cache: no memory, hooks or
/// workers, so loading costs nothing and cannot fail.
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pg::clock::register_settings();
    pg::plan_cache::register_invalidation_callback();
}

// Hand-written SQL, in install order. pgrx places the Rust functions they call first.
::pgrx::extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
::pgrx::extension_sql_file!("../sql/catalog.sql", name = "catalog", requires = ["bootstrap"]);
::pgrx::extension_sql_file!(
    "../sql/profiles.sql",
    name = "profiles",
    requires = [
        "catalog",
        pg::rule_functions::rule_problem,
        pg::rule_functions::settings_problem,
        pg::identity::acting_role,
        pg::identity::in_restricted_operation
    ]
);
::pgrx::extension_sql_file!("../sql/templates.sql", name = "templates", requires = ["bootstrap"]);
::pgrx::extension_sql_file!(
    "../sql/attach.sql",
    name = "attach",
    requires = [
        "profiles",
        pg::readers::lead_score::rule_fields,
        pg::readers::lead_score::dimension_scores,
        pg::maintenance::lead_score::rescore,
        pg::maintenance::lead_score::rescore_for,
        pg::decayed_sum::lead_score::value_at,
        pg::qualification_functions::lead_score::score_100,
        pg::qualification_functions::lead_score::stars,
        pg::qualification_functions::lead_score::likelihood
    ]
);
::pgrx::extension_sql_file!(
    "../sql/qualification.sql",
    name = "qualification",
    requires =
        ["attach", pg::qualify::lead_score::mirror_tags, pg::qualify::lead_score::stored_key]
);
::pgrx::extension_sql_file!(
    "../sql/adjustments.sql",
    name = "adjustments",
    requires = [
        "qualification",
        pg::adjustments::lead_score::adjust,
        pg::decay_functions::decay,
        pg::clock::clock_now
    ]
);
::pgrx::extension_sql_file!(
    "../sql/schema_guard.sql",
    name = "schema_guard",
    requires = [
        "adjustments",
        pg::readers::lead_score::rule_fields,
        pg::schema_guard::lead_score::schema_guard_push,
        pg::schema_guard::lead_score::schema_guard_pop,
        pg::schema_guard::lead_score::in_own_script
    ]
);
::pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

/// The shape of the crate, checked.
#[cfg(test)]
mod architecture_tests {
    /// The scoring core is a crate with no pgrx: the compiler enforces it, once its
    /// manifest names no Postgres dependency.
    #[test]
    fn the_scoring_core_depends_on_no_postgres() {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/lead_score_core/Cargo.toml");
        let text = std::fs::read_to_string(&manifest).expect("the core's manifest is readable");
        let dependencies = text.split("[dependencies]").nth(1).expect("a [dependencies] table");
        for forbidden in ["pgrx", "pg_sys", "pg_lead_score"] {
            assert!(
                !dependencies.lines().any(|l| l.trim_start().starts_with(forbidden)),
                "{} depends on {forbidden}",
                manifest.display()
            );
        }
    }

    /// The glue's modules import one another without a cycle: each can be read knowing
    /// only the ones below it.
    #[test]
    fn the_glue_modules_import_no_cycle() {
        use std::collections::{BTreeMap, BTreeSet};
        let glue = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pg");
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for entry in std::fs::read_dir(&glue).expect("src/pg is readable") {
            let path = entry.expect("a directory entry").path();
            let module = path.file_stem().expect("a file name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            let used = text
                .split("crate::pg::")
                .skip(1)
                .map(|rest| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
                .filter(|name: &String| *name != module)
                .collect();
            imports.insert(module, used);
        }
        assert!(imports.len() >= 20, "only {} modules under {}", imports.len(), glue.display());
        // Depth-first search from every module; a module met again on the way is a cycle.
        fn visit(
            module: &str,
            imports: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if let Some(at) = path.iter().position(|m| m == module) {
                panic!("import cycle: {} -> {module}", path[at..].join(" -> "));
            }
            if !done.insert(module.to_owned()) {
                return;
            }
            path.push(module.to_owned());
            for next in imports.get(module).into_iter().flatten() {
                visit(next, imports, path, done);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        for module in imports.keys() {
            visit(module, &imports, &mut Vec::new(), &mut done);
        }
    }
}

/// Required by `cargo pgrx test`; must sit at the crate root.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
