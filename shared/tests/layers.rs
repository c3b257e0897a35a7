//! The module graph of `shared`, held to its two descriptions: the layer chart in `src/lib.rs`
//! (every import points to a lower row) and the dependency list in `docs/architecture.md` (each
//! module's imports, exactly). Imports are read from the source as `crate::<module>` paths and
//! `use crate::{…}` groups, test code left out, as `../shared/tools/module_graph.py` reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "tests") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") && path.file_name().is_some_and(|n| n != "tests.rs") {
            out.push(path);
        }
    }
}

/// `crate::<name>` → `<name>`, for every lowercase identifier after `crate::` in `text`.
fn crate_paths(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("crate::").filter_map(|(at, _)| {
        let rest = &text[at + "crate::".len()..];
        let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

fn graph() -> Graph {
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let imports = graph.entry(module.clone()).or_default();
        for target in crate_paths(code) {
            imports.insert(target.to_owned());
        }
        for group in code.split("use crate::{").skip(1) {
            let group = group.split('}').next().unwrap_or_default();
            for item in group.split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !name.is_empty() && name != "self" {
                    imports.insert(name);
                }
            }
        }
        imports.remove(&module);
    }
    graph
}

/// The rows of the chart in `src/lib.rs`, top first: the module names of each.
fn chart() -> Vec<Vec<String>> {
    let lib = std::fs::read_to_string(Path::new(ROOT).join("src/lib.rs")).unwrap();
    let block = lib.split("//! ```text").nth(1).expect("the chart in lib.rs").split("//! ```").next().unwrap();
    block
        .lines()
        .filter_map(|line| line.trim().strip_prefix("//!"))
        .map(|row| row.trim_start().split("  ").next().unwrap_or_default().trim())
        .filter(|names| !names.is_empty() && !names.starts_with("functions/"))
        .map(|names| names.split(',').map(|n| n.trim().to_owned()).collect())
        .collect()
}

/// `docs/architecture.md`'s dependency list: module → what it imports (comments in parentheses
/// dropped; `a, b → nothing of ours` lists leaves).
fn documented() -> Graph {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("../docs/architecture.md")).unwrap();
    let block = doc.split("```text").nth(1).expect("the list in docs/architecture.md").split("```").next().unwrap();
    let mut listed = Graph::new();
    for line in block.lines().filter(|l| l.contains('→') && !l.starts_with("functions/")) {
        let (from, to) = line.split_once('→').unwrap();
        let mut targets = BTreeSet::new();
        if !to.contains("nothing of ours") {
            let mut depth = 0;
            let plain: String = to
                .chars()
                .filter(|c| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => return depth == 0,
                    }
                    false
                })
                .collect();
            targets = plain.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
        }
        for module in from.split(',') {
            listed.insert(module.trim().to_owned(), targets.clone());
        }
    }
    listed
}

#[test]
fn every_import_points_down_the_layers_of_lib_rs() {
    let graph = graph();
    let rows = chart();
    let row_of: BTreeMap<&str, usize> =
        rows.iter().enumerate().flat_map(|(i, row)| row.iter().map(move |m| (m.as_str(), i))).collect();
    let missing: Vec<&String> = graph.keys().filter(|m| !row_of.contains_key(m.as_str())).collect();
    assert!(missing.is_empty(), "modules missing from lib.rs's chart: {missing:?}");
    let unknown: Vec<&&str> = row_of.keys().filter(|m| !graph.contains_key(**m)).collect();
    assert!(unknown.is_empty(), "lib.rs's chart names modules that do not exist: {unknown:?}");
    let up: Vec<String> = graph
        .iter()
        .flat_map(|(from, targets)| targets.iter().map(move |to| (from, to)))
        .filter(|(from, to)| row_of[to.as_str()] <= row_of[from.as_str()])
        .map(|(from, to)| format!("{from} → {to}"))
        .collect();
    assert!(up.is_empty(), "imports that do not point down a layer: {up:?}");
}

#[test]
fn docs_architecture_lists_what_each_module_imports() {
    let graph = graph();
    let listed = documented();
    let mut wrong = Vec::new();
    for (module, imports) in &graph {
        match listed.get(module) {
            None => wrong.push(format!("{module} is not listed (it imports {imports:?})")),
            Some(said) if said != imports => wrong.push(format!("{module}: listed {said:?}, imports {imports:?}")),
            Some(_) => {}
        }
    }
    wrong
        .extend(listed.keys().filter(|m| !graph.contains_key(*m)).map(|m| format!("{m} is listed but no such module")));
    assert!(wrong.is_empty(), "docs/architecture.md disagrees with the code:\n{}", wrong.join("\n"));
}
