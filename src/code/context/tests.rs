#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::code::list_fns;
use pretty_assertions::assert_eq;

/// A ~300-line file: the target `Inventory::restock` uses `Item`, calls `clamp_qty` and
/// mentions `MAX_QTY`; everything else is noise the context must leave out.
fn big_file() -> String {
    let mut src = String::from(
        "//! Inventory management.\n\
         use std::collections::HashMap;\n\
         use std::fmt;\n\
         \n\
         /// Largest quantity a slot may hold.\n\
         pub const MAX_QTY: u32 = 999;\n\
         const UNUSED_LIMIT: u32 = 5;\n\
         \n\
         /// A stock-keeping unit.\n\
         #[derive(Debug, Clone, PartialEq)]\n\
         pub struct Item {\n    pub name: String,\n    pub qty: u32,\n    pub kind: Kind,\n}\n\
         \n\
         #[derive(Debug, Clone, Copy, PartialEq)]\n\
         pub enum Kind {\n    Tool,\n    Part,\n}\n\
         \n\
         pub struct Unrelated {\n    pub blob: Vec<u8>,\n}\n\
         \n\
         /// Keeps a quantity within bounds.\n\
         fn clamp_qty(qty: u32) -> u32 {\n    let secret_body_marker = qty.min(MAX_QTY);\n    secret_body_marker\n}\n\
         \n",
    );
    for i in 0..40 {
        src.push_str(&format!(
            "pub fn filler_{i}(x: u32) -> u32 {{\n    let y = x + {i};\n    y * 2\n}}\n\n"
        ));
    }
    src.push_str(
        "pub struct Inventory {\n    items: HashMap<String, Item>,\n}\n\
         \n\
         impl Inventory {\n\
         \x20   pub fn new() -> Self {\n        Inventory { items: HashMap::new() }\n    }\n\
         \n\
         \x20   pub fn len(&self) -> usize {\n        self.items.len()\n    }\n\
         \n\
         \x20   /// Adds `qty` units, never beyond [`MAX_QTY`].\n\
         \x20   pub fn restock(&mut self, item: Item, qty: u32) -> u32 {\n\
         \x20       let entry = self.items.entry(item.name.clone()).or_insert(item);\n\
         \x20       entry.qty = clamp_qty(entry.qty + qty);\n\
         \x20       entry.qty\n\
         \x20   }\n\
         }\n\
         \n\
         impl fmt::Display for Inventory {\n\
         \x20   fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n        write!(f, \"{}\", self.len())\n    }\n\
         }\n",
    );
    while src.lines().count() < 300 {
        src.push_str("\n// padding\n");
    }
    src
}

fn restock_context() -> (String, String) {
    let src = big_file();
    let file = SourceFile::parse(&src).unwrap();
    let targets: Vec<FnItem> = list_fns(&file)
        .into_iter()
        .filter(|f| f.qualified_name == "Inventory::restock")
        .collect();
    assert_eq!(targets.len(), 1);
    let ctx = context_for(&file, &targets, 200);
    (src, ctx)
}

#[test]
fn big_file_context_is_minimal_and_complete() {
    let (src, ctx) = restock_context();
    let expected = "\
use std::collections::HashMap;
use std::fmt;

/// Largest quantity a slot may hold.
pub const MAX_QTY: u32 = 999;

// ...

/// A stock-keeping unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub name: String,
    pub qty: u32,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Tool,
    Part,
}

// ...

/// Keeps a quantity within bounds.
fn clamp_qty(qty: u32) -> u32 {
    // ...
}

// ...

pub struct Inventory {
    items: HashMap<String, Item>,
}

impl Inventory {
    pub fn new() -> Self {
        // ...
    }

    // ...

    /// Adds `qty` units, never beyond [`MAX_QTY`].
    pub fn restock(&mut self, item: Item, qty: u32) -> u32 {
        let entry = self.items.entry(item.name.clone()).or_insert(item);
        entry.qty = clamp_qty(entry.qty + qty);
        entry.qty
    }
}

// ...
";
    assert_eq!(ctx, expected);
    assert!(ctx.lines().count() * 4 < src.lines().count());
}

#[test]
fn big_file_context_leaves_out_bodies_and_noise() {
    let (_, ctx) = restock_context();
    assert!(
        !ctx.contains("secret_body_marker"),
        "helper body must be elided"
    );
    assert!(!ctx.contains("Unrelated"));
    assert!(!ctx.contains("UNUSED_LIMIT"));
    assert!(!ctx.contains("filler_"));
    assert!(!ctx.contains("impl fmt::Display"));
}

#[test]
fn short_file_is_returned_whole() {
    let src = "use std::io;\n\nfn a() -> u8 { 1 }\nfn b() -> u8 { a() }\n";
    let file = SourceFile::parse(src).unwrap();
    let targets = list_fns(&file);
    assert_eq!(context_for(&file, &targets[1..], 200), src);
    // The threshold is what decides: the same file over a tiny limit gets trimmed.
    assert_eq!(
        context_for(&file, &targets[1..], 2),
        "use std::io;\n\nfn a() -> u8 {\n    // ...\n}\n\nfn b() -> u8 { a() }\n"
    );
}

#[test]
fn trait_impl_target_shows_trait_outline_and_nested_module_path() {
    let src = "\
pub trait Shape {
    /// Area in square units.
    fn area(&self) -> f64;
    fn describe(&self) -> String {
        format!(\"area {}\", self.area())
    }
}

mod shapes {
    use super::Shape;

    pub struct Square(pub f64);

    fn unrelated() {}

    impl Shape for Square {
        fn area(&self) -> f64 {
            self.0 * self.0
        }
    }
}

#[cfg(test)]
mod tests {
    pub struct Square;
}
";
    let file = SourceFile::parse(src).unwrap();
    let targets: Vec<FnItem> = list_fns(&file)
        .into_iter()
        .filter(|f| f.qualified_name == "shapes::Square::area")
        .collect();
    let ctx = context_for(&file, &targets, 0);
    let expected = "\
pub trait Shape {
    /// Area in square units.
    fn area(&self) -> f64;

    fn describe(&self) -> String {
        // ...
    }
}

mod shapes {
    use super::Shape;

    pub struct Square(pub f64);

    // ...

    impl Shape for Square {
        fn area(&self) -> f64 {
            self.0 * self.0
        }
    }
}

// ...
";
    assert_eq!(ctx, expected);
}

#[test]
fn no_targets_gives_only_imports() {
    let src = "use a::b;\nfn x() {}\nfn y() {}\n";
    let file = SourceFile::parse(src).unwrap();
    assert_eq!(context_for(&file, &[], 1), "use a::b;\n\n// ...\n");
}

#[test]
fn macro_and_static_mentions_are_included() {
    let src = "\
macro_rules! square {
    ($x:expr) => {
        $x * $x
    };
}
static COUNTER: u8 = 0;
static OTHER: u8 = 0;
fn target() -> u8 {
    square!(COUNTER)
}
";
    let file = SourceFile::parse(src).unwrap();
    let targets = list_fns(&file);
    let ctx = context_for(&file, &targets, 1);
    assert!(ctx.contains("macro_rules! square"));
    assert!(ctx.contains("static COUNTER: u8 = 0;"));
    assert!(!ctx.contains("OTHER"));
}

/// `x.apply()` names no type: only the `apply` of a type the target mentions is shown, unless
/// the name is unique in the file.
#[test]
fn method_calls_bring_in_only_methods_of_mentioned_types() {
    let mut src = String::new();
    for i in 0..60 {
        src.push_str(&format!(
            "pub struct Stage{i};\nimpl Stage{i} {{\n    pub fn apply(&self, x: u32) -> u32 {{ x + {i} }}\n}}\n\n"
        ));
    }
    src.push_str(
        "pub struct Unique;\nimpl Unique {\n    pub fn only_here(&self) -> u8 { 1 }\n}\n\n\
         pub fn run(stage: &Stage7, u: &Unique, x: u32) -> u32 {\n    stage.apply(x) + u32::from(u.only_here())\n}\n",
    );
    let file = SourceFile::parse(&src).unwrap();
    let targets: Vec<FnItem> = list_fns(&file)
        .into_iter()
        .filter(|f| f.name == "run")
        .collect();
    let context = context_for(&file, &targets, 200);
    assert_eq!(context.matches("fn apply").count(), 1, "{context}");
    assert!(context.contains("impl Stage7"), "{context}");
    assert!(
        context.contains("fn only_here"),
        "a unique method name needs no type: {context}"
    );
}
