//! The core's module graph, read from its own source: no import circles at any level, and
//! every edge runs downward through the layers that ARCHITECTURE.md draws.
//!
//! A module `a` depends on `b` when a non-comment, non-test line of a file of `a` names a
//! path `crate::b::…` (or `super::…` that resolves to `b`, or a root re-export whose item is
//! defined in `b`). Intra-doc links are comments and do not count; `#[cfg(test)]` modules at
//! the end of a file do not count either (a test may look at anything).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may depend only on modules of its own layer or of a
/// lower one. Every top-level module of the crate must be in exactly one layer. Within a
/// layer the modules are listed in an order that every edge follows downward (no circles).
const LAYERS: &[(&str, &[&str])] = &[
    (
        "protocol",
        &[
            "vocab",
            "base64",
            "error",
            "key",
            "endpoint",
            "proxy",
            "envelope",
            "task",
            "policy",
            "price",
            "solution",
            "config",
            "codec",
            "calibrate",
            "guard",
            "provider",
            "record",
            "callback_protocol",
            "solve",
            "state",
            "trace",
        ],
    ),
    ("ledger", &["ledger"]),
    (
        "client",
        &[
            "callback",
            "effects",
            "lifecycle",
            "drive",
            "client",
            "blocking",
            "testing",
        ],
    ),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its module path (`["ledger", "memory"]`).
fn modules(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(name);
            modules(&path, &p, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut p = prefix.to_vec();
            if name != "mod" && name != "lib" {
                p.push(name);
            }
            out.push((p, path));
        }
    }
}

/// The code of a file that counts: no comments, nothing from a trailing `#[cfg(test)]` on.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The paths a piece of code names after `crate::` or `super::`, as segment lists relative
/// to the crate root.
fn named_paths(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (anchor, base) in [
        ("crate::", Vec::new()),
        ("super::", me[..me.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = code;
        while let Some(i) = rest.find(anchor) {
            let before = rest[..i].chars().last();
            rest = &rest[i + anchor.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            for tail in expand(rest) {
                let mut p = base.clone();
                p.extend(tail);
                out.push(p);
            }
        }
    }
    out
}

/// The paths at the start of `s`: `a::b::C` gives one, `{a::X, b::{Y, Z}}` one per branch
/// (each down to its first brace).
fn expand(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(inner) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut parts = Vec::new();
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return parts.into_iter().flat_map(expand).collect();
    }
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segs.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(r) if !r.starts_with('{') => rest = r,
            _ => break,
        }
    }
    if segs.is_empty() {
        Vec::new()
    } else {
        vec![segs]
    }
}

/// Root re-exports (`pub use a::b::{X, Y};` in lib.rs): item name → defining module path.
fn root_reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    let code = code_of(lib);
    let mut rest = code.as_str();
    while let Some(i) = rest.find("pub use ") {
        rest = &rest[i + 8..];
        let stmt = &rest[..rest.find(';').unwrap_or(rest.len())];
        let stmt: String = stmt.split_whitespace().collect();
        let (prefix, items) = match stmt.find("::{") {
            Some(j) => (
                &stmt[..j],
                stmt[j + 3..]
                    .trim_end_matches('}')
                    .split(',')
                    .collect::<Vec<_>>(),
            ),
            None => match stmt.rfind("::") {
                Some(j) => (&stmt[..j], vec![&stmt[j + 2..]]),
                None => continue,
            },
        };
        let module: Vec<String> = prefix.split("::").map(str::to_string).collect();
        for item in items.into_iter().filter(|s| !s.is_empty()) {
            let name = item.rsplit(" as ").next().unwrap_or(item).to_string();
            map.insert(name, module.clone());
        }
    }
    map
}

struct Graph {
    /// module path → modules it names.
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn graph() -> Graph {
    let mut files = Vec::new();
    modules(&src_dir(), &[], &mut files);
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).expect("lib.rs");
    let reexports = root_reexports(&lib);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (me, path) in &files {
        if me.is_empty() {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(path).expect("source"));
        let targets = edges.entry(me.clone()).or_default();
        for p in named_paths(&code, me) {
            // The longest known module that is a prefix of the path.
            let mut target: Vec<String> = Vec::new();
            for n in 1..=p.len() {
                if known.contains(&p[..n]) {
                    target = p[..n].to_vec();
                }
            }
            if target.is_empty() {
                // A root item: where the root's re-export says it is defined.
                match p.first().and_then(|name| reexports.get(name)) {
                    Some(m) => {
                        for n in 1..=m.len() {
                            if known.contains(&m[..n]) {
                                target = m[..n].to_vec();
                            }
                        }
                    }
                    None => continue, // defined in lib.rs itself
                }
            }
            if !target.is_empty() && &target != me {
                targets.insert(target);
            }
        }
    }
    Graph { edges }
}

/// The cycles among the children of module `parent` (edges between distinct children,
/// from any file inside one child to anything inside another), each as a sorted list.
fn cycles_under(g: &Graph, parent: &[String]) -> Vec<Vec<String>> {
    let depth = parent.len();
    let child = |m: &[String]| -> Option<String> {
        (m.len() > depth && m[..depth] == *parent).then(|| m[depth].clone())
    };
    let mut adj: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in &g.edges {
        let Some(a) = child(from) else { continue };
        adj.entry(a.clone()).or_default();
        for to in tos {
            if let Some(b) = child(to)
                && a != b
            {
                adj.entry(a.clone()).or_default().insert(b);
            }
        }
    }
    // Strongly connected components by reachability (the graphs are small).
    let reach = |start: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(n) = stack.pop() {
            for m in adj.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<String, BTreeSet<String>> =
        adj.keys().map(|k| (k.clone(), reach(k))).collect();
    let mut cycles = BTreeSet::new();
    for a in adj.keys() {
        if reaches[a].contains(a) {
            let scc: Vec<String> = adj
                .keys()
                .filter(|b| reaches[a].contains(*b) && reaches[*b].contains(a))
                .cloned()
                .collect();
            cycles.insert(scc);
        }
    }
    cycles.into_iter().collect()
}

#[test]
fn no_import_circles_at_any_level() {
    let g = graph();
    let mut parents: BTreeSet<Vec<String>> = BTreeSet::new();
    parents.insert(Vec::new());
    for m in g.edges.keys() {
        for n in 1..m.len() {
            parents.insert(m[..n].to_vec());
        }
    }
    let mut found = Vec::new();
    for p in &parents {
        for c in cycles_under(&g, p) {
            found.push(format!(
                "under crate::{}: {}",
                p.join("::"),
                c.join(" <-> ")
            ));
        }
    }
    assert!(
        found.is_empty(),
        "import circles in core/src:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_edge_runs_down_the_layers() {
    let g = graph();
    let layer_of = |m: &[String]| -> Option<usize> {
        let top = m.first()?;
        LAYERS
            .iter()
            .position(|(_, mods)| mods.contains(&top.as_str()))
    };
    let mut unplaced = BTreeSet::new();
    let mut upward = Vec::new();
    for (from, tos) in &g.edges {
        let Some(lf) = layer_of(from) else {
            unplaced.insert(from[0].clone());
            continue;
        };
        for to in tos {
            match layer_of(to) {
                Some(lt) if lt > lf => upward.push(format!(
                    "{} ({}) -> {} ({})",
                    from.join("::"),
                    LAYERS[lf].0,
                    to.join("::"),
                    LAYERS[lt].0
                )),
                Some(_) => {}
                None => {
                    unplaced.insert(to[0].clone());
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS and ARCHITECTURE.md): {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "edges running up the layers:\n{}",
        upward.join("\n")
    );
}

/// The checker itself finds a circle and an upward edge (so the tests above can fail).
#[test]
fn the_checker_sees_circles() {
    let me = vec!["a".to_string()];
    let paths = named_paths("use crate::{b::X, c::{Y, Z}};\nlet _ = super::d::f();", &me);
    assert!(paths.contains(&vec!["b".to_string(), "X".to_string()]));
    assert!(paths.contains(&vec!["c".to_string()]));
    assert!(paths.contains(&vec!["d".to_string(), "f".to_string()]));
    let v = |s: &str| vec![s.to_string()];
    let mut edges = BTreeMap::new();
    edges.insert(v("a"), BTreeSet::from([v("b")]));
    edges.insert(v("b"), BTreeSet::from([v("c")]));
    edges.insert(v("c"), BTreeSet::from([v("a")]));
    edges.insert(v("d"), BTreeSet::from([v("a")]));
    let g = Graph { edges };
    assert_eq!(
        cycles_under(&g, &[]),
        vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]
    );
}

#[test]
#[ignore]
fn print_edges() {
    let g = graph();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (f, ts) in &g.edges {
        for t in ts {
            if f[0] != t[0] {
                top.entry(f[0].clone()).or_default().insert(t[0].clone());
            }
        }
    }
    for (f, ts) in top {
        println!("{f} -> {ts:?}");
    }
}
