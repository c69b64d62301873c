//! A real git repository in a tempdir holding a small crate, for the pre-commit hook's tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::cli::Run;
use super::{Reply, ScriptedServer};

/// The crate at the first commit: one documented function without tests, so only what a test
/// stages is new.
pub const LIB_AT_HEAD: &str = "/// One.\npub fn one() -> i32 {\n    1\n}\n";

/// A public function without tests or docs, appended to [`LIB_AT_HEAD`].
pub const LIB_WITH_DOUBLE: &str =
    "/// One.\npub fn one() -> i32 {\n    1\n}\n\npub fn double(x: i32) -> i32 {\n    x * 2\n}\n";

/// A test module for `double` that passes.
pub const DOUBLE_TESTS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles() {
        assert_eq!(double(21), 42);
    }
}
";

/// The doc comment the scripted mini gives `double`.
pub const DOUBLE_DOC: &str = "/// Twice `x`.\n";

/// The model's answer to the doc request: `double` with [`DOUBLE_DOC`] above it.
pub fn double_documented() -> String {
    format!("{DOUBLE_DOC}pub fn double(x: i32) -> i32 {{\n    x * 2\n}}\n")
}

/// [`LIB_WITH_DOUBLE`] with `double` documented.
pub fn lib_with_documented_double() -> String {
    LIB_WITH_DOUBLE.replace("pub fn double", &format!("{DOUBLE_DOC}pub fn double"))
}

/// A server whose nano gate says `double` needs tests and whose mini answers with passing ones,
/// then with docs for it.
pub async fn server_wanting_tests() -> ScriptedServer {
    let server = ScriptedServer::start().await;
    server.push(Reply::text("{\"answer\": \"yes\"}"));
    server.push(Reply::tool_code(DOUBLE_TESTS));
    server.push(Reply::tool_code(&double_documented()));
    server
}

pub struct GitRepo {
    pub dir: tempfile::TempDir,
    config_home: tempfile::TempDir,
    cache_home: tempfile::TempDir,
}

impl GitRepo {
    /// `git init` with the crate committed on `main`.
    pub fn new() -> GitRepo {
        let repo = GitRepo {
            dir: tempfile::tempdir().unwrap(),
            config_home: tempfile::tempdir().unwrap(),
            cache_home: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write(
            "Cargo.toml",
            "[package]\nname = \"hooked\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        repo.write(".gitignore", "/target\n");
        repo.write("src/lib.rs", LIB_AT_HEAD);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "start"]);
        repo
    }

    /// A repository whose next commit adds `double`, staged, with no tests.
    pub fn with_double_staged() -> GitRepo {
        let repo = GitRepo::new();
        repo.write("src/lib.rs", LIB_WITH_DOUBLE);
        repo.git(&["add", "src/lib.rs"]);
        repo
    }

    /// `kiln hook install ARGS`, which must succeed.
    pub async fn install_hook(&self, args: &[&str]) {
        let mut all = vec!["hook", "install"];
        all.extend_from_slice(args);
        let run = self.kiln("http://127.0.0.1:1/v1", &all, &[]).await;
        assert_eq!(run.code, Some(0), "{}", run.describe());
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    fn git_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new("git");
        command
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(self.dir.path());
        isolate(&mut command, self.config_home.path());
        command
    }

    /// Runs git and insists it succeeds.
    pub fn git(&self, args: &[&str]) -> String {
        let out: Output = self.git_command(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// The staged text of a file (`git show :path`).
    pub fn staged(&self, relative: &str) -> String {
        self.git(&["show", &format!(":{relative}")])
    }

    /// Runs the real kiln binary in the repository, pointed at `base_url`.
    pub async fn kiln(&self, base_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.kiln_command(base_url, args, env)
            .output()
            .await
            .unwrap()
            .into()
    }

    /// The command [`GitRepo::kiln`] runs, for a test that starts it and signals it.
    pub fn kiln_command(
        &self,
        base_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kiln"));
        command.args(args).current_dir(self.dir.path());
        self.model_env(command.as_std_mut(), base_url, env);
        command
    }

    /// `git commit` as a user runs it, so the installed hook runs kiln.
    pub async fn commit(&self, base_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command: tokio::process::Command = self.git_command(&["commit"]).into();
        command.args(args);
        self.model_env(command.as_std_mut(), base_url, env);
        command.output().await.unwrap().into()
    }

    fn model_env(&self, command: &mut std::process::Command, base_url: &str, env: &[(&str, &str)]) {
        command
            .env("OPENAI_BASE_URL", base_url)
            .env("OPENAI_API_KEY", "test-key")
            .env("KILN_CACHE_DIR", self.cache_home.path())
            .env("KILN_MAX_RETRIES", "0")
            .env("KILN_RETRY_BASE_MS", "10")
            .stdin(std::process::Stdio::null());
        isolate(command, self.config_home.path());
        for (name, value) in env {
            command.env(name, value);
        }
    }
}

/// No user or system git config (a global `core.hooksPath` would move the hook), no user kiln
/// config, and none of the skip variables of whoever runs the tests.
fn isolate(command: &mut std::process::Command, config_home: &Path) {
    command
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .env_remove("KILN_SKIP")
        .env_remove("SKIP");
}
