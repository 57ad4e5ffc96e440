//! The code keeps the shape `docs/ARCHITECTURE.md` draws: each top module of `src/` sits in a layer and imports
//! only from its own layer or lower ones, and no function or file grows past its size without saying why.
//!
//! Read from the source files, so a change that breaks the shape fails `cargo test`, not a review. Test modules
//! (`#[cfg(test)] mod tests { … }`, always last in a file) may reach up a layer for their fixtures and are skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, top to bottom: a module imports only from its own layer or from those below it.
const LAYERS: [(&str, &[&str]); 4] = [
    ("http", &["http", "properties"]),
    (
        "resources",
        &[
            "device_images",
            "source_images",
            "gallery_images",
            "provisioning_policies",
            "identity",
            "control",
        ],
    ),
    ("protocol kit", &["graph", "error"]),
    (
        "infrastructure",
        &[
            "db",
            "config",
            "clock",
            "telemetry",
            "tls",
            "files",
            "healthcheck",
            "client",
            "replay",
        ],
    ),
];

/// Longest function and file (in lines) that needs no comment saying why.
const MAX_FUNCTION_LINES: usize = 60;
const MAX_FILE_LINES: usize = 500;
/// The words a doc comment uses to say why its function or file is longer.
const WHY_LONG: &str = "long because";

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// `src/http/protocol.rs` → `http`; `src/error.rs` → `error`; `lib.rs` and `main.rs` are above every layer.
fn module_of(path: &Path) -> Option<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let relative = path.strip_prefix(&src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(module, "lib" | "main")).then(|| module.to_owned())
}

/// The file's code lines before its test module, comments stripped.
fn code_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut previous = "";
    for line in text.lines() {
        let trimmed = line.trim_start();
        if previous == "#[cfg(test)]" && trimmed.starts_with("mod tests") {
            lines.pop();
            break;
        }
        previous = trimmed;
        let code = line.split("//").next().unwrap_or_default();
        lines.push(code);
    }
    lines
}

/// Every top module a file names as `crate::module`, including in `use crate::{a::…, b}` groups.
fn imported_modules(text: &str) -> BTreeSet<String> {
    let code = code_lines(text).join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level names of the group: `{a::{x, y}, b}` names a and b.
            let mut depth = 0;
            let mut name = String::new();
            let mut expecting_name = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expecting_name = true,
                    c if expecting_name && (c.is_alphanumeric() || c == '_') => name.push(c),
                    _ if !name.is_empty() => {
                        found.insert(std::mem::take(&mut name));
                        expecting_name = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                found.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let mut violations = Vec::new();
    let mut unplaced = BTreeSet::new();
    for path in sources() {
        let Some(module) = module_of(&path) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            unplaced.insert(module);
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        for imported in imported_modules(&text) {
            match layer_of(&imported) {
                Some(layer) if layer < own => violations.push(format!(
                    "{} ({}) imports crate::{imported} ({})",
                    path.display(),
                    LAYERS[own].0,
                    LAYERS[layer].0
                )),
                Some(_) => {}
                None => {
                    unplaced.insert(imported);
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS and docs/ARCHITECTURE.md): {unplaced:?}"
    );
    assert!(
        violations.is_empty(),
        "imports that point up a layer:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_layering_check_sees_grouped_and_inline_imports() {
    let text =
        "use crate::graph::{body, enums};\nuse crate::{db::Database, http::{AppState, x}};\n\
                fn f() { crate::clock::now(); } // crate::tls in a comment\n\
                #[cfg(test)]\nmod tests { use crate::http::AppState; }\n";
    let found: Vec<String> = imported_modules(text).into_iter().collect();
    assert_eq!(found, ["clock", "db", "graph", "http"]);
    assert_eq!(layer_of("http"), Some(0));
    assert_eq!(layer_of("db"), Some(3));
}

/// Functions of a file longer than the limit whose doc comment does not say why: `(first line, length, name)`.
fn long_functions(text: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut long = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(at) = trimmed.find("fn ") else {
            continue;
        };
        let head = &trimmed[..at];
        let is_fn = head.split_whitespace().all(|w| {
            matches!(
                w,
                "pub" | "pub(crate)" | "pub(super)" | "async" | "const" | "unsafe"
            )
        });
        if !is_fn || trimmed.ends_with(';') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let close = format!("{}}}", " ".repeat(indent));
        let Some(end) = lines[i..].iter().position(|l| *l == close) else {
            continue;
        };
        let length = end + 1;
        let documented = lines[..i]
            .iter()
            .rev()
            .take_while(|l| {
                let t = l.trim_start();
                t.starts_with("///") || t.starts_with("#[") || t.starts_with("//")
            })
            .any(|l| l.contains(WHY_LONG));
        if length > MAX_FUNCTION_LINES && !documented {
            let name = trimmed[at + 3..]
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
                .to_owned();
            long.push((i + 1, length, name));
        }
    }
    long
}

#[test]
fn no_function_or_file_is_long_without_saying_why() {
    let mut found = Vec::new();
    for path in sources() {
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        let lines = text.lines().count();
        let header_says_why = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .any(|l| l.contains(WHY_LONG));
        if lines > MAX_FILE_LINES && !header_says_why {
            found.push(format!("{}: {lines} lines", path.display()));
        }
        for (line, length, name) in long_functions(&text) {
            found.push(format!(
                "{}:{line}: fn {name}, {length} lines",
                path.display()
            ));
        }
    }
    assert!(
        found.is_empty(),
        "over {MAX_FUNCTION_LINES} lines a function, {MAX_FILE_LINES} a file, with no comment that says why it is \
         {WHY_LONG}:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_length_check_measures_functions_and_reads_their_comments() {
    let body = "    x();\n".repeat(MAX_FUNCTION_LINES);
    let text = format!(
        "fn short() {{\n}}\n\npub async fn long() {{\n{body}}}\n\n/// This one is long because it is a table.\nfn tabled() {{\n{body}}}\n"
    );
    let found = long_functions(&text);
    assert_eq!(found, [(4, MAX_FUNCTION_LINES + 2, "long".to_owned())]);
}
