//! Running the test binaries of an earlier build again without cargo.
//!
//! kiln re-runs the same text several times (flakiness re-runs, mutant rounds that differ only
//! by an environment variable). Nothing is compiled then, but cargo still starts up and walks
//! its fingerprints: 25-60 ms a run. As cargo-mutants and nextest do, a re-run instead starts
//! the test executables the last build produced, each as cargo would: in the same confinement
//! (see [`crate::run::run_confined`]), with the environment and working directory cargo gives
//! it, in cargo's order, stopping after the first that fails.

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use tokio::process::Command;
use tokio::time::Instant;

use crate::collect::{Collector, Termination};
use crate::confine::view::c_path;
use crate::confine::Confinement;
use crate::diagnostics::{BuildScriptOutput, TestArtifact};
use crate::report::RunReport;
use crate::run::{confined_command, prepare_confinement, run_confined, RunPlan};
use crate::{Error, Progress, Result, TestArgs};

/// What a build produced to be run as tests, gathered from cargo's JSON messages as they come.
#[derive(Debug, Default)]
pub(crate) struct BuiltTests {
    artifacts: Vec<TestArtifact>,
    scripts: Vec<BuildScriptOutput>,
}

impl BuiltTests {
    pub(crate) fn artifact(&mut self, artifact: TestArtifact) {
        self.artifacts.push(artifact);
    }

    pub(crate) fn build_script(&mut self, output: BuildScriptOutput) {
        self.scripts.push(output);
    }
}

/// One test executable, ready to be started as cargo starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestBinary {
    /// As the run sees it.
    executable: PathBuf,
    /// Of the file the host finds behind `executable` when it was recorded.
    identity: FileIdentity,
    /// What cargo's `Running` line says, e.g. `unittests src/lib.rs (/t/debug/deps/x-1a)`.
    display: String,
    /// What cargo's `error: test failed, to rerun pass ...` says, e.g. `--lib`.
    rerun: String,
    /// The package root as the run sees it: cargo's working directory for the test.
    cwd: PathBuf,
    /// What cargo sets on top of the environment it inherited.
    env: Vec<(String, String)>,
}

/// The test binaries of one successful cargo build in a [`crate::Sandbox`], and what they are a
/// build of: the copy's generation (see [`crate::Sandbox::write_file`]), the target flags and the
/// sandbox's cargo arguments.
///
/// The rule: *the recorded binaries are exactly a build of the copy as it is now, so running
/// them is the same as cargo's run minus cargo's fingerprint check.* So anything that changes the
/// copy bumps its generation, and a record of another generation, other flags or other cargo
/// arguments is never run. A binary whose file changed since (another sandbox's build rewrote
/// the shared cache, or a test overwrote it) or that cannot be started sends the run to cargo.
/// What a test itself writes into the copy's sources is not tracked: a run that rewrites its own
/// sources was free to differ from one run to the next anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) generation: u64,
    pub(crate) target_flags: Vec<String>,
    pub(crate) cargo_args: Vec<String>,
    pub(crate) binaries: Vec<TestBinary>,
}

impl Recorded {
    pub(crate) fn stands_for(
        &self,
        generation: u64,
        args: &TestArgs,
        cargo_args: &[String],
    ) -> bool {
        self.generation == generation
            && self.target_flags == args.target_flags
            && self.cargo_args == cargo_args
    }
}

/// `(device, inode, size, mtime)`: a rebuilt or replaced file differs in one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity(u64, u64, u64, i64, i64);

impl FileIdentity {
    fn of(path: &Path) -> Option<FileIdentity> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileIdentity(
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec(),
        ))
    }
}

/// The binaries of a run that built `built` successfully, in the order cargo runs them, or
/// `None` when they cannot stand in for cargo's run: cargo would also run doc-tests (which need
/// rustdoc), a cargo config could change how tests are started (`[env]`, a `runner`), or a file
/// is not there.
pub(crate) fn record(
    built: BuiltTests,
    plan: &RunPlan<'_>,
    args: &TestArgs,
    confinement: &Confinement,
) -> Option<Vec<TestBinary>> {
    if may_run_doc_tests(&args.target_flags) || cargo_config_in_sight(plan, confinement) {
        return None;
    }
    let cargo_cwd = confinement.relocated_to().unwrap_or(plan.crate_dir);
    let spec_flag = args
        .target_flags
        .iter()
        .any(|flag| flag == "-p" || flag.starts_with("--package"));
    let mut artifacts = built.artifacts;
    artifacts.sort_by_cached_key(cargo_order);
    artifacts
        .into_iter()
        .map(|artifact| {
            let identity = FileIdentity::of(&confinement.host_path(&artifact.executable))?;
            Some(binary(
                artifact,
                identity,
                &built.scripts,
                cargo_cwd,
                spec_flag,
            ))
        })
        .collect()
}

/// Target selections that run no doc-tests; without one (cargo's default) or with `--doc`, cargo
/// runs them.
fn may_run_doc_tests(target_flags: &[String]) -> bool {
    const SELECTIONS: &[&str] = &[
        "--lib",
        "--bin",
        "--bins",
        "--test",
        "--tests",
        "--bench",
        "--benches",
        "--example",
        "--examples",
        "--all-targets",
    ];
    let selects = |flag: &String| {
        SELECTIONS
            .iter()
            .any(|s| flag == s || flag.strip_prefix(s).is_some_and(|r| r.starts_with('=')))
    };
    target_flags.iter().any(|flag| flag == "--doc") || !target_flags.iter().any(selects)
}

/// A cargo config that the run's cargo could read: in a directory above the copy, or (where the
/// run has no filesystem view of its own, which hides it) in `CARGO_HOME`.
fn cargo_config_in_sight(plan: &RunPlan<'_>, confinement: &Confinement) -> bool {
    let mut dirs: Vec<PathBuf> = plan
        .crate_dir
        .ancestors()
        .map(|d| d.join(".cargo"))
        .collect();
    if !confinement.has_view() {
        dirs.extend(crate::env::cargo_home_from_process());
    }
    dirs.iter()
        .any(|dir| dir.join("config.toml").exists() || dir.join("config").exists())
}

/// cargo sorts its test units before running them: by package (name, then version), then target
/// kind (lib, bin, test, bench, example), then target name.
fn cargo_order(artifact: &TestArtifact) -> (String, (u64, u64, u64, String), u8, String) {
    let (name, version) = package_name_and_version(artifact);
    let kind = match artifact.kind.first().map(String::as_str) {
        Some("bin") => 1,
        Some("test") => 2,
        Some("bench") => 3,
        Some("example") if artifact.crate_types.iter().any(|t| t == "bin") => 5,
        Some("example") => 4,
        _ => 0,
    };
    (name, version.numbers(), kind, artifact.name.clone())
}

fn binary(
    artifact: TestArtifact,
    identity: FileIdentity,
    scripts: &[BuildScriptOutput],
    cargo_cwd: &Path,
    spec_flag: bool,
) -> TestBinary {
    let (name, version) = package_name_and_version(&artifact);
    let root = artifact
        .manifest_path
        .parent()
        .map_or_else(|| cargo_cwd.to_path_buf(), Path::to_path_buf);
    let short_src = artifact
        .src_path
        .strip_prefix(&root)
        .unwrap_or(&artifact.src_path);
    let short_exe = artifact
        .executable
        .strip_prefix(cargo_cwd)
        .unwrap_or(&artifact.executable);
    let kind = artifact.kind.first().map_or("lib", String::as_str);
    let display = match kind {
        "test" | "bench" => format!("{} ({})", short_src.display(), short_exe.display()),
        _ => format!(
            "unittests {} ({})",
            short_src.display(),
            short_exe.display()
        ),
    };
    let target = match kind {
        "bin" | "test" | "bench" | "example" => format!("--{kind} {}", artifact.name),
        _ => "--lib".to_string(),
    };
    let rerun = if spec_flag {
        format!("-p {name} {target}")
    } else {
        target
    };
    let mut env: Vec<(String, String)> = scripts
        .iter()
        .filter(|script| script.package_id == artifact.package_id)
        .flat_map(|script| script.env.iter().cloned())
        .collect();
    env.push(("LD_LIBRARY_PATH".into(), search_path(&artifact, scripts)));
    // What cargo's `fill_env` sets. Left out: `CARGO` (cargo's own path, only known by asking
    // rustup), the manifest's `CARGO_PKG_AUTHORS`/`DESCRIPTION`/... (tests read those with
    // `env!` at compile time, which the build already did), and `[env]` from a cargo config
    // (no binaries are recorded where one is in sight).
    env.extend([
        ("CARGO_MANIFEST_DIR".into(), root.display().to_string()),
        (
            "CARGO_MANIFEST_PATH".into(),
            artifact.manifest_path.display().to_string(),
        ),
        ("CARGO_PKG_NAME".into(), name),
        ("CARGO_PKG_VERSION".into(), version.text.clone()),
        ("CARGO_PKG_VERSION_MAJOR".into(), version.part(0)),
        ("CARGO_PKG_VERSION_MINOR".into(), version.part(1)),
        ("CARGO_PKG_VERSION_PATCH".into(), version.part(2)),
        ("CARGO_PKG_VERSION_PRE".into(), version.pre()),
    ]);
    TestBinary {
        executable: artifact.executable,
        identity,
        display,
        rerun,
        cwd: root,
        env,
    }
}

/// cargo's dynamic-library search path for a test: the build scripts' link-search dirs inside
/// the target dir, the target dir's profile dir and its `deps`. cargo also adds the sysroot's
/// target libdir, which only a test linked against a dynamic `std` needs (`-C prefer-dynamic`,
/// which takes RUSTFLAGS or a cargo config, and neither reaches a recorded run): finding it
/// would take a `rustc --print sysroot` per run.
fn search_path(artifact: &TestArtifact, scripts: &[BuildScriptOutput]) -> String {
    let deps = artifact.executable.parent().unwrap_or(Path::new("/"));
    let profile_dir = deps.parent().unwrap_or(deps);
    let mut dirs: Vec<PathBuf> = scripts
        .iter()
        .flat_map(|script| &script.linked_paths)
        .map(|path| {
            let path = ["native=", "crate=", "dependency=", "framework=", "all="]
                .iter()
                .find_map(|kind| path.strip_prefix(kind))
                .unwrap_or(path);
            PathBuf::from(path)
        })
        .filter(|dir| dir.starts_with(profile_dir))
        .collect();
    dirs.push(profile_dir.to_path_buf());
    dirs.push(deps.to_path_buf());
    std::env::join_paths(dirs)
        .map(|joined| joined.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A package version as cargo's package id carries it, e.g. `1.2.3-rc.1`.
struct Version {
    text: String,
}

impl Version {
    fn release(&self) -> &str {
        self.text.split(['-', '+']).next().unwrap_or("")
    }

    fn part(&self, index: usize) -> String {
        self.release()
            .split('.')
            .nth(index)
            .unwrap_or("0")
            .to_string()
    }

    fn pre(&self) -> String {
        let without_build = self.text.split('+').next().unwrap_or("");
        without_build
            .split_once('-')
            .map_or(String::new(), |(_, pre)| pre.to_string())
    }

    fn numbers(&self) -> (u64, u64, u64, String) {
        let number = |i| self.part(i).parse().unwrap_or(0);
        (number(0), number(1), number(2), self.pre())
    }
}

/// Name and version from a package id: `path+file:///p/demo#0.1.0` (the name is the last path
/// segment), `path+file:///p/x#demo@0.1.0`, or the older `demo 0.1.0 (path+file:///p/x)`.
fn package_name_and_version(artifact: &TestArtifact) -> (String, Version) {
    let id = &artifact.package_id;
    let (name, version) = if let Some((name, rest)) = id.split_once(' ') {
        (name, rest.split(' ').next().unwrap_or(""))
    } else {
        let (url, fragment) = id.rsplit_once('#').unwrap_or((id, ""));
        match fragment.split_once('@') {
            Some((name, version)) => (name, version),
            None => {
                let url = url.split('?').next().unwrap_or(url);
                (
                    url.trim_end_matches('/').rsplit('/').next().unwrap_or(""),
                    fragment,
                )
            }
        }
    };
    (
        name.to_string(),
        Version {
            text: version.to_string(),
        },
    )
}

/// Runs `binaries` as `cargo test` would have run them; `None` when one of them is not the file
/// recorded or cannot be started, and the run must go through cargo.
pub(crate) async fn run(
    plan: &RunPlan<'_>,
    binaries: &[TestBinary],
    args: &TestArgs,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Option<RunReport>> {
    let started = Instant::now();
    let confinement = prepare_confinement(plan)?;
    let unchanged = binaries.iter().all(|binary| {
        FileIdentity::of(&confinement.host_path(&binary.executable)) == Some(binary.identity)
    });
    if !unchanged {
        return Ok(None);
    }
    let seen_at = confinement.relocated_to().unwrap_or(plan.crate_dir);
    let mut collector = Collector::new(seen_at.to_path_buf(), plan.output_cap_bytes);
    collector.nothing_to_build();
    let deadline = started + plan.timeout;
    let mut termination = Termination::Exited(ExitStatus::from_raw(0));
    for binary in binaries {
        let command = match binary.command(plan, args, &confinement) {
            Ok(command) => command,
            Err(_) => return Ok(None),
        };
        collector.binary_running(&binary.display);
        termination = match run_confined(
            command,
            &confinement,
            &mut collector,
            deadline,
            plan.redactor,
            on_progress,
        )
        .await
        {
            Err(Error::Spawn(_)) => return Ok(None),
            other => other?,
        };
        match termination {
            Termination::Exited(status) if status.success() => {}
            Termination::Exited(status) => {
                collector.cargo_error(&binary.failure(status, args));
                break;
            }
            Termination::TimedOut => break,
        }
    }
    Ok(Some(collector.finish(
        termination,
        started.into_std(),
        plan.redactor,
    )))
}

impl TestBinary {
    fn command(
        &self,
        plan: &RunPlan<'_>,
        args: &TestArgs,
        confinement: &Confinement,
    ) -> std::io::Result<Command> {
        let mut command = confined_command(
            self.executable.as_os_str(),
            plan,
            confinement.child_setup().with_reaper_init(),
            Some(c_path(&self.cwd)?),
        );
        command
            .args(args.filter.iter())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        Ok(command)
    }

    /// What cargo prints when this binary fails: libtest's own exit code (101) needs no more
    /// words, anything else (a crash) gets the process error it caused.
    fn failure(&self, status: ExitStatus, args: &TestArgs) -> String {
        let mut text = format!("error: test failed, to rerun pass `{}`", self.rerun);
        if status.code() != Some(101) {
            let mut command = self.executable.display().to_string();
            if let Some(filter) = &args.filter {
                command.push(' ');
                command.push_str(&shell_escape(filter));
            }
            text.push_str(&format!(
                "\n\nCaused by:\n  process didn't exit successfully: `{command}` ({})",
                status_text(status)
            ));
        }
        text
    }
}

/// As cargo's `exit_status_to_string`.
fn status_text(status: ExitStatus) -> String {
    let Some(signal) = status.signal() else {
        return status.to_string();
    };
    let name = match signal {
        libc::SIGABRT => ", SIGABRT: process abort signal",
        libc::SIGALRM => ", SIGALRM: alarm clock",
        libc::SIGFPE => ", SIGFPE: erroneous arithmetic operation",
        libc::SIGHUP => ", SIGHUP: hangup",
        libc::SIGILL => ", SIGILL: illegal instruction",
        libc::SIGINT => ", SIGINT: terminal interrupt signal",
        libc::SIGKILL => ", SIGKILL: kill",
        libc::SIGPIPE => ", SIGPIPE: write on a pipe with no one to read",
        libc::SIGQUIT => ", SIGQUIT: terminal quit signal",
        libc::SIGSEGV => ", SIGSEGV: invalid memory reference",
        libc::SIGTERM => ", SIGTERM: termination signal",
        libc::SIGBUS => ", SIGBUS: access to undefined memory",
        libc::SIGSYS => ", SIGSYS: bad system call",
        libc::SIGTRAP => ", SIGTRAP: trace/breakpoint trap",
        _ => "",
    };
    format!("signal: {signal}{name}")
}

/// As the `shell-escape` crate cargo displays arguments with.
fn shell_escape(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=/,.+".contains(&b));
    if plain {
        return arg.to_string();
    }
    let mut quoted = String::from("'");
    for c in arg.chars() {
        match c {
            '\'' | '!' => {
                quoted.push_str("'\\");
                quoted.push(c);
                quoted.push('\'');
            }
            _ => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn artifact(package_id: &str, kind: &str, name: &str) -> TestArtifact {
        TestArtifact {
            package_id: package_id.into(),
            manifest_path: "/kiln/crate/Cargo.toml".into(),
            kind: vec![kind.into()],
            crate_types: vec![kind.into()],
            name: name.into(),
            src_path: "/kiln/crate/src/lib.rs".into(),
            executable: format!("/t/debug/deps/{name}-1a").into(),
        }
    }

    #[test]
    fn package_ids_of_every_form_give_name_and_version() {
        for (id, name, version) in [
            ("path+file:///kiln/demo#0.1.0", "demo", "0.1.0"),
            (
                "path+file:///kiln/crate#demo@1.2.3-rc.1",
                "demo",
                "1.2.3-rc.1",
            ),
            ("demo 0.4.0 (path+file:///kiln/crate)", "demo", "0.4.0"),
        ] {
            let (n, v) = package_name_and_version(&artifact(id, "lib", "demo"));
            assert_eq!((n.as_str(), v.text.as_str()), (name, version), "{id}");
        }
        let v = Version {
            text: "1.2.3-rc.1+build".into(),
        };
        assert_eq!(
            (v.part(0), v.part(1), v.part(2), v.pre()),
            ("1".into(), "2".into(), "3".into(), "rc.1".into())
        );
    }

    #[test]
    fn binaries_are_ordered_as_cargo_runs_them() {
        let id = "path+file:///kiln/crate#demo@0.1.0";
        let mut artifacts = [
            artifact(id, "test", "b_it"),
            artifact(id, "bin", "tool"),
            artifact(id, "test", "a_it"),
            artifact(id, "lib", "demo"),
            artifact("path+file:///kiln/crate/aaa#0.1.0", "test", "z"),
        ];
        artifacts.sort_by_cached_key(cargo_order);
        let names: Vec<&str> = artifacts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["z", "demo", "tool", "a_it", "b_it"]);
    }

    #[test]
    fn doc_tests_run_unless_a_target_is_selected() {
        let flags = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(may_run_doc_tests(&flags(&["-p", "demo"])));
        assert!(may_run_doc_tests(&flags(&["-p", "demo", "--doc"])));
        assert!(!may_run_doc_tests(&flags(&["-p", "demo", "--lib"])));
        assert!(!may_run_doc_tests(&flags(&["--test=it"])));
        assert!(!may_run_doc_tests(&flags(&["--tests"])));
    }

    #[test]
    fn a_crash_reads_as_cargo_reports_it() {
        let binary = binary(
            artifact("path+file:///kiln/demo#0.1.0", "lib", "demo"),
            FileIdentity(0, 0, 0, 0, 0),
            &[],
            Path::new("/kiln/crate"),
            false,
        );
        assert_eq!(
            binary.display,
            "unittests src/lib.rs (/t/debug/deps/demo-1a)"
        );
        let args = TestArgs {
            target_flags: vec!["--lib".into()],
            filter: Some("tests::it's".into()),
        };
        assert_eq!(
            binary.failure(ExitStatus::from_raw(libc::SIGABRT), &args),
            "error: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't exit \
             successfully: `/t/debug/deps/demo-1a 'tests::it'\\''s'` (signal: 6, SIGABRT: \
             process abort signal)"
        );
        assert_eq!(
            binary.failure(ExitStatus::from_raw(101 << 8), &args),
            "error: test failed, to rerun pass `--lib`"
        );
    }
}
