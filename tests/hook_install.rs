//! `kiln hook install/uninstall`, and a real `git commit` running the installed hook.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{server_wanting_tests, GitRepo, LIB_WITH_DOUBLE};

const FOREIGN: &str = "#!/bin/sh\necho someone else's hook\n";
/// Nothing listens on port 1: a request there fails at once.
const NO_SERVER: &str = "http://127.0.0.1:1/v1";

#[tokio::test]
async fn install_and_uninstall_round_trip_without_a_previous_hook() {
    let repo = GitRepo::new();
    let run = repo.kiln(NO_SERVER, &["hook", "install"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let hook = repo.path(".git/hooks/pre-commit");
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.contains("hook run --mode warn"), "{script}");
    assert_ne!(
        std::fs::metadata(&hook).unwrap().permissions().mode() & 0o111,
        0
    );

    // Installing again updates kiln's own hook in place.
    let run = repo
        .kiln(NO_SERVER, &["hook", "install", "--mode", "block"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("--mode block"));

    let run = repo.kiln(NO_SERVER, &["hook", "uninstall"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(!hook.exists());
    let run = repo.kiln(NO_SERVER, &["hook", "uninstall"], &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
}

#[tokio::test]
async fn a_foreign_hook_is_refused_then_kept_as_a_backup_and_restored() {
    let repo = GitRepo::new();
    repo.write(".git/hooks/pre-commit", FOREIGN);
    let hook = repo.path(".git/hooks/pre-commit");

    let run = repo.kiln(NO_SERVER, &["hook", "install"], &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("--force"), "{}", run.describe());
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), FOREIGN);
    let run = repo.kiln(NO_SERVER, &["hook", "uninstall"], &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), FOREIGN);

    let run = repo
        .kiln(NO_SERVER, &["hook", "install", "--force"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(std::fs::read_to_string(&hook).unwrap().contains("kiln"));
    assert_eq!(repo.read(".git/hooks/pre-commit.kiln-backup"), FOREIGN);

    let run = repo.kiln(NO_SERVER, &["hook", "uninstall"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), FOREIGN);
    assert!(!repo.path(".git/hooks/pre-commit.kiln-backup").exists());
}

#[tokio::test]
async fn git_commit_runs_the_installed_hook_end_to_end() {
    let repo = GitRepo::with_double_staged();
    repo.install_hook(&[]).await;
    let server = server_wanting_tests().await;
    let before = repo.head();

    let run = repo
        .commit(&server.base_url(), &["-q", "-m", "double"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_ne!(repo.head(), before, "warn mode lets the commit through");
    assert!(run.stderr.contains("kiln apply"), "{}", run.describe());
    assert!(repo.path(".git/kiln/src__lib.rs.patch").is_file());
    assert_eq!(
        server.chat_requests().len(),
        3,
        "nano gate, tests, docs: {}",
        run.describe()
    );
    assert_eq!(repo.read("src/lib.rs"), LIB_WITH_DOUBLE);
}

#[tokio::test]
async fn block_mode_stops_a_commit_and_no_verify_or_kiln_skip_pass_it_without_a_request() {
    let repo = GitRepo::with_double_staged();
    repo.install_hook(&["--mode", "block", "--strict"]).await;
    let script = repo.read(".git/hooks/pre-commit");
    assert!(
        script.contains("hook run --mode block --strict"),
        "{script}"
    );
    let server = server_wanting_tests().await;
    let before = repo.head();

    let run = repo
        .commit(&server.base_url(), &["-q", "-m", "double"], &[])
        .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert_eq!(repo.head(), before, "the commit was stopped");
    assert!(run.stderr.contains("commit stopped"), "{}", run.describe());
    let requests = server.requests().len();

    let run = repo
        .commit(
            &server.base_url(),
            &["-q", "-m", "skip", "--no-verify"],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_ne!(repo.head(), before);

    repo.write(
        "src/lib.rs",
        &format!("{LIB_WITH_DOUBLE}\npub fn triple(x: i32) -> i32 {{ x * 3 }}\n"),
    );
    repo.git(&["add", "src/lib.rs"]);
    let run = repo
        .commit(
            &server.base_url(),
            &["-q", "-m", "t"],
            &[("KILN_SKIP", "1")],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(server.requests().len(), requests, "skips make no request");
}

#[tokio::test]
async fn a_merge_commit_and_a_deleted_file_do_not_crash_the_hook() {
    let repo = GitRepo::new();
    repo.install_hook(&["--mode", "block"]).await;
    repo.write("src/extra.rs", "pub fn extra() {}\n");
    repo.git(&["add", "src/extra.rs"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "extra"]);

    repo.git(&["rm", "-q", "src/extra.rs"]);
    let run = repo.commit(NO_SERVER, &["-q", "-m", "delete"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());

    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("README.md", "side\n");
    repo.git(&["add", "README.md"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "side"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("NOTES.md", "main\n");
    repo.git(&["add", "NOTES.md"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    let run = repo.commit(NO_SERVER, &["-q", "--no-edit"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(
        repo.git(&["rev-list", "--parents", "-n", "1", "HEAD"])
            .split_whitespace()
            .count(),
        3
    );
}
