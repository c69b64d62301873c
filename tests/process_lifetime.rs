//! Nothing kiln starts outlives kiln: the real binary, the real sandbox, the scripted model.
//!
//! Each test gives kiln a TMPDIR of its own. Every sandbox tempdir of the run lands there, and
//! every process of the run (cargo, rustc, build scripts, test binaries, whatever they fork) has
//! a TMPDIR below it in its environment: that is how the tests find the run's processes in
//! /proc, and how they check that no stale tempdir remains without racing other tests.
//!
//! kill -9 leaves kiln no chance to clean up: the sandbox must die with it (its pid namespace)
//! and the next run must remove its tempdir. SIGTERM and SIGHUP are caught: kiln stops the work
//! itself, gives the terminal back and exits 143 or 129.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    assert_terminal_restored, exit_and_stty, server_wanting_tests, start_gen_tests_on_mean_floor,
    tmux_missing, tui_command, DemoCrate, GitRepo, KilnHomes, Reply, ScriptedServer,
    MEAN_FLOOR_TESTS, POLL_MS, WAIT_LIMIT_SECS,
};

/// The issue asks that no process of the run remains within 2 s of kiln's death. The kernel
/// kills the pid namespace at once; this bound is far larger only because the machines running
/// the tests are shared and noisy. A poll, not a timing assertion: it returns as soon as the
/// processes are gone, and a failure says how long they had.
const GONE_LIMIT: Duration = Duration::from_secs(20);

/// A candidate for the demo's `mean_floor` whose test never ends.
const SPINS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_floor_spins_forever() {
        loop {
            std::hint::black_box(mean_floor(&[1]));
        }
    }
}
";

/// A candidate whose test starts a daemon in a session of its own (out of cargo's process
/// group), then spins.
const FORKS_A_DAEMON: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_floor_with_a_daemon_beside_it() {
        std::process::Command::new(\"setsid\")
            .args([\"-f\", \"sleep\", \"1000\"])
            .status()
            .unwrap();
        loop {
            std::hint::black_box(mean_floor(&[1]));
        }
    }
}
";

/// A build script that waits to be killed the first time it runs against a build cache, and
/// then never again: the next round finds the half-done build in the cache. The flag lives at
/// the top of the target dir (`OUT_DIR` is `<target>/debug/build/<unit>/out`).
const BUILD_WAITS_TO_BE_KILLED: &str = "fn main() {
    let out = std::path::PathBuf::from(std::env::var_os(\"OUT_DIR\").unwrap());
    let flag = out.ancestors().nth(4).unwrap().join(\"kiln-test-build-started\");
    if !flag.exists() {
        std::fs::write(&flag, \"\").unwrap();
        std::thread::sleep(std::time::Duration::from_secs(1000));
    }
}
";

/// A private TMPDIR for one test's kiln runs; on drop, kills whatever of the runs still lives,
/// so a failing test leaves no spinning process on a shared machine.
struct RunTmp {
    _dir: tempfile::TempDir,
    /// Canonical: the sandbox puts canonical paths in its runs' environment.
    path: PathBuf,
}

/// A process of the run, as found in /proc.
#[derive(Debug)]
struct RunProcess {
    pid: u32,
    cmdline: String,
}

impl RunTmp {
    fn new() -> RunTmp {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap();
        RunTmp { _dir: dir, path }
    }

    fn env(&self) -> (&str, &str) {
        ("TMPDIR", self.path.to_str().unwrap())
    }

    /// The sandbox tempdirs in it.
    fn sandboxes(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.path)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("kiln-sandbox-"))
            })
            .collect()
    }

    /// Every live process whose TMPDIR is this dir or below it: kiln and all of its run.
    fn processes(&self) -> Vec<RunProcess> {
        let wanted = format!("TMPDIR={}", self.path.display());
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            // Gone meanwhile, or a zombie (whose environment reads empty): not alive.
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let ours = environ
                .split(|b| *b == 0)
                .any(|var| var.starts_with(wanted.as_bytes()));
            if ours {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                found.push(RunProcess {
                    pid,
                    cmdline: String::from_utf8_lossy(&cmdline).replace('\0', " "),
                });
            }
        }
        found
    }

    /// Waits for a process of the run that `matches` its command line; `what` names it.
    async fn wait_for(&self, what: &str, matches: impl Fn(&str) -> bool) -> RunProcess {
        let started = Instant::now();
        loop {
            if let Some(process) = self.processes().into_iter().find(|p| matches(&p.cmdline)) {
                return process;
            }
            assert!(
                started.elapsed() < Duration::from_secs(WAIT_LIMIT_SECS),
                "no {what} within {WAIT_LIMIT_SECS} s; the run has {:#?}",
                self.processes()
            );
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }

    /// After a stop kiln handled itself (a signal): no process of the run, and no tempdir.
    async fn assert_stopped_cleanly(&self) {
        self.assert_no_process_remains().await;
        assert_eq!(
            self.sandboxes(),
            Vec::<PathBuf>::new(),
            "kiln removes its own tempdir"
        );
    }

    async fn assert_no_process_remains(&self) {
        let started = Instant::now();
        loop {
            let left = self.processes();
            if left.is_empty() {
                return;
            }
            assert!(
                started.elapsed() < GONE_LIMIT,
                "{:?} after kiln ended, the run still has {left:#?}",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for RunTmp {
    fn drop(&mut self) {
        for process in self.processes() {
            signal(process.pid, "KILL");
        }
    }
}

fn signal(pid: u32, name: &str) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

/// The test binary cargo runs, `<target>/debug/deps/<crate>-<hash>`.
fn is_test_binary(cmdline: &str) -> bool {
    cmdline
        .split(' ')
        .next()
        .is_some_and(|arg0| arg0.contains("/deps/"))
}

fn gen_tests_args(demo: &DemoCrate) -> Vec<String> {
    [
        "gen-tests",
        demo.lib_rs().to_str().unwrap(),
        "--fn",
        "mean_floor",
        "--tier",
        "mini",
        "--max-attempts",
        "1",
        "--dry-run",
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

/// Starts gen-tests on `demo` with `candidate` as the model's answer, waits for the process of
/// the run that `running` matches, kills kiln with SIGKILL and checks that the whole run died.
async fn kill_9_while(
    tmp: &RunTmp,
    homes: &KilnHomes,
    demo: &DemoCrate,
    candidate: &str,
    running: (&str, fn(&str) -> bool),
) {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(candidate));
    let args = gen_tests_args(demo);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut kiln = homes
        .command(&server.base_url(), &args, &[tmp.env()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (what, matches) = running;
    tmp.wait_for(what, matches).await;
    signal(kiln.id().unwrap(), "KILL");
    kiln.wait().await.unwrap();
    tmp.assert_no_process_remains().await;
    assert!(
        !tmp.sandboxes().is_empty(),
        "kill -9 gives kiln no chance to remove its tempdir: the next run has to"
    );
}

/// Another gen-tests run on `demo` with the same cache and TMPDIR must pass, and must leave no
/// sandbox tempdir behind: not its own, not one a killed run left.
async fn next_run_succeeds(tmp: &RunTmp, homes: &KilnHomes, demo: &DemoCrate) {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(MEAN_FLOOR_TESTS));
    let args = gen_tests_args(demo);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run: support::Run = homes
        .command(&server.base_url(), &args, &[tmp.env()])
        .output()
        .await
        .unwrap()
        .into();
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["outcome"], "proposed", "{}", run.describe());
    assert_eq!(
        tmp.sandboxes(),
        Vec::<PathBuf>::new(),
        "stale sandbox tempdirs"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_spinning_test_ends_the_run_and_the_next_run_removes_its_tempdir() {
    let (tmp, homes, demo) = (RunTmp::new(), KilnHomes::new(), DemoCrate::new());
    kill_9_while(
        &tmp,
        &homes,
        &demo,
        SPINS,
        ("spinning test binary", is_test_binary),
    )
    .await;
    next_run_succeeds(&tmp, &homes, &demo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setsid_daemon_of_a_candidate_dies_with_a_killed_kiln() {
    let (tmp, homes, demo) = (RunTmp::new(), KilnHomes::new(), DemoCrate::new());
    let daemon = (
        "daemon",
        (|cmdline: &str| cmdline.trim_end() == "sleep 1000") as fn(&str) -> bool,
    );
    kill_9_while(&tmp, &homes, &demo, FORKS_A_DAEMON, daemon).await;
    next_run_succeeds(&tmp, &homes, &demo).await;
}

/// kiln killed while the untouched crate builds into the shared build cache: the next round
/// finds a build cut off halfway in that cache, and must still build and pass.
#[tokio::test(flavor = "multi_thread")]
async fn a_build_killed_halfway_does_not_poison_the_build_cache() {
    let (tmp, homes, demo) = (RunTmp::new(), KilnHomes::new(), DemoCrate::new());
    demo.write("build.rs", BUILD_WAITS_TO_BE_KILLED);
    let build_script = (
        "build script",
        (|cmdline: &str| cmdline.contains("build-script-build")) as fn(&str) -> bool,
    );
    kill_9_while(&tmp, &homes, &demo, SPINS, build_script).await;
    next_run_succeeds(&tmp, &homes, &demo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_a_one_shot_command_cleanly_with_143() {
    let (tmp, homes, demo) = (RunTmp::new(), KilnHomes::new(), DemoCrate::new());
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(SPINS));
    let args = gen_tests_args(&demo);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let kiln = homes
        .command(&server.base_url(), &args, &[tmp.env()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tmp.wait_for("spinning test binary", is_test_binary).await;
    signal(kiln.id().unwrap(), "TERM");
    let run: support::Run = kiln.wait_with_output().await.unwrap().into();
    assert_eq!(run.code, Some(143), "{}", run.describe());
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["outcome"], "interrupted", "{}", run.describe());
    assert_eq!(
        json["message"],
        "terminated (SIGTERM); nothing was written",
        "{}",
        run.describe()
    );
    tmp.assert_stopped_cleanly().await;
    assert_eq!(
        demo.read_lib(),
        std::fs::read_to_string("assets/demo/src/lib.rs").unwrap()
    );
    next_run_succeeds(&tmp, &homes, &demo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_to_the_tui_stops_its_task_gives_the_terminal_back_and_exits_129() {
    if tmux_missing() {
        return;
    }
    let (tmp, homes, demo) = (RunTmp::new(), KilnHomes::new(), DemoCrate::new());
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(SPINS));
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let env = [
        tmp.env(),
        ("KILN_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    let command = tui_command(&server.base_url(), demo.dir.path(), out.path(), &env);
    let tmux = tokio::task::spawn_blocking(move || start_gen_tests_on_mean_floor(&command))
        .await
        .unwrap();
    tmp.wait_for("spinning test binary", is_test_binary).await;
    let kiln_binary = env!("CARGO_BIN_EXE_kiln");
    let tui = tmp
        .wait_for("kiln tui", |cmdline| cmdline.starts_with(kiln_binary))
        .await;
    signal(tui.pid, "HUP");
    let out_dir = out.path().to_path_buf();
    let (exit, stty) = tokio::task::spawn_blocking(move || exit_and_stty(&out_dir))
        .await
        .unwrap();
    assert_eq!(exit, "129", "{}", tmux.screen());
    assert_terminal_restored(&stty);
    tmp.assert_stopped_cleanly().await;
    drop(tmux);
    next_run_succeeds(&tmp, &homes, &demo).await;
}

/// What the hook leaves under `.git/kiln/`.
fn kiln_dir_entries(repo: &GitRepo) -> Vec<String> {
    match std::fs::read_dir(repo.path(".git/kiln")) {
        Ok(entries) => entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_to_the_hook_exits_143_saves_nothing_and_the_next_commit_goes_through() {
    let tmp = RunTmp::new();
    let repo = GitRepo::with_double_staged();
    let server = ScriptedServer::start().await;
    server.push(Reply::text("{\"answer\": \"yes\"}"));
    server.push(Reply::tool_code(&support::DOUBLE_TESTS.replace(
        "assert_eq!(double(21), 42);",
        "loop { std::hint::black_box(double(21)); }",
    )));
    let hook = repo
        .kiln_command(&server.base_url(), &["hook", "run"], &[tmp.env()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tmp.wait_for("spinning test binary", is_test_binary).await;
    signal(hook.id().unwrap(), "TERM");
    let run: support::Run = hook.wait_with_output().await.unwrap().into();
    assert_eq!(run.code, Some(143), "{}", run.describe());
    assert!(
        run.stderr
            .contains("terminated (SIGTERM); nothing was written"),
        "{}",
        run.describe()
    );
    tmp.assert_stopped_cleanly().await;
    assert_eq!(
        kiln_dir_entries(&repo),
        Vec::<String>::new(),
        "no checkout, no patch, no temp file"
    );

    repo.install_hook(&[]).await;
    let before = repo.head();
    let server = server_wanting_tests().await;
    let commit = repo
        .commit(&server.base_url(), &["-q", "-m", "double"], &[tmp.env()])
        .await;
    assert_eq!(commit.code, Some(0), "{}", commit.describe());
    assert_ne!(repo.head(), before, "the commit went through");
    assert!(repo.path(".git/kiln/src__lib.rs.patch").exists());
    assert_eq!(tmp.sandboxes(), Vec::<PathBuf>::new());
}
