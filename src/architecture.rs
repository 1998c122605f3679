//! The layering of the crate, checked on every test run from the `crate::` paths in
//! `src/` (see `docs/architecture.md`): infrastructure at the bottom never names a
//! feature or the wiring; features meet only through each other's `service`, `model`
//! or `domain`; the circles among top-level modules stay small; no file grows past
//! 800 lines. The few reaches that do not keep a rule are written down here with their
//! reasons (at most five), and an entry that no longer applies fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Folders (and files) that are features: one idea each, meeting through services.
const FEATURES: [&str; 13] = [
    "accounts",
    "album",
    "audit",
    "comments",
    "competitions",
    "exhibition",
    "judging",
    "remix",
    "results",
    "show",
    "site",
    "submissions",
    "voting",
];

/// The wiring on top: it may name everything.
const WIRING: [&str; 6] = ["startup", "cli", "openapi", "admin", "main", "lib"];

/// The ways into another feature.
const FACES: [&str; 3] = ["service", "model", "domain"];

/// Reaches into another feature's internals, each with its reason (at most five), as
/// (file under `src/`, `feature::module`, why).
const KNOWN_REACHES: &[(&str, &str, &str)] = &[
    (
        "site/pages.rs",
        "remix::pages",
        "the competition's page embeds remix's section (packs, sources, licence), an HTML \
         fragment remix renders with its own template",
    ),
    (
        "submissions/pages.rs",
        "remix::pages",
        "the new-entry form embeds remix's source fields; submissions and remix are one \
         circle of two by design (an entry may be a remix, a remix is an entry)",
    ),
];

/// The most exceptions [`KNOWN_REACHES`] may hold.
const MAX_REACHES: usize = 5;

/// The largest circle among top-level modules may have this many members. Today's
/// circles of two: accounts ⇄ competitions (a competition's team is accounts', and a
/// competition checks who may run it), submissions ⇄ remix (above), auth ⇄ state (the
/// state holds the token keys; the navigation checks a token through the state),
/// http ⇄ web (error pages are rendered by web, the envelope is http's).
const MAX_CIRCLE: usize = 3;

const MAX_LINES: usize = 800;

struct Source {
    /// Path under `src/`, with `/`.
    path: String,
    /// The top-level module it belongs to.
    top: String,
    lines: usize,
    /// `(module, next segment)` of every `crate::` path outside tests and comments.
    refs: Vec<(String, String)>,
}

fn read_sources(dir: &Path, root: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_sources(&p, root, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).expect("a source file");
            let path = p
                .strip_prefix(root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            let first = path.split('/').next().unwrap_or_default();
            let top = first.strip_suffix(".rs").unwrap_or(first).to_string();
            out.push(Source {
                lines: text.lines().count(),
                refs: crate_paths(&text),
                path,
                top,
            });
        }
    }
}

/// The code of a file without its tests and `//` comments.
fn code_of(text: &str) -> String {
    let before_tests = text.split("#[cfg(test)]").next().unwrap_or_default();
    before_tests
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every `crate::a::b` (and each `a::b` of `use crate::{a::b, c}`) as `(a, b)`; `b` is
/// empty for `crate::a` alone and for an item named at a module's root.
fn crate_paths(text: &str) -> Vec<(String, String)> {
    let code = code_of(text);
    let mut out = Vec::new();
    let mut push = |path: &str| {
        let module = ident(path);
        if module.is_empty() {
            return;
        }
        let rest = &path[module.len()..];
        let next = rest.strip_prefix("::").map(ident).unwrap_or_default();
        // A module is lower case; `Item` at the root is not a module.
        let next = if next.starts_with(|c: char| c.is_ascii_lowercase()) {
            next
        } else {
            ""
        };
        out.push((module.to_string(), next.to_string()));
    };
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = 0usize;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        push(group[start..j].trim());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push(group[start..j].trim());
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            push(after);
        }
        rest = after;
    }
    out
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    read_sources(&root, &root, &mut out);
    out
}

fn is_feature(m: &str) -> bool {
    FEATURES.contains(&m)
}

fn is_wiring(m: &str) -> bool {
    WIRING.contains(&m)
}

/// Infrastructure files that name a feature or the wiring.
fn upward_names(src: &[Source]) -> BTreeSet<(String, String)> {
    src.iter()
        .filter(|s| !is_feature(&s.top) && !is_wiring(&s.top))
        .flat_map(|s| {
            s.refs
                .iter()
                .filter(|(m, _)| m != &s.top && (is_feature(m) || is_wiring(m)))
                .map(|(m, _)| (s.path.clone(), m.clone()))
        })
        .collect()
}

/// Feature files that reach another feature other than through its faces.
fn reaches(src: &[Source]) -> BTreeSet<(String, String)> {
    src.iter()
        .filter(|s| is_feature(&s.top))
        .flat_map(|s| {
            s.refs
                .iter()
                .filter(|(m, next)| m != &s.top && is_feature(m) && !FACES.contains(&next.as_str()))
                .map(|(m, next)| (s.path.clone(), format!("{m}::{next}")))
        })
        .collect()
}

/// The strongly connected components of the graph of top-level modules (Tarjan).
fn circles(src: &[Source]) -> Vec<BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in src {
        let e = edges.entry(s.top.clone()).or_default();
        for (m, _) in &s.refs {
            if m != &s.top {
                e.insert(m.clone());
            }
        }
    }
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        if let Some(ws) = t.edges.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if t.stack.contains(&w) {
                    let iw = t.index[w];
                    let lv = t.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                comp.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            t.out.push(comp);
        }
    }
    let mut t = T {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn paths_are_read_from_uses_groups_and_inline_paths() {
    let refs = crate_paths(
        "use crate::voting::service as voting;\nuse crate::{db::DbConnection, error::AppError};\n\
         let x = crate::http::files::disposition(\"a\", b); // crate::jobs::store\n\
         use crate::accounts::model::AuthUser;\nuse crate::voting::EntryInfo;\n\
         #[cfg(test)]\nmod tests { use crate::startup::x; }",
    );
    let got: Vec<String> = refs.iter().map(|(a, b)| format!("{a}::{b}")).collect();
    assert_eq!(
        got,
        [
            "voting::service",
            "db::",
            "error::",
            "http::files",
            "accounts::model",
            "voting::"
        ]
    );
}

#[test]
fn infrastructure_names_no_feature_and_no_wiring() {
    let bad = upward_names(&sources());
    assert!(
        bad.is_empty(),
        "infrastructure (below the features) names a feature or the wiring; move the code \
         up, or pass what it needs in from the wiring: {bad:#?}"
    );
}

#[test]
fn features_meet_through_service_model_or_domain() {
    let found = reaches(&sources());
    assert!(
        KNOWN_REACHES.len() <= MAX_REACHES,
        "at most {MAX_REACHES} written-down reaches"
    );
    let known: BTreeSet<(String, String)> = KNOWN_REACHES
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "a feature reaches into another feature's internals; go through its service \
         (or model, domain), or move the shared code down into infrastructure: {new:#?}"
    );
    assert!(
        gone.is_empty(),
        "these reaches are gone: take them off KNOWN_REACHES: {gone:#?}"
    );
}

#[test]
fn circles_among_top_level_modules_stay_small() {
    let all = circles(&sources());
    let largest = all
        .iter()
        .max_by_key(|c| c.len())
        .cloned()
        .unwrap_or_default();
    assert!(
        largest.len() <= MAX_CIRCLE,
        "top-level modules that all reach each other: {largest:?} ({} > {MAX_CIRCLE})",
        largest.len()
    );
    // No infrastructure module is part of a circle with a feature.
    for c in &all {
        if c.iter().any(|m| is_feature(m)) {
            let infra: Vec<_> = c.iter().filter(|m| !is_feature(m)).collect();
            assert!(
                infra.is_empty(),
                "infrastructure in a circle with features: {c:?}"
            );
        }
    }
}

#[test]
fn no_file_grows_past_eight_hundred_lines() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|s| s.lines > MAX_LINES)
        .map(|s| format!("{} ({} lines)", s.path, s.lines))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines; split them by idea: {long:#?}"
    );
}
