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
    pg::base::clock::register_settings();
    pg::base::attached::register_invalidation_callback();
}

// Hand-written SQL, in install order. pgrx places the Rust functions they call first.
::pgrx::extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
::pgrx::extension_sql_file!("../sql/catalog.sql", name = "catalog", requires = ["bootstrap"]);
::pgrx::extension_sql_file!(
    "../sql/profiles.sql",
    name = "profiles",
    requires = [
        "catalog",
        pg::api::profiles::lead_score::rule_problem,
        pg::api::profiles::lead_score::settings_problem,
        pg::api::rights::lead_score::acting_role,
        pg::api::rights::lead_score::in_restricted_operation
    ]
);
::pgrx::extension_sql_file!("../sql/templates.sql", name = "templates", requires = ["bootstrap"]);
::pgrx::extension_sql_file!(
    "../sql/attach.sql",
    name = "attach",
    requires = [
        "profiles",
        pg::api::profiles::lead_score::rule_fields,
        pg::api::profiles::lead_score::settings_fields,
        pg::api::live_scores::lead_score::dimension_scores,
        pg::api::live_scores::lead_score::rescore,
        pg::api::live_scores::lead_score::rescore_for,
        pg::api::decay::lead_score::value_at,
        pg::api::qualification::lead_score::score_100,
        pg::api::qualification::lead_score::stars,
        pg::api::qualification::lead_score::likelihood
    ]
);
::pgrx::extension_sql_file!(
    "../sql/attached_objects.sql",
    name = "attached_objects",
    requires = ["attach"]
);
::pgrx::extension_sql_file!(
    "../sql/qualification.sql",
    name = "qualification",
    requires = [
        "attach",
        pg::api::qualification::lead_score::mirror_tags,
        pg::api::qualification::lead_score::stored_key,
        pg::api::qualification::lead_score::check_routing
    ]
);
::pgrx::extension_sql_file!(
    "../sql/adjustments.sql",
    name = "adjustments",
    requires = [
        "qualification",
        pg::api::adjustments::lead_score::adjust,
        pg::api::decay::lead_score::decay,
        pg::api::clock::lead_score::clock_now
    ]
);
::pgrx::extension_sql_file!(
    "../sql/schema_guard.sql",
    name = "schema_guard",
    requires = [
        "adjustments",
        pg::api::profiles::lead_score::rule_fields,
        pg::api::profiles::lead_score::settings_fields,
        pg::api::schema_guard::lead_score::schema_guard_push,
        pg::api::schema_guard::lead_score::schema_guard_pop,
        pg::api::schema_guard::lead_score::in_own_script
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

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The glue's folders, lowest first: a file imports only from its own folder or
    /// one below it, and a file of `api` (an entry point) from none of `api`.
    const LAYERS: [&str; 4] = ["base", "write", "read", "api"];

    /// Every file of the glue (`src/pg`), as `folder/name` (`tests` for src/pg/tests.rs),
    /// with its text; the folders' `mod.rs`, which only list their files, are left out.
    fn glue_files() -> BTreeMap<String, String> {
        fn walk(dir: &Path, prefix: &str, found: &mut BTreeMap<String, String>) {
            for entry in std::fs::read_dir(dir).expect("a readable folder") {
                let path = entry.expect("a directory entry").path();
                let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
                if path.is_dir() {
                    walk(&path, &format!("{prefix}{name}/"), found);
                } else if path.extension().is_some_and(|e| e == "rs") && name != "mod" {
                    let text = std::fs::read_to_string(&path).expect("a readable source file");
                    found.insert(format!("{prefix}{name}"), text);
                }
            }
        }
        let mut found = BTreeMap::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pg"), "", &mut found);
        found
    }

    /// The glue modules a file imports, as `folder/name`: every `crate::pg::FOLDER::NAME`,
    /// and every `super::NAME` that names a file of its own folder.
    fn imports(module: &str, text: &str, files: &BTreeMap<String, String>) -> BTreeSet<String> {
        let ident = |rest: &str| -> String {
            rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
        };
        let mut used = BTreeSet::new();
        for rest in text.split("crate::pg::").skip(1) {
            let folder = ident(rest);
            if !LAYERS.contains(&folder.as_str()) {
                used.insert(folder);
                continue;
            }
            let name = rest[folder.len()..].strip_prefix("::").map(ident).unwrap_or_default();
            assert!(!name.is_empty(), "{module}: import the files of {folder} one by one");
            used.insert(format!("{folder}/{name}"));
        }
        if let Some((folder, _)) = module.split_once('/') {
            assert!(!text.contains("super::super::"), "{module}: name glue files by crate::pg");
            for rest in text.split("super::").skip(1) {
                let sibling = format!("{folder}/{}", ident(rest));
                if files.contains_key(&sibling) {
                    used.insert(sibling);
                }
            }
        }
        used.remove(module);
        used
    }

    /// The glue's shape: its files import one another without a cycle (each can be read
    /// knowing only the ones below it), each only from its own folder or the ones below
    /// (`LAYERS`), and no entry-point file (`api`) from another.
    #[test]
    fn the_glue_is_layered_without_cycles() {
        let files = glue_files();
        for (folder, least) in [("api", 10), ("read", 2), ("write", 8), ("base", 12)] {
            let count = files.keys().filter(|m| m.starts_with(&format!("{folder}/"))).count();
            assert!(count >= least, "only {count} files in src/pg/{folder}");
        }
        let graph: BTreeMap<String, BTreeSet<String>> = files
            .iter()
            .map(|(module, text)| (module.clone(), imports(module, text, &files)))
            .collect();
        let layer = |module: &str| {
            let folder = module.split_once('/').map_or(module, |(folder, _)| folder);
            LAYERS.iter().position(|l| *l == folder)
        };
        for (module, used) in &graph {
            // (src/pg/tests.rs, the #[pg_test]s, may use any of them.)
            let Some(at) = layer(module) else { continue };
            for import in used {
                let below = layer(import).unwrap_or_else(|| panic!("{module} uses {import}"));
                assert!(
                    below < at || (below == at && LAYERS[at] != "api"),
                    "{module} imports {import}: {}",
                    if below == at {
                        "an entry-point file imports another (move what they share down)"
                    } else {
                        "a file imports from a folder above its own"
                    }
                );
            }
        }
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
        for module in graph.keys() {
            visit(module, &graph, &mut Vec::new(), &mut done);
        }
    }

    /// Every SQL entry point sits in `api`, in the one schema style: `#[pg_schema] mod
    /// lead_score`, never `schema = "lead_score"`.
    #[test]
    fn entry_points_are_in_api_in_one_style() {
        let files = glue_files();
        let marks =
            ["#[pg_extern", "#[pg_trigger", "#[pg_aggregate", "#[pg_operator", "PostgresType"];
        let mut entries = 0;
        for (module, text) in &files {
            assert!(!text.contains("schema = \"lead_score\""), "{module}: schema = \"lead_score\"");
            let found = marks.iter().map(|mark| text.matches(mark).count()).sum::<usize>();
            if module.starts_with("api/") {
                entries += found;
            } else if module != "tests" {
                assert_eq!(found, 0, "{module} declares an SQL entry point outside src/pg/api");
            }
        }
        assert!(entries >= 40, "only {entries} entry points in src/pg/api");
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
