//! The layering of `src/` (docs/architecture.md, "Layers"), checked at the granularity
//! of top-level modules: every file's references to other top-level modules
//! (`use crate::x…`, grouped `use crate::{a::b, c}`, inline `crate::x::…` paths, and
//! `super::` paths that climb out of their top-level module), with comments, string
//! and char literals, and `#[cfg(test)]` items left out. It fails on an arrow from a
//! lower layer to a higher one and on a circle among the modules of one layer, unless
//! `KNOWN` lists it; and on a `KNOWN` entry that no longer occurs, so the list only
//! shrinks. Any circle among top-level modules crosses layers upwards or stays inside
//! one layer, so the two checks together find every circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// From the top: a module may import modules of its own layer (without a circle) and
/// of any lower layer.
const LAYERS: &[(&str, &[&str])] = &[
    ("entry", &["cli", "demo", "fuzzing"]),
    ("driver", &["serve"]),
    ("http", &["http"]),
    (
        "domain",
        &[
            "tasks",
            "policy",
            "providers",
            "notify",
            "auth",
            "services",
            "discovery",
            "checks",
            "ratelimit",
            "config",
        ],
    ),
    ("base", &["store", "host", "registry"]),
    (
        "leaf",
        &[
            "model",
            "build_info",
            "clock",
            "duration",
            "hex",
            "sys",
            "logging",
            "panel",
        ],
    ),
];

/// Arrows inside a layer that are forbidden all the same: `cli` may use `demo`, not
/// the other way round.
const FORBIDDEN: &[(&str, &str)] = &[("demo", "cli")];

/// Today's violations, each to be removed by the change that removes it (issue 18).
/// The test fails when one of these no longer occurs: delete the line then (a circle
/// that only shrinks is written anew, with the modules it still has).
const KNOWN: &[&str] = &[];

/// One reference from a file to a top-level module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub to: String,
    pub line: usize,
}

/// What the parser found in one file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub references: Vec<Reference>,
    /// Child modules declared `#[cfg(test)] mod name;` (their files are test code).
    pub test_children: Vec<String>,
}

/// A token of cleaned source and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    line: usize,
}

/// Source text without comments (line, block, doc) and with every string, raw string,
/// byte string and char literal emptied (`""`, `' '`); lines keep their numbers.
pub fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let at = |i: usize| b.get(i).copied().unwrap_or('\0');
    while i < b.len() {
        let c = b[i];
        if c == '/' && at(i + 1) == '/' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r'))
            && !at(i.wrapping_sub(1)).is_alphanumeric()
            && at(i.wrapping_sub(1)) != '_'
            && {
                let mut j = i + if c == 'b' { 2 } else { 1 };
                while at(j) == '#' {
                    j += 1;
                }
                at(j) == '"'
            }
        {
            // A raw string: r"…", r#"…"#, br"…".
            i += if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            loop {
                if i >= b.len() {
                    break;
                }
                if b[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && at(i + 1) == '\\' {
            // '\n', '\'', '\u{1F600}'
            i += 2;
            while i < b.len() && b[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && at(i + 2) == '\'' {
            i += 3;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn tokens(clean: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (n, line) in clean.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_alphanumeric() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token {
                    text: chars[start..i].iter().collect(),
                    line: n + 1,
                });
            } else if c == ':' && chars.get(i + 1) == Some(&':') {
                out.push(Token {
                    text: "::".into(),
                    line: n + 1,
                });
                i += 2;
            } else if c.is_whitespace() {
                i += 1;
            } else {
                out.push(Token {
                    text: c.to_string(),
                    line: n + 1,
                });
                i += 1;
            }
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The top-level modules named at the start of the path that begins at `toks[i]`: one
/// identifier, or every first segment of a `{…}` group.
fn heads(toks: &[Token], i: usize) -> Vec<Reference> {
    match toks.get(i) {
        Some(t) if t.text == "{" => {
            let mut out = Vec::new();
            let mut depth = 0;
            let mut expect = true;
            for t in &toks[i..] {
                match t.text.as_str() {
                    "{" => {
                        depth += 1;
                        if depth == 1 {
                            expect = true;
                        }
                    }
                    "}" => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    "," if depth == 1 => expect = true,
                    s if expect && depth == 1 && is_ident(s) => {
                        if s != "self" {
                            out.push(Reference {
                                to: s.to_string(),
                                line: t.line,
                            });
                        }
                        expect = false;
                    }
                    _ => expect = false,
                }
            }
            out
        }
        Some(t) if is_ident(&t.text) && t.text != "self" => vec![Reference {
            to: t.text.clone(),
            line: t.line,
        }],
        _ => Vec::new(),
    }
}

/// The index after the item that starts at `i` (after its attributes): its `;` or
/// the `}` that closes its body.
fn item_end(toks: &[Token], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].text.as_str() {
            "{" | "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            ";" if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The end of the attribute `#[…]` or `#![…]` at `i`, and whether it is `cfg(test)`.
fn attribute(toks: &[Token], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    if toks.get(j)?.text == "!" {
        j += 1;
    }
    if toks.get(j)?.text != "[" {
        return None;
    }
    let start = j + 1;
    let mut depth = 0;
    while j < toks.len() {
        match toks[j].text.as_str() {
            "[" => depth += 1,
            "]" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        j += 1;
    }
    let inner: Vec<&str> = toks[start..j].iter().map(|t| t.text.as_str()).collect();
    Some((j + 1, inner == ["cfg", "(", "test", ")"]))
}

/// The references in the source of module `path` (`["http", "routes"]` for
/// src/http/routes.rs) to top-level modules, including its own.
pub fn parse(src: &str, path: &[&str]) -> Parsed {
    let toks = tokens(&strip(src));
    let mut parsed = Parsed::default();
    // The module path at each open brace: `Some(name)` for an inline `mod name {`.
    let mut braces: Vec<Option<String>> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].text.as_str();
        match t {
            "#" => {
                if let Some((end, test)) = attribute(&toks, i) {
                    i = end;
                    if test {
                        // Skip the attributes that follow, then the item.
                        while toks.get(i).is_some_and(|t| t.text == "#") {
                            i = attribute(&toks, i).map_or(i + 1, |(e, _)| e);
                        }
                        if toks.get(i).is_some_and(|t| t.text == "pub") {
                            i += 1;
                            // `pub(crate)`, `pub(super)`, `pub(in path)`
                            if toks.get(i).is_some_and(|t| t.text == "(") {
                                while toks.get(i).is_some_and(|t| t.text != ")") {
                                    i += 1;
                                }
                                i += 1;
                            }
                        }
                        if toks.get(i).is_some_and(|t| t.text == "mod")
                            && toks.get(i + 2).is_some_and(|t| t.text == ";")
                        {
                            parsed.test_children.push(toks[i + 1].text.clone());
                        }
                        i = item_end(&toks, i);
                    }
                    continue;
                }
            }
            "mod" if toks.get(i + 2).is_some_and(|t| t.text == "{") => {
                braces.push(Some(toks[i + 1].text.clone()));
                i += 3;
                continue;
            }
            "{" => braces.push(None),
            "}" => {
                braces.pop();
            }
            "crate" if toks.get(i + 1).is_some_and(|t| t.text == "::") => {
                let after_dollar = i > 0 && toks[i - 1].text == "$";
                let after_path = i > 0 && toks[i - 1].text == "::";
                if !after_dollar && !after_path {
                    parsed.references.extend(heads(&toks, i + 2));
                }
            }
            "super" if !(i > 0 && toks[i - 1].text == "::") => {
                let mut n = 0;
                let mut j = i;
                while toks.get(j).is_some_and(|t| t.text == "super") && toks.get(j + 1).is_some_and(|t| t.text == "::")
                {
                    n += 1;
                    j += 2;
                }
                let depth = path.len() + braces.iter().flatten().count();
                if n >= depth && n > 0 {
                    parsed.references.extend(heads(&toks, j));
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parsed
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file below `src/`: `http/routes.rs` → `["http", "routes"]`,
/// `http/mod.rs` → `["http"]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// Arrows between top-level modules, each with the places that make it.
type Graph = BTreeMap<(String, String), Vec<String>>;

/// The graph of `src/` (the crate root files `lib.rs` and `main.rs` are not a module;
/// test-only files are left out).
fn graph(src: &Path) -> (Graph, BTreeSet<String>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut parsed = BTreeMap::new();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(src).unwrap();
        if rel == Path::new("lib.rs") || rel == Path::new("main.rs") {
            let p = parse(&std::fs::read_to_string(f).unwrap(), &[]);
            test_only.extend(p.test_children.into_iter().map(|c| vec![c]));
            continue;
        }
        let path = module_path(rel);
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let p = parse(&std::fs::read_to_string(f).unwrap(), &refs);
        for c in &p.test_children {
            test_only.insert([path.clone(), vec![c.clone()]].concat());
        }
        parsed.insert((path, rel.display().to_string()), p);
    }
    let modules: BTreeSet<String> = parsed
        .keys()
        .filter(|(p, _)| !test_only.iter().any(|t| p.starts_with(t)))
        .map(|(p, _)| p[0].clone())
        .collect();
    let mut g = Graph::new();
    for ((path, rel), p) in &parsed {
        if test_only.iter().any(|t| path.starts_with(t)) {
            continue;
        }
        for r in &p.references {
            if r.to != path[0] && modules.contains(&r.to) {
                g.entry((path[0].clone(), r.to.clone()))
                    .or_default()
                    .push(format!("src/{rel}:{}", r.line));
            }
        }
    }
    (g, modules)
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// Strongly connected components with more than one member (Tarjan), each sorted.
pub fn circles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let nodes: Vec<&String> = nodes.into_iter().collect();
    let index_of = |n: &String| nodes.iter().position(|m| *m == n).unwrap();
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (a, b) in edges {
        next[index_of(a)].push(index_of(b));
    }
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        counter: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, next: &[Vec<usize>], s: &mut State) {
        s.index[v] = Some(s.counter);
        s.low[v] = s.counter;
        s.counter += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &next[v] {
            match s.index[w] {
                None => {
                    visit(w, next, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let n = nodes.len();
    let mut s = State {
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        counter: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(v, &next, &mut s);
        }
    }
    let mut out: Vec<Vec<String>> = s
        .out
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut names: Vec<String> = c.into_iter().map(|i| nodes[i].clone()).collect();
            names.sort();
            names
        })
        .collect();
    out.sort();
    out
}

/// Every violation of `src/`, as `KNOWN` writes them, with where each occurs.
fn violations(src: &Path) -> BTreeMap<String, String> {
    let (g, modules) = graph(src);
    let mut out = BTreeMap::new();
    for m in &modules {
        if layer(m).is_none() {
            out.insert(
                format!("{m} is in no layer"),
                "add it to LAYERS here and to docs/architecture.md".into(),
            );
        }
    }
    let mut level = BTreeSet::new();
    for ((from, to), places) in &g {
        let (Some(a), Some(b)) = (layer(from), layer(to)) else {
            continue;
        };
        if b < a || FORBIDDEN.contains(&(from.as_str(), to.as_str())) {
            out.insert(format!("{from} -> {to}"), places.join(", "));
        } else if a == b {
            level.insert((from.clone(), to.clone()));
        }
    }
    for c in circles(&level) {
        let places: Vec<String> = g
            .iter()
            .filter(|((a, b), _)| c.contains(a) && c.contains(b))
            .map(|((a, b), p)| format!("{a} -> {b} at {}", p.join(", ")))
            .collect();
        out.insert(format!("circle: {}", c.join(" <-> ")), places.join("; "));
    }
    out
}

#[test]
fn layers_no_module_imports_a_higher_layer_and_no_layer_has_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    let new: Vec<String> = found
        .iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
        .map(|(k, v)| format!("  {k}   ({v})"))
        .collect();
    let gone: Vec<&&str> = KNOWN.iter().filter(|k| !found.contains_key(**k)).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "the layers of docs/architecture.md are not kept.\nnew violations:\n{}\n\
         KNOWN entries that no longer occur (delete them from KNOWN in tests/integration/layers.rs):\n{}",
        new.join("\n"),
        gone.iter().map(|k| format!("  {k}")).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn layers_parser_finds_every_form_of_reference_and_ignores_comments_and_strings() {
    let src = r##"
//! use crate::nope1;
/// crate::nope2::x
use crate::{alpha::{A, b::C}, beta, self as me};
use crate::gamma::{self, D};
use super::sibling; // crate::nope3
use super::super::delta::E;
/* crate::nope4 /* nested */ crate::nope5 */
fn f() {
    let s = "crate::nope6::x";
    let r = r#"use crate::nope7;"#;
    let c = '"';
    let q = crate::epsilon::call();
    let life: &'static str = "";
    macro_rules! m { () => { $crate::nope8::x } }
}
#[cfg(test)]
mod tests {
    use crate::nope9;
    fn g() { crate::nope10::x(); }
}
#[cfg(test)]
mod more_tests;
#[cfg(test)]
pub(crate) mod helpers_for_tests;
mod inline {
    use super::super::zeta_is_top;
    use super::super::super::eta;
}
"##;
    let p = parse(src, &["top", "file"]);
    let names: Vec<&str> = p.references.iter().map(|r| r.to.as_str()).collect();
    assert_eq!(names, ["alpha", "beta", "gamma", "delta", "epsilon", "eta"]);
    assert_eq!(p.references[0].line, 4);
    assert_eq!(p.test_children, ["more_tests", "helpers_for_tests"]);
    // From src/top.rs (depth 1), one super:: already leaves `top`.
    let p = parse("use super::other::X; use self::x;", &["top"]);
    assert_eq!(
        p.references,
        [Reference {
            to: "other".into(),
            line: 1
        }]
    );
}

#[test]
fn layers_circles_are_the_strongly_connected_components() {
    let e = |pairs: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    };
    assert_eq!(
        circles(&e(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")])),
        [["a", "b", "c"]]
    );
    assert!(circles(&e(&[("a", "b"), ("b", "c")])).is_empty());
}
