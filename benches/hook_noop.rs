//! `kiln hook run` on the fast path, as a commit sees it: the median wall time of the real
//! binary in a real git repository. Prints each case beside its target; asserts nothing, since
//! timing depends on the machine.
//!
//! Run with `cargo bench --bench hook_noop`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 31;
const NO_RUST_TARGET_MS: u128 = 30;
const ONE_FN_TARGET_MS: u128 = 60;
/// The large file: this many functions of 4 lines and a test module calling each of them.
const FUNCTIONS: usize = 200;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status();
    assert!(status.is_ok_and(|s| s.success()), "git {args:?} failed");
}

/// A file of about 2,000 lines where every function has a doc and a test; `body` is the
/// expression of `f0`, the one function a commit changes.
fn large_file(body: &str) -> String {
    let mut text = String::new();
    for n in 0..FUNCTIONS {
        let expr = if n == 0 {
            body.to_string()
        } else {
            format!("x + {n}")
        };
        text.push_str(&format!(
            "/// Adds {n}.\npub fn f{n}(x: i32) -> i32 {{\n    {expr}\n}}\n\n"
        ));
    }
    text.push_str("#[cfg(test)]\nmod tests {\n    use super::*;\n\n");
    for n in 0..FUNCTIONS {
        text.push_str(&format!(
            "    #[test]\n    fn adds_{n}() {{\n        assert_eq!(f{n}(1), 1 + {n});\n    }}\n\n"
        ));
    }
    text.push_str("}\n");
    text
}

fn median_run(dir: &Path) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
                .args(["hook", "run", "--mode", "block"])
                .current_dir(dir)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
                .output();
            let took = started.elapsed();
            assert!(
                out.as_ref()
                    .is_ok_and(|o| o.status.success() && o.stderr.is_empty()),
                "not the fast path: {out:?}"
            );
            took
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn main() {
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("cannot create a temp dir");
        return;
    };
    let dir = dir.path();
    git(dir, &["init", "-q"]);
    std::fs::create_dir_all(dir.join("src")).ok();
    let written = std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .and_then(|()| std::fs::write(dir.join("src/lib.rs"), large_file("x")));
    assert!(written.is_ok(), "cannot write the crate");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "start"]);
    let lines = large_file("x").lines().count();

    let _ = std::fs::write(dir.join("README.md"), "no Rust here\n");
    git(dir, &["add", "README.md"]);
    let no_rust = median_run(dir);
    println!(
        "hook no-op, no .rs staged:                 median {:>4} ms (target < {NO_RUST_TARGET_MS} ms)",
        no_rust.as_millis()
    );

    let _ = std::fs::write(dir.join("src/lib.rs"), large_file("x + 0 * 2"));
    git(dir, &["add", "src/lib.rs"]);
    let one_fn = median_run(dir);
    println!(
        "hook, one tested fn changed in {lines} lines: median {:>4} ms (target < {ONE_FN_TARGET_MS} ms)",
        one_fn.as_millis()
    );
}
