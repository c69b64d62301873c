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
