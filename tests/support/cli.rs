//! Running the real `kiln` binary against a scripted server, on a temp copy of the demo crate.

use std::path::{Path, PathBuf};
use std::process::Output;

/// A private copy of `assets/demo`, so tests can let kiln write into it.
pub struct DemoCrate {
    pub dir: tempfile::TempDir,
}

impl DemoCrate {
    pub fn new() -> DemoCrate {
        let dir = tempfile::tempdir().unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::copy(demo.join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
        std::fs::copy(demo.join("src/lib.rs"), dir.path().join("src/lib.rs")).unwrap();
        DemoCrate { dir }
    }

    pub fn lib_rs(&self) -> PathBuf {
        self.dir.path().join("src/lib.rs")
    }

    pub fn read_lib(&self) -> String {
        std::fs::read_to_string(self.lib_rs()).unwrap()
    }

    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The result of one kiln run, with the streams as text for assertions.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs kiln with `args`, pointed at `base_url`, with no retries (so failures are fast) and no
/// user config (XDG_CONFIG_HOME points at an empty dir).
pub async fn kiln(base_url: &str, args: &[&str]) -> Run {
    kiln_with_env(base_url, args, &[]).await
}

pub async fn kiln_with_env(base_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let homes = KilnHomes::new();
    let mut command = homes.command(base_url, args, env);
    let output = tokio::time::timeout(std::time::Duration::from_secs(300), command.output())
        .await
        .expect("kiln did not finish within 300 s")
        .unwrap();
    output.into()
}

/// An empty user config and a private build cache for kiln runs: one per run, or one for several
/// runs that should share the cache as a user's runs do.
pub struct KilnHomes {
    config_home: tempfile::TempDir,
    cache_home: tempfile::TempDir,
}

impl KilnHomes {
    pub fn new() -> KilnHomes {
        KilnHomes {
            config_home: tempfile::tempdir().unwrap(),
            // kiln keeps a per-crate target dir under the user cache; never the real ~/.cache
            // in tests.
            cache_home: tempfile::tempdir().unwrap(),
        }
    }

    /// kiln with `args`, pointed at `base_url`, with no retries (so failures are fast), these
    /// homes, stdin from /dev/null and `env` on top.
    pub fn command(
        &self,
        base_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kiln"));
        command
            .args(args)
            .env("OPENAI_BASE_URL", base_url)
            .env("OPENAI_API_KEY", "test-key")
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env("KILN_CACHE_DIR", self.cache_home.path())
            .env("KILN_MAX_RETRIES", "0")
            .env("KILN_RETRY_BASE_MS", "10")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }
}

/// Runs kiln with `args` plus `--json`, which must succeed (exit 0), and returns the run and
/// its JSON result.
pub async fn kiln_json(base_url: &str, args: &[&str]) -> (Run, serde_json::Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let run = kiln(base_url, &all).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.describe()));
    (run, result)
}

/// Runs real `cargo test` in `dir` and returns the combined output.
pub fn cargo_test(dir: &Path) -> Run {
    std::process::Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap()
        .into()
}

/// Runs kiln with `args` plus `--json`, which must give up (exit 1, `no_passing_result`), and
/// returns the run and the failure text after "Last failure:", as the user reads it on stderr.
pub async fn kiln_gives_up(base_url: &str, args: &[&str]) -> (Run, String) {
    let mut all = args.to_vec();
    all.push("--json");
    let run = kiln(base_url, &all).await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "no_passing_result", "{}", run.describe());
    let message = result["message"].as_str().unwrap();
    let failure = message
        .split_once("Last failure:\n")
        .unwrap_or_else(|| panic!("no failure in the message:\n{}", run.describe()))
        .1
        .to_string();
    assert!(run.stderr.contains(&failure), "{}", run.describe());
    (run, failure)
}
