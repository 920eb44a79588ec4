//! The core's layout holds: areas import each other one way only, and `platform` imports
//! no area. Reads the `crate::` paths of every file under `src/` (tests and comments left
//! out) and fails on an import cycle between areas that is not on the list below, which
//! may only shrink: a cycle that is gone must leave the list too.
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Cycles between areas that are known and still to be broken, each sorted by name.
const KNOWN_CYCLES: &[&[&str]] = &[];

/// What `platform` may import besides itself: the storage rows.
const PLATFORM_MAY_USE: &[&str] = &["entities"];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The area a file under `src/` belongs to: its first folder, or the file's own name at the
/// top (`lib`, `demo`, `jobs` … are the composition that joins the areas).
fn area_of(relative: &Path) -> String {
    let first = relative.components().next().expect("a path under src").as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a file without its tests and comments.
fn code_of(source: &str) -> String {
    let mut code = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") && lines.peek().is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        let line = match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// The first segment of every `crate::` path: `crate::a::b`, `crate::{a, b::c}`.
fn uses_of(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level items of the group.
            let (mut depth, mut item) = (0, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        used.insert(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            used.insert(first_segment(&item));
        } else {
            used.insert(first_segment(rest));
        }
    }
    used.retain(|name| name.starts_with(|c: char| c.is_ascii_lowercase()) && name != "self");
    used
}

fn first_segment(path: &str) -> String {
    path.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let area = area_of(path.strip_prefix(&src).unwrap());
                let uses = uses_of(&code_of(&std::fs::read_to_string(&path).unwrap()));
                let edges = graph.entry(area.clone()).or_default();
                edges.extend(uses.into_iter().filter(|used| *used != area));
            }
        }
    }
    graph
}

/// The strongly connected components of more than one area (Tarjan), each sorted.
fn cycles(graph: &Graph) -> BTreeSet<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: BTreeSet<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let Some((w, _)) = self.graph.get_key_value(w.as_str()) else { continue };
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w.as_str()]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w.as_str()) {
                    let low = self.low[v].min(self.index[w.as_str()]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = vec![];
                while let Some(w) = self.stack.pop() {
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.insert(component);
                }
            }
        }
    }
    let mut walk = Walk { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: vec![], found: BTreeSet::new() };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn areas_import_each_other_one_way_only() {
    let found = cycles(&graph());
    let known: BTreeSet<Vec<String>> = KNOWN_CYCLES.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(new.is_empty(), "import cycles between areas (break them, e.g. with a job or an event): {new:?}");
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(gone.is_empty(), "these known cycles are gone: remove them from KNOWN_CYCLES: {gone:?}");
}

#[test]
fn platform_imports_no_area() {
    let graph = graph();
    let used: Vec<&String> =
        graph["platform"].iter().filter(|used| !PLATFORM_MAY_USE.contains(&used.as_str())).collect();
    assert!(used.is_empty(), "platform imports these areas: {used:?}");
}

#[test]
fn the_reader_sees_groups_nested_paths_and_ignores_comments_and_tests() {
    let source = "use crate::{a::{b, c}, d, self};\n// crate::e\nfn f() { crate::g::h(); x::crate::y(); }\n\
                  #[cfg(test)]\nmod tests { use crate::t; }\n";
    let used: Vec<String> = uses_of(&code_of(source)).into_iter().collect();
    assert_eq!(used, ["a", "d", "g"]);
    let graph: Graph = [("a", &["b"][..]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(cycles(&graph), BTreeSet::from([vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]));
}
