//! One validated gen-tests proposal on a big real crate (issue 18): clap_builder 4.6.7 from
//! crates.io, ~25,000 lines, with a scripted model that answers at once with a good 3-test module
//! for `str_to_bool`, against the same edit made in place followed by `cargo test` of the crate's
//! lib tests. Both sides start warm: the in-place crate built as it is, kiln's build cache filled by
//! one unmeasured run (a user's second task on the same crate).
//!
//! kiln's time is everything a user waits for from start to diff: the copy, the build of the
//! candidate, its 3 re-runs, the mutant build and rounds, and the diff. The in-place side is what a
//! user who writes the same tests by hand waits for. The target is at most 2x.
//!
//! The crate comes from cargo's registry on this machine: kiln itself depends on this exact
//! version, so building kiln puts it there. Its dev-dependencies are dropped (they are not in the
//! registry, and its own tests are not part of the published crate), so both sides build the same
//! thing offline.
//!
//! Run: `cargo bench --bench real_crate [-- --smoke]`. `benches/run.sh` runs it in its full mode
//! only: the first build of clap_builder alone takes about a minute on 2 cores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{breakdown, Figure, Mode, Verdict};
use support::{KilnHomes, Reply, ScriptedServer};

const CRATE: &str = "clap_builder-4.6.7";
const FILE: &str = "src/util/str_to_bool.rs";
const TARGET_RATIO: f64 = 2.0;
const FULL_SAMPLES: usize = 3;

const TESTS: &str = "
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_literals_in_any_case() {
        for word in [\"y\", \"YES\", \"t\", \"True\", \"on\", \"1\"] {
            assert_eq!(str_to_bool(word), Some(true), \"{word}\");
        }
    }

    #[test]
    fn false_literals_in_any_case() {
        for word in [\"n\", \"No\", \"f\", \"FALSE\", \"off\", \"0\"] {
            assert_eq!(str_to_bool(word), Some(false), \"{word}\");
        }
    }

    #[test]
    fn anything_else_is_none() {
        assert_eq!(str_to_bool(\"maybe\"), None);
        assert_eq!(str_to_bool(\"\"), None);
    }
}
";

fn main() -> common::Result<()> {
    let mode = Mode::from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (figure, breakdown) = runtime.block_on(measure(mode))?;
    println!("{breakdown}");
    figure.print();
    Ok(())
}

async fn measure(mode: Mode) -> common::Result<(Figure<'static>, String)> {
    let dir = tempfile::tempdir()?;
    let krate = dir.path().join("clap_builder");
    let registry = registry()?;
    lay_out(&registry_source(&registry)?, &krate, &registry)?;
    let file = krate.join(FILE);
    let original = std::fs::read_to_string(&file)?;
    let edited = format!("{original}{TESTS}");
    cargo(&krate, &["generate-lockfile", "--offline"])?;
    cargo(&krate, &["test", "--lib", "--offline", "--no-run"])?;

    let mut in_place = Vec::new();
    for _ in 0..mode.samples(FULL_SAMPLES) {
        std::fs::write(&file, &original)?;
        cargo(&krate, &["test", "--lib", "--offline", "--no-run"])?;
        std::fs::write(&file, &edited)?;
        let started = Instant::now();
        cargo(&krate, &["test", "--lib", "--offline", "str_to_bool"])?;
        in_place.push(started.elapsed());
    }
    std::fs::write(&file, &original)?;

    let server = ScriptedServer::start().await;
    let homes = KilnHomes::new();
    let file_arg = file.to_string_lossy().into_owned();
    let propose = || async {
        server.push(Reply::tool_code(TESTS.trim_start()));
        let started = Instant::now();
        let output = homes
            .command(
                &server.base_url(),
                &[
                    "gen-tests",
                    &file_arg,
                    "--fn",
                    "str_to_bool",
                    "--dry-run",
                    "--json",
                ],
                &[],
            )
            .output()
            .await?;
        let wall = started.elapsed();
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
            format!(
                "kiln printed no JSON summary ({e}):\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        let kept = summary["validation"]["functions"][0]["kept"]
            .as_array()
            .map_or(0, Vec::len);
        if summary["outcome"] != "proposed" || kept != 3 {
            return Err(format!(
                "kiln did not propose the 3 tests (outcome {}, {kept} kept):\n{}",
                summary["outcome"],
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok::<_, Box<dyn std::error::Error>>((wall, summary["timings"].clone()))
    };
    // Fills kiln's build cache for this crate, as a user's first task on it would.
    propose().await?;
    let mut kiln_runs = Vec::new();
    for _ in 0..mode.samples(FULL_SAMPLES) {
        kiln_runs.push(propose().await?);
    }
    kiln_runs.sort_by_key(|(wall, _)| *wall);
    let (kiln_wall, timings) = kiln_runs[kiln_runs.len() / 2].clone();
    in_place.sort();
    let reference = in_place[in_place.len() / 2];
    let ratio = kiln_wall.as_secs_f64() / reference.as_secs_f64();
    let samples = |times: &[Duration]| {
        times
            .iter()
            .map(|t| format!("{:.2}", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kiln_walls: Vec<Duration> = kiln_runs.iter().map(|(wall, _)| *wall).collect();
    Ok((
        Figure {
            name: "one validated gen-tests proposal, clap_builder 4.6.7 (3 tests, mutants on)",
            measured: format!(
                "{:.2} s start to diff (runs {} s)",
                kiln_wall.as_secs_f64(),
                samples(&kiln_walls)
            ),
            reference: format!(
                "in-place edit + cargo test {:.2} s (runs {} s)",
                reference.as_secs_f64(),
                samples(&in_place)
            ),
            comparison: format!("{ratio:.1}x"),
            target: "<= 2x",
            verdict: Verdict::of(ratio <= TARGET_RATIO),
        },
        breakdown("clap_builder, median run", kiln_wall, None, &timings),
    ))
}

/// Cargo's registry: the crate's source is in `src/*/`, the downloaded crates in `cache/*/`.
fn registry() -> common::Result<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    Ok(cargo_home.join("registry"))
}

/// The crate's source in cargo's registry.
fn registry_source(registry: &Path) -> common::Result<PathBuf> {
    let sources = registry.join("src");
    for entry in std::fs::read_dir(&sources)? {
        let candidate = entry?.path().join(CRATE);
        if candidate.join("Cargo.toml").is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "{CRATE} is not in {}: build kiln first (it depends on this version)",
        sources.display()
    )
    .into())
}

/// Copies the published crate to `to` as a crate whose tests were removed (the corpus's
/// habit): no in-source tests, no dev-dependencies, no lock file.
fn lay_out(from: &Path, to: &Path, registry: &Path) -> common::Result<()> {
    copy_tree(from, to)?;
    strip_tests(&to.join("src"))?;
    let manifest = std::fs::read_to_string(from.join("Cargo.toml"))?;
    std::fs::write(
        to.join("Cargo.toml"),
        buildable_offline(&manifest, &registry.join("cache"))?,
    )?;
    let _ = std::fs::remove_file(to.join("Cargo.lock"));
    Ok(())
}

/// The manifest less what this machine's registry cannot resolve offline: the dev-dependencies,
/// and the optional dependencies no downloaded crate answers (with the features that need them).
/// The default features stay whole, so both sides build the crate as users get it.
fn buildable_offline(manifest: &str, cache: &Path) -> common::Result<String> {
    let mut manifest: toml::Table = manifest.parse()?;
    manifest.remove("dev-dependencies");
    let downloaded = downloaded_crates(cache)?;
    let mut removed: Vec<String> = Vec::new();
    if let Some(toml::Value::Table(dependencies)) = manifest.get_mut("dependencies") {
        dependencies.retain(|name, spec| {
            let optional = spec.get("optional").and_then(toml::Value::as_bool) == Some(true);
            let keep = !optional || downloaded.iter().any(|d| d == name);
            if !keep {
                removed.push(name.to_string());
            }
            keep
        });
    }
    if let Some(toml::Value::Table(features)) = manifest.get_mut("features") {
        loop {
            let needs_removed = |needs: &toml::Value| {
                needs.as_array().is_some_and(|needs| {
                    needs.iter().filter_map(toml::Value::as_str).any(|need| {
                        let name = need.trim_start_matches("dep:");
                        let name = name.split('/').next().unwrap_or(name);
                        removed.iter().any(|r| r == name.trim_end_matches('?'))
                    })
                })
            };
            let gone: Vec<String> = features
                .iter()
                .filter(|(_, needs)| needs_removed(needs))
                .map(|(name, _)| name.clone())
                .collect();
            if gone.is_empty() {
                break;
            }
            if gone.iter().any(|g| g == "default") {
                return Err("the crate's default features need a crate not downloaded here".into());
            }
            for name in gone {
                features.remove(&name);
                removed.push(name);
            }
        }
    }
    Ok(toml::to_string(&manifest)?)
}

/// Names of the crates in cargo's download cache (`NAME-VERSION.crate`).
fn downloaded_crates(cache: &Path) -> common::Result<Vec<String>> {
    let mut names = Vec::new();
    for index in std::fs::read_dir(cache)? {
        for file in std::fs::read_dir(index?.path())? {
            let file = file?.file_name().to_string_lossy().into_owned();
            if let Some(stem) = file.strip_suffix(".crate") {
                if let Some((name, _version)) = stem.rsplit_once('-') {
                    names.push(name.to_string());
                }
            }
        }
    }
    Ok(names)
}

/// Removes every `#[cfg(test)]` and `#[test]` item from the `.rs` files under `dir`: the
/// published crate's own unit tests need dev-dependencies this machine's registry lacks.
fn strip_tests(dir: &Path) -> common::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            strip_tests(&path)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)?;
            let stripped = without_test_items(&text)?;
            if stripped != text {
                std::fs::write(&path, stripped)?;
            }
        }
    }
    Ok(())
}

fn without_test_items(text: &str) -> common::Result<String> {
    let file = kiln::code::SourceFile::parse(text)?;
    let mut cuts: Vec<std::ops::Range<usize>> = Vec::new();
    let mut stack = vec![file.tree().root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        let children: Vec<_> = node.named_children(&mut cursor).collect();
        for (i, child) in children.iter().enumerate() {
            let attribute = &text[child.byte_range()];
            let is_test_gate = child.kind() == "attribute_item"
                && matches!(
                    attribute.replace(' ', "").as_str(),
                    "#[cfg(test)]" | "#[test]"
                );
            match children.get(i + 1) {
                Some(item) if is_test_gate && item.kind() != "attribute_item" => {
                    cuts.push(child.start_byte()..item.end_byte());
                }
                _ => stack.push(*child),
            }
        }
    }
    cuts.sort_by_key(|cut| std::cmp::Reverse(cut.start));
    let mut kept = text.to_string();
    let mut last_start = usize::MAX;
    for cut in cuts {
        // A cut inside one already made (a test inside a removed test module) is gone with it.
        if cut.end <= last_start {
            kept.replace_range(cut.clone(), "");
            last_start = cut.start;
        }
    }
    Ok(kept)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn cargo(dir: &Path, args: &[&str]) -> common::Result<()> {
    let output = Command::new("cargo").args(args).current_dir(dir).output()?;
    if !output.status.success() {
        return Err(format!(
            "cargo {} failed in {}:\n{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}
