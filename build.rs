//! Assembles the update scripts: `sql/upgrade/pg_lead_score--A--B.sql` holds what an
//! update changes by hand (ALTERs, data migrations, objects made from Rust); a line
//!
//! ```sql
//! -- @definitions sql/attach.sql: attach_for_caller, attach
//! ```
//!
//! becomes the current definitions of those functions and views, taken from the file
//! the install script uses, as `CREATE OR REPLACE` statements. The result is written to
//! `sql/pg_lead_score--A--B.sql`, where `cargo pgrx install` and `package` pick update
//! scripts up (not kept in git). So an update re-creates what it replaces from the one
//! definition, never from a pasted copy.

use std::fs;
use std::path::{Path, PathBuf};

const DIRECTIVE: &str = "-- @definitions ";

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let sql = root.join("sql");
    let upgrades = sql.join("upgrade");
    println!("cargo:rerun-if-changed={}", upgrades.display());
    for entry in fs::read_dir(&sql).expect("sql/ is readable").flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.ends_with(".sql") && !name.starts_with("pg_lead_score--") {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let mut scripts: Vec<PathBuf> = fs::read_dir(&upgrades)
        .expect("sql/upgrade/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    scripts.sort();
    for script in scripts {
        let name = script.file_name().expect("a file name").to_string_lossy().into_owned();
        let text = fs::read_to_string(&script).expect("a readable update script");
        let assembled = assemble(&root, &name, &text);
        let target = sql.join(&name);
        // Written only when it changed, so a build does not make the next one run again.
        if fs::read_to_string(&target).ok().as_deref() != Some(assembled.as_str()) {
            fs::write(&target, assembled).expect("sql/ is writable");
        }
    }
}

fn assemble(root: &Path, name: &str, text: &str) -> String {
    let mut out = String::new();
    let mut directives = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(DIRECTIVE) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        directives += 1;
        let (file, objects) = rest.split_once(':').unwrap_or_else(|| {
            panic!("{name}: `{line}` names no file (`-- @definitions FILE: a, b`)")
        });
        let source = fs::read_to_string(root.join(file.trim()))
            .unwrap_or_else(|e| panic!("{name}: reading {}: {e}", file.trim()));
        for object in objects.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let found = definitions(&source, object);
            assert!(
                !found.is_empty(),
                "{name}: {} defines no function or view {object}",
                file.trim()
            );
            for statement in found {
                out.push_str(&statement);
                out.push_str("\n\n");
            }
        }
    }
    if directives == 0 {
        return text.to_owned();
    }
    format!(
        "-- Assembled by build.rs from sql/upgrade/{name}:\n\
         -- edit that file (and the files it takes definitions from), not this one.\n{out}"
    )
}

/// Every statement of `source` creating function (each overload) or view
/// `lead_score.<object>`, as `CREATE OR REPLACE`.
fn definitions(source: &str, object: &str) -> Vec<String> {
    let heads = [
        (format!("CREATE FUNCTION lead_score.{object}("), "CREATE OR REPLACE FUNCTION"),
        (format!("CREATE VIEW lead_score.{object} "), "CREATE OR REPLACE VIEW"),
        (format!("CREATE VIEW lead_score.{object}\n"), "CREATE OR REPLACE VIEW"),
    ];
    let mut found = Vec::new();
    let mut at = 0;
    while at < source.len() {
        let next = heads
            .iter()
            .filter_map(|(head, replaced)| {
                source[at..].find(head.as_str()).map(|i| (at + i, head, *replaced))
            })
            .filter(|(i, _, _)| *i == 0 || source.as_bytes()[i - 1] == b'\n')
            .min_by_key(|(i, _, _)| *i);
        let Some((start, head, replaced)) = next else { break };
        let end = statement_end(source, start);
        let keyword_length = head.find(" lead_score.").expect("a head names lead_score");
        found.push(format!("{replaced}{}", &source[start + keyword_length..end]));
        at = end;
    }
    found
}

/// Where the statement starting at `start` ends (just after its `;`): outside quotes,
/// dollar quotes and comments.
fn statement_end(source: &str, start: usize) -> usize {
    let bytes = source.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b';' => return i + 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = source[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'\'' => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    i += 1;
                }
            }
            b'$' => {
                let tag_end = source[i + 1..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .map(|n| i + 1 + n);
                if let Some(tag_end) = tag_end.filter(|&e| bytes[e] == b'$') {
                    let tag = &source[i..=tag_end];
                    let close = source[tag_end + 1..]
                        .find(tag)
                        .unwrap_or_else(|| panic!("unclosed {tag} quote"));
                    i = tag_end + 1 + close + tag.len() - 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("a statement without its ';'");
}
