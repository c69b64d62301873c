//! What `Sandbox::create` copies and what `write_file` accepts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::{self, File, FileTimes};
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{tiny_crate, write};
use kiln_sandbox::{Error, Sandbox, SandboxConfig};

#[test]
fn copy_skips_target_git_and_gitignored_paths() {
    let krate = tiny_crate("copied", "pub fn f() {}\n");
    let root = krate.path();
    write(root, ".gitignore", "/secret/\n*.log\n.env\nCargo.lock\n");
    write(root, "secret/key.txt", "hunter2");
    write(root, "debug.log", "noise");
    write(root, "src/deep/trace.log", "noise");
    write(root, ".env", "OPENAI_API_KEY=sk-leak");
    write(root, "target/debug/big.bin", "artifact");
    write(root, ".git/config", "[core]");
    write(root, "Cargo.lock", "# lock\nversion = 4\n");
    write(root, "data/keep.txt", "kept");
    write(root, "data/.gitignore", "*.tmp\n!important.tmp\n");
    write(root, "data/scratch.tmp", "dropped");
    write(root, "data/important.tmp", "kept");

    let sandbox = Sandbox::create(root, SandboxConfig::default()).unwrap();
    let copy = sandbox.crate_dir();

    for kept in [
        "Cargo.toml",
        "src/lib.rs",
        ".gitignore",
        "Cargo.lock",
        "data/keep.txt",
        "data/important.tmp",
    ] {
        assert!(copy.join(kept).is_file(), "{kept} was not copied");
    }
    for skipped in [
        "secret",
        "debug.log",
        "src/deep/trace.log",
        ".env",
        "target",
        ".git",
        "data/scratch.tmp",
    ] {
        assert!(!copy.join(skipped).exists(), "{skipped} was copied");
    }
    assert_eq!(
        fs::read_to_string(copy.join("src/lib.rs")).unwrap(),
        "pub fn f() {}\n"
    );
}

#[test]
fn dotenv_files_are_skipped_even_when_git_does_not_ignore_them() {
    let krate = tiny_crate("dotenv", "pub fn f() {}\n");
    let root = krate.path();
    for name in [".env", ".env.local", ".envrc", "config/.env.production"] {
        write(root, name, "OPENAI_API_KEY=sk-leak");
    }
    write(root, "config/app.toml", "kept = true");
    let sandbox = Sandbox::create(root, SandboxConfig::default()).unwrap();
    let copy = sandbox.crate_dir();
    for name in [".env", ".env.local", ".envrc", "config/.env.production"] {
        assert!(!copy.join(name).exists(), "{name} was copied");
    }
    assert!(copy.join("config/app.toml").is_file());
}

#[test]
fn symlinks_stay_links_and_only_those_into_the_crate_resolve_in_the_copy() {
    let krate = tiny_crate("linked", "pub fn f() {}\n");
    let outside = tempfile::tempdir().unwrap();
    let root = krate.path();
    write(outside.path(), "secret.txt", "hunter2");
    write(root, "data/real.txt", "inside");
    std::os::unix::fs::symlink("data/real.txt", root.join("relative")).unwrap();
    std::os::unix::fs::symlink(root.join("data/real.txt"), root.join("data/absolute")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("secrets")).unwrap();

    let sandbox = Sandbox::create(root, SandboxConfig::default()).unwrap();
    let copy = sandbox.crate_dir();
    for link in ["relative", "data/absolute", "secrets"] {
        let meta = fs::symlink_metadata(copy.join(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} is not a link");
    }
    // Into the crate: the copy's own file, wherever the user's link pointed.
    assert_eq!(
        fs::canonicalize(copy.join("data/absolute")).unwrap(),
        fs::canonicalize(copy.join("data/real.txt")).unwrap()
    );
    assert_eq!(fs::read_to_string(copy.join("relative")).unwrap(), "inside");
    // Out of it: kept as it was (the sandboxed run cannot read through it) and noted.
    assert_eq!(
        fs::read_link(copy.join("secrets")).unwrap(),
        outside.path().join("secret.txt")
    );
    let notes = sandbox.copy_notes().join("\n");
    assert!(notes.contains("secrets links outside the crate"), "{notes}");
    assert!(!notes.contains("relative"), "{notes}");
}

#[test]
fn hard_linked_files_are_copies_and_non_sources_among_them_are_left_out() {
    let krate = tiny_crate("hardlinked", "pub fn f() {}\n");
    let root = krate.path();
    let elsewhere = tempfile::tempdir_in(root.parent().unwrap()).unwrap();
    write(elsewhere.path(), "credentials", "aws_secret_access_key = x");
    write(elsewhere.path(), "shared.rs", "pub fn g() {}\n");
    fs::hard_link(elsewhere.path().join("credentials"), root.join("notes.txt")).unwrap();
    fs::hard_link(
        elsewhere.path().join("shared.rs"),
        root.join("src/shared.rs"),
    )
    .unwrap();

    let sandbox = Sandbox::create(root, SandboxConfig::default()).unwrap();
    let copy = sandbox.crate_dir();
    assert!(
        !copy.join("notes.txt").exists(),
        "a hard-linked non-source was copied"
    );
    let notes = sandbox.copy_notes().join("\n");
    assert!(notes.contains("notes.txt is not copied"), "{notes}");
    // A source is copied, as a file of its own: writing the copy leaves the user's file alone.
    fs::write(copy.join("src/shared.rs"), "changed").unwrap();
    assert_eq!(
        fs::read_to_string(elsewhere.path().join("shared.rs")).unwrap(),
        "pub fn g() {}\n"
    );
}

#[test]
fn copy_preserves_mtimes() {
    let krate = tiny_crate("timed", "pub fn f() {}\n");
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let file = File::options()
        .write(true)
        .open(krate.path().join("src/lib.rs"))
        .unwrap();
    file.set_times(FileTimes::new().set_modified(old)).unwrap();
    drop(file);

    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let copied = fs::metadata(sandbox.crate_dir().join("src/lib.rs")).unwrap();
    assert_eq!(copied.modified().unwrap(), old);
}

#[test]
fn create_refuses_a_directory_without_cargo_toml() {
    let dir = tempfile::tempdir().unwrap();
    let result = Sandbox::create(dir.path(), SandboxConfig::default());
    assert!(matches!(result, Err(Error::NotACrate(_))), "{result:?}");
}

#[test]
fn write_file_rejects_escapes_and_writes_inside() {
    let krate = tiny_crate("writable", "pub fn f() {}\n");
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let outside = sandbox.crate_dir().parent().unwrap().join("x");
    for bad in ["../x", "src/../../x", "/tmp/kiln-sandbox-escape-test"] {
        let result = sandbox.write_file(Path::new(bad), "pwned");
        assert!(
            matches!(result, Err(Error::PathEscapes(_))),
            "{bad}: {result:?}"
        );
    }
    assert!(!outside.exists());
    assert!(!Path::new("/tmp/kiln-sandbox-escape-test").exists());

    sandbox
        .write_file(Path::new("tests/generated.rs"), "#[test]\nfn t() {}\n")
        .unwrap();
    let written = fs::read_to_string(sandbox.crate_dir().join("tests/generated.rs")).unwrap();
    assert_eq!(written, "#[test]\nfn t() {}\n");
    assert!(!krate.path().join("tests/generated.rs").exists());
}

#[test]
fn dropping_the_sandbox_deletes_the_copy() {
    let krate = tiny_crate("dropped", "pub fn f() {}\n");
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let copy = sandbox.crate_dir().to_path_buf();
    assert!(copy.join("Cargo.toml").is_file());
    drop(sandbox);
    assert!(!copy.exists());
}
