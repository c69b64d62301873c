//! The crate-wide index of definitions: which types, traits and constructors live in the other
//! files of a crate and of the crates it depends on, so a prompt can carry the ones its targets
//! use.
//!
//! Why exact rather than a ranked map (Aider's repo map ranks every file's symbols by
//! reference): a small model needs the one `enum Position` its function takes, with its derives,
//! not a list of likely names. A name is resolved the way rustc would find it, as far as the
//! sources tell: through the file's `use` lines and the module tree to the defining file, or, for
//! a name no `use` line imports, to the one definition in the crate that has it. A name that could
//! mean two things is left out rather than guessed.
//!
//! Each indexed file is parsed once and only rendered text is kept, so the index of a big crate
//! costs its parse, not its trees.

mod render;
mod uses;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tree_sitter::Node;

use super::decl::{decls, Decl};
use super::modules::module_file;
use super::parse::{node_text, parse_tree, SourceFile};
use super::FnItem;
use uses::{imports_of, Import};

/// Files beyond this many are not indexed: a prompt needs the definitions near its targets, and
/// a crate of thousands of files would cost more to parse than it gives.
const MAX_FILES: usize = 400;
/// Files bigger than this are skipped, and so are files that say they are generated: generated
/// tables (regex-syntax's Unicode data is 1.3 MB in 20 files) cost more to parse than every other
/// file together and define no type a prompt needs.
const MAX_FILE_BYTES: u64 = 256 * 1024;
const GENERATED_MARKS: [&str; 2] = ["DO NOT EDIT", "@generated"];
/// How much of a prompt the definitions from elsewhere may take (about 1,500 tokens).
pub const DEFINITIONS_BUDGET_CHARS: usize = 6_000;

/// A crate to index: its root source files (`src/lib.rs`, `src/main.rs`) and how the sources
/// should be named in a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateSources {
    pub roots: Vec<PathBuf>,
    /// Paths are shown relative to this directory.
    pub shown_from: PathBuf,
    /// Only `pub` items count (a dependency's private items are out of the caller's reach).
    pub public_only: bool,
}

/// A type, trait or alias found in the sources, rendered for a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Definition {
    name: String,
    module: Vec<String>,
    file: PathBuf,
    shown_file: String,
    /// Attributes (derives) and the item, trait bodies reduced to their signatures.
    text: String,
    /// Type names its fields and variants mention, for one more level of definitions.
    mentions: Vec<String>,
}

/// What an `impl` block adds to a type: constructor signatures, or the trait it implements.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImplFacts {
    type_name: String,
    shown_file: String,
    /// `impl Ord for Prerelease` for a trait impl, `impl Prerelease` for an inherent one.
    header: String,
    constructors: Vec<String>,
}

/// The index of one crate.
#[derive(Debug, Default)]
pub struct CrateIndex {
    definitions: Vec<Definition>,
    impls: Vec<ImplFacts>,
    /// Dependencies by the name code uses for them (`-` turned into `_`), indexed on first use.
    dependencies: HashMap<String, DependencyIndex>,
    /// The `use` lines of the task's file per module path, read on first use. An index serves
    /// one task, whose file does not change under it.
    imports: Mutex<HashMap<FileModule, Arc<[Import]>>>,
}

/// A file and the module path of the code in it.
type FileModule = (PathBuf, Vec<String>);

#[derive(Debug)]
struct DependencyIndex {
    sources: CrateSources,
    index: Mutex<Option<Arc<CrateIndex>>>,
}

impl CrateIndex {
    /// Parses every file of the module trees under `sources.roots` (at most [`MAX_FILES`]);
    /// `dependencies` are indexed only when a `use` line names them. Unreadable or unparsable
    /// files are skipped: the index helps a prompt, it never stops a task.
    pub fn build(sources: &CrateSources, dependencies: Vec<(String, CrateSources)>) -> CrateIndex {
        let mut index = CrateIndex::default();
        let mut pending: Vec<(PathBuf, Vec<String>)> = sources
            .roots
            .iter()
            .map(|r| (r.clone(), Vec::new()))
            .collect();
        let mut seen = HashSet::new();
        while let Some((file, module)) = pending.pop() {
            if seen.len() >= MAX_FILES || !seen.insert(file.clone()) {
                continue;
            }
            let small = std::fs::metadata(&file).is_ok_and(|meta| meta.len() <= MAX_FILE_BYTES);
            let Some(parsed) = small
                .then(|| std::fs::read_to_string(&file).ok())
                .flatten()
                .filter(|text| !is_generated(text))
                .and_then(|text| SourceFile::parse(&text).ok())
            else {
                continue;
            };
            let shown = file
                .strip_prefix(&sources.shown_from)
                .unwrap_or(&file)
                .display()
                .to_string();
            let mut walker = Walker {
                src: parsed.text(),
                file: &file,
                shown: &shown,
                public_only: sources.public_only,
                index: &mut index,
                children: Vec::new(),
            };
            walker.container(parsed.root(), &module);
            pending.extend(walker.children);
        }
        index.dependencies = dependencies
            .into_iter()
            .map(|(name, sources)| {
                let dependency = DependencyIndex {
                    sources,
                    index: Mutex::new(None),
                };
                (name.replace('-', "_"), dependency)
            })
            .collect();
        index
    }

    /// The definitions `targets` of `file` (at `file_path`, module `module`) use that live in
    /// other files or crates, rendered as Rust with a `// from <file>` line above each group,
    /// within `budget_chars`. Empty when there are none.
    pub fn definitions_for(
        &self,
        file: &SourceFile,
        file_path: &Path,
        module: &[String],
        targets: &[FnItem],
        budget_chars: usize,
    ) -> String {
        let src = file.text();
        let imports = self.imports(file, file_path, module);
        let mut names = Vec::new();
        for target in targets {
            // A method's own type is named by its impl header, outside the method (`Self` inside).
            if let Some(owner) = target.impl_type.as_ref().filter(|o| !names.contains(*o)) {
                names.push(owner.clone());
            }
            // The function parsed on its own: finding its node in the file's tree walks the
            // root's children one by one, which for every target of every batch of a file with
            // 10,000 functions made preparing the prompts quadratic (0.9 s -> 20 s).
            let own = src.get(target.byte_range.clone()).unwrap_or("");
            if let Ok(tree) = parse_tree(own) {
                type_names(tree.root_node(), own, &mut names);
            }
        }
        let mut chosen: Vec<(Definition, Vec<ImplFacts>)> = Vec::new();
        let mut queue: Vec<(String, Option<Arc<CrateIndex>>)> =
            names.into_iter().map(|name| (name, None)).collect();
        let mut used = 0;
        let mut next = 0;
        while next < queue.len() {
            let (name, within) = queue[next].clone();
            next += 1;
            let found = match &within {
                Some(crate_index) => crate_index.unique(&name, None).map(|d| (d, None)),
                None => self.resolve(&name, &imports, file_path, module),
            };
            let Some((definition, owner)) = found else {
                continue;
            };
            if chosen.iter().any(|(c, _)| c.text == definition.text) {
                continue;
            }
            let cost = definition.text.len() + 40;
            if used + cost > budget_chars {
                continue;
            }
            used += cost;
            let owner = owner.or(within);
            for mention in &definition.mentions {
                queue.push((mention.clone(), owner.clone()));
            }
            let impls = owner.as_deref().unwrap_or(self).impls_of(&definition.name);
            chosen.push((definition, impls));
        }
        render::definitions(&chosen, budget_chars - used)
    }

    /// `file`'s `use` lines, read once per file and module: every batch of a big file asks again,
    /// and reading them walks all of the file's top-level items.
    fn imports(&self, file: &SourceFile, file_path: &Path, module: &[String]) -> Arc<[Import]> {
        let key = (file_path.to_path_buf(), module.to_vec());
        let mut cache = self
            .imports
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(
            cache
                .entry(key)
                .or_insert_with(|| imports_of(file.root(), file.text(), module).into()),
        )
    }

    /// The definition `name` means in `file`: through its imports, else the crate's only one.
    /// With it, the dependency's index when it lives in a dependency.
    fn resolve(
        &self,
        name: &str,
        imports: &[Import],
        file_path: &Path,
        module: &[String],
    ) -> Option<(Definition, Option<Arc<CrateIndex>>)> {
        let import = imports.iter().find(|i| i.local_name() == Some(name));
        match import {
            Some(Import::Named { path, original, .. }) => {
                let (head, rest) = path.split_first()?;
                if head == "crate" {
                    return self.unique(original, Some(rest)).map(|d| (d, None));
                }
                match self.dependency(head) {
                    Some(dependency) => {
                        let found = dependency.unique(original, Some(rest))?;
                        Some((found, Some(dependency)))
                    }
                    // A module in scope (2018 paths): relative to this one.
                    None => {
                        let relative: Vec<String> =
                            module.iter().chain(path.iter()).cloned().collect();
                        self.unique(original, Some(&relative)).map(|d| (d, None))
                    }
                }
            }
            _ => {
                let glob_modules: Vec<&[String]> = imports
                    .iter()
                    .filter_map(|i| match i {
                        Import::Glob { path } => path.split_first().map(|(_, rest)| rest),
                        Import::Named { .. } => None,
                    })
                    .collect();
                let candidates: Vec<&Definition> = self
                    .definitions
                    .iter()
                    .filter(|d| d.name == name && d.file != file_path)
                    .collect();
                let in_scope: Vec<&Definition> = candidates
                    .iter()
                    .copied()
                    .filter(|d| {
                        d.module.as_slice() == module || glob_modules.contains(&d.module.as_slice())
                    })
                    .collect();
                match (candidates.as_slice(), in_scope.as_slice()) {
                    ([only], _) | (_, [only]) => Some(((*only).clone(), None)),
                    _ => None,
                }
            }
        }
    }

    /// The one definition named `name`; with `module`, the one in that module when there are
    /// several (a `use` path may also name a re-export, so a unique name wins anyway).
    fn unique(&self, name: &str, module: Option<&[String]>) -> Option<Definition> {
        let candidates: Vec<&Definition> =
            self.definitions.iter().filter(|d| d.name == name).collect();
        match candidates.as_slice() {
            [only] => Some((*only).clone()),
            many => {
                let module = module?;
                many.iter()
                    .find(|d| d.module.as_slice() == module)
                    .map(|d| (*d).clone())
            }
        }
    }

    fn dependency(&self, name: &str) -> Option<Arc<CrateIndex>> {
        let dependency = self.dependencies.get(name)?;
        let mut index = dependency
            .index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(Arc::clone(index.get_or_insert_with(|| {
            Arc::new(CrateIndex::build(&dependency.sources, Vec::new()))
        })))
    }

    fn impls_of(&self, type_name: &str) -> Vec<ImplFacts> {
        self.impls
            .iter()
            .filter(|facts| facts.type_name == type_name)
            .cloned()
            .collect()
    }
}

/// The type-like names under `node` in first-use order, each once: type identifiers and the
/// capitalised heads of paths (`Position::Start`, `Version { .. }`).
fn type_names(node: Node<'_>, src: &str, names: &mut Vec<String>) {
    for leaf in super::decl::leaves(node) {
        let text = node_text(leaf, src);
        let type_like = match leaf.kind() {
            "type_identifier" => true,
            "identifier" => text.starts_with(|c: char| c.is_ascii_uppercase()),
            _ => false,
        };
        if type_like && text != "Self" && !names.iter().any(|n| n == text) {
            names.push(text.to_string());
        }
    }
}

/// Collects the definitions and impls of one file, and the module files it declares.
struct Walker<'a> {
    src: &'a str,
    file: &'a Path,
    shown: &'a str,
    public_only: bool,
    index: &'a mut CrateIndex,
    children: Vec<(PathBuf, Vec<String>)>,
}

impl Walker<'_> {
    fn container(&mut self, node: Node<'_>, module: &[String]) {
        for decl in decls(node) {
            if decl.is_cfg_test(self.src) {
                continue;
            }
            match decl.kind() {
                "mod_item" => self.module(&decl, module),
                "struct_item" | "enum_item" | "union_item" | "trait_item" | "type_item" => {
                    if self.public_only && !is_pub(decl.node) {
                        continue;
                    }
                    if let Some(definition) = render::definition(&decl, self.src) {
                        self.index.definitions.push(Definition {
                            module: module.to_vec(),
                            file: self.file.to_path_buf(),
                            shown_file: self.shown.to_string(),
                            ..definition
                        });
                    }
                }
                "impl_item" => {
                    if let Some(facts) = render::impl_facts(decl.node, self.src, self.public_only) {
                        self.index.impls.push(ImplFacts {
                            shown_file: self.shown.to_string(),
                            ..facts
                        });
                    }
                }
                _ => {}
            }
        }
    }

    fn module(&mut self, decl: &Decl<'_>, module: &[String]) {
        let Some(name) = decl.name(self.src) else {
            return;
        };
        let mut inner = module.to_vec();
        inner.push(name.to_string());
        match decl.node.child_by_field_name("body") {
            Some(body) => self.container(body, &inner),
            None => {
                if let Some(file) = module_file(self.file, name) {
                    self.children.push((file, inner));
                }
            }
        }
    }
}

fn is_generated(text: &str) -> bool {
    let head = text.get(..text.len().min(512)).unwrap_or(text);
    GENERATED_MARKS.iter().any(|mark| head.contains(mark))
}

fn is_pub(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    let public = node
        .children(&mut cursor)
        .any(|c| c.kind() == "visibility_modifier");
    public
}
