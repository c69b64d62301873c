//! Parsing cargo's `--message-format=json` lines.
//!
//! We use JSON for the compiler side because it gives exact file/line/column
//! and the error level without scraping rustc's human output. Only the fields
//! we need are deserialized; everything else is ignored so newer cargo
//! versions with extra fields keep working.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::capped::cap_str;
use crate::report::CompilerDiagnostic;

/// Cap on one diagnostic's rendered text (some trait errors list dozens of
/// candidate impls).
pub(crate) const RENDERED_CAP_BYTES: usize = 16 * 1024;

/// What a cargo JSON line means to us.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CargoMessage {
    /// An `error`-level compiler diagnostic.
    Error(CompilerDiagnostic),
    /// Any other diagnostic (warning, note, failure-note): only its text.
    OtherDiagnostic { rendered: String },
    /// `build-finished`: whether the build part succeeded.
    BuildFinished { success: bool },
    /// A `compiler-artifact` that cargo runs as tests.
    TestExecutable(TestArtifact),
    /// A `build-script-executed`: what a package's build script set for its tests to run with.
    BuildScriptRan(BuildScriptOutput),
    /// Other artifacts, unknown reasons.
    Ignored,
}

/// A test executable as cargo reported it, its paths as the run sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestArtifact {
    pub(crate) package_id: String,
    pub(crate) manifest_path: PathBuf,
    /// cargo's target kinds, e.g. `["lib"]`, `["test"]`, `["bin"]`.
    pub(crate) kind: Vec<String>,
    pub(crate) crate_types: Vec<String>,
    pub(crate) name: String,
    pub(crate) src_path: PathBuf,
    pub(crate) executable: PathBuf,
}

/// The part of a build script's output that reaches the package's test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuildScriptOutput {
    pub(crate) package_id: String,
    /// `cargo:rustc-env=K=V`.
    pub(crate) env: Vec<(String, String)>,
    /// `cargo:rustc-link-search=[KIND=]PATH`.
    pub(crate) linked_paths: Vec<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    reason: String,
    #[serde(default)]
    message: Option<RawDiagnostic>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    package_id: String,
    #[serde(default)]
    manifest_path: PathBuf,
    #[serde(default)]
    target: Option<RawTarget>,
    #[serde(default)]
    profile: Option<RawProfile>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    env: Vec<(String, String)>,
    #[serde(default)]
    linked_paths: Vec<String>,
}

/// Every field optional: other reasons (`compiler-message`) carry a shorter `target`, and a line
/// that fails to deserialize would be taken for libtest text.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTarget {
    kind: Vec<String>,
    crate_types: Vec<String>,
    name: String,
    src_path: PathBuf,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProfile {
    test: bool,
}

#[derive(Deserialize)]
struct RawDiagnostic {
    message: String,
    level: String,
    #[serde(default)]
    rendered: Option<String>,
    #[serde(default)]
    spans: Vec<RawSpan>,
}

#[derive(Deserialize)]
struct RawSpan {
    file_name: String,
    line_start: usize,
    column_start: usize,
    is_primary: bool,
}

/// Parses one stdout line; `None` when it is not a cargo JSON message (so the
/// caller treats it as libtest text — tests can print lines starting with `{`).
///
/// `crate_dir` is the sandbox copy's root: paths inside it are made relative
/// so the model sees `src/lib.rs`, not `/tmp/.tmpXYZ/crate/src/lib.rs`.
pub(crate) fn parse_cargo_line(line: &str, crate_dir: &Path) -> Option<CargoMessage> {
    if !line.starts_with('{') {
        return None;
    }
    let raw: RawMessage = serde_json::from_str(line).ok()?;
    let parsed = match raw.reason.as_str() {
        "compiler-message" => {
            let diagnostic = raw.message?;
            let rendered = relativize_text(diagnostic.rendered.as_deref().unwrap_or(""), crate_dir);
            if is_error_level(&diagnostic.level) && !is_noise(&diagnostic.message) {
                let primary = diagnostic
                    .spans
                    .iter()
                    .find(|s| s.is_primary)
                    .or(diagnostic.spans.first());
                CargoMessage::Error(CompilerDiagnostic {
                    message: diagnostic.message,
                    file: primary.map(|s| relativize_path(&s.file_name, crate_dir)),
                    line: primary.map(|s| s.line_start),
                    column: primary.map(|s| s.column_start),
                    rendered: cap_str(&rendered, RENDERED_CAP_BYTES),
                })
            } else {
                CargoMessage::OtherDiagnostic { rendered }
            }
        }
        "build-finished" => CargoMessage::BuildFinished {
            success: raw.success.unwrap_or(false),
        },
        "compiler-artifact" => match (raw.target, raw.profile, raw.executable) {
            (Some(target), Some(RawProfile { test: true }), Some(executable)) => {
                CargoMessage::TestExecutable(TestArtifact {
                    package_id: raw.package_id,
                    manifest_path: raw.manifest_path,
                    kind: target.kind,
                    crate_types: target.crate_types,
                    name: target.name,
                    src_path: target.src_path,
                    executable,
                })
            }
            _ => CargoMessage::Ignored,
        },
        "build-script-executed" => CargoMessage::BuildScriptRan(BuildScriptOutput {
            package_id: raw.package_id,
            env: raw.env,
            linked_paths: raw.linked_paths,
        }),
        _ => CargoMessage::Ignored,
    };
    Some(parsed)
}

/// "error" and "error: internal compiler error".
fn is_error_level(level: &str) -> bool {
    level == "error" || level.starts_with("error:")
}

/// Error-level summaries that repeat information already reported.
fn is_noise(message: &str) -> bool {
    message.starts_with("aborting due to")
}

fn relativize_path(file: &str, crate_dir: &Path) -> PathBuf {
    let path = Path::new(file);
    path.strip_prefix(crate_dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Removes `<crate_dir>/` from text (rendered diagnostics of path deps).
pub(crate) fn relativize_text(text: &str, crate_dir: &Path) -> String {
    let prefix = format!("{}/", crate_dir.display());
    text.replace(&prefix, "")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const ERROR_LINE: &str = r#"{"reason":"compiler-message","package_id":"path+file:///sb/crate#0.1.0","manifest_path":"/sb/crate/Cargo.toml","target":{"kind":["lib"],"name":"exp"},"message":{"rendered":"error[E0277]: cannot add `&str` to `i32`\n --> src/lib.rs:1:39\n","$message_type":"diagnostic","children":[],"level":"error","message":"cannot add `&str` to `i32`","spans":[{"byte_end":40,"byte_start":38,"column_end":40,"column_start":39,"expansion":null,"file_name":"src/lib.rs","is_primary":true,"label":"no implementation","line_end":1,"line_start":1,"suggested_replacement":null,"suggestion_applicability":null,"text":[]}],"code":{"code":"E0277","explanation":"..."}}}"#;

    #[test]
    fn error_message_keeps_location_and_rendering() {
        let parsed = parse_cargo_line(ERROR_LINE, Path::new("/sb/crate")).unwrap();
        let CargoMessage::Error(d) = parsed else {
            panic!("not an error: {parsed:?}");
        };
        assert_eq!(d.message, "cannot add `&str` to `i32`");
        assert_eq!(d.file, Some(PathBuf::from("src/lib.rs")));
        assert_eq!(d.line, Some(1));
        assert_eq!(d.column, Some(39));
        assert!(d.rendered.starts_with("error[E0277]"));
    }

    #[test]
    fn warnings_are_not_errors() {
        let line = ERROR_LINE.replace(r#""level":"error""#, r#""level":"warning""#);
        let parsed = parse_cargo_line(&line, Path::new("/sb/crate")).unwrap();
        assert!(
            matches!(parsed, CargoMessage::OtherDiagnostic { .. }),
            "{parsed:?}"
        );
    }

    #[test]
    fn absolute_paths_inside_the_copy_become_relative() {
        let line = ERROR_LINE
            .replace(
                r#""file_name":"src/lib.rs""#,
                r#""file_name":"/sb/crate/dep/src/a.rs""#,
            )
            .replace(" --> src/lib.rs", " --> /sb/crate/dep/src/a.rs");
        let Some(CargoMessage::Error(d)) = parse_cargo_line(&line, Path::new("/sb/crate")) else {
            panic!("not parsed");
        };
        assert_eq!(d.file, Some(PathBuf::from("dep/src/a.rs")));
        assert!(d.rendered.contains(" --> dep/src/a.rs"), "{}", d.rendered);
    }

    #[test]
    fn build_finished_and_other_lines() {
        let dir = Path::new("/sb");
        assert_eq!(
            parse_cargo_line(r#"{"reason":"build-finished","success":false}"#, dir),
            Some(CargoMessage::BuildFinished { success: false })
        );
        assert_eq!(
            parse_cargo_line(r#"{"reason":"compiler-artifact","fresh":true}"#, dir),
            Some(CargoMessage::Ignored)
        );
        assert_eq!(parse_cargo_line("{ not json", dir), None);
        assert_eq!(parse_cargo_line("test a ... ok", dir), None);
    }

    #[test]
    fn test_executables_and_build_script_env_are_read() {
        let dir = Path::new("/sb");
        let artifact = r#"{"reason":"compiler-artifact","package_id":"path+file:///sb/c#0.1.0","manifest_path":"/sb/c/Cargo.toml","target":{"kind":["lib"],"crate_types":["lib"],"name":"c","src_path":"/sb/c/src/lib.rs","edition":"2024","doc":true,"doctest":true,"test":true},"profile":{"opt_level":"0","debuginfo":2,"debug_assertions":true,"overflow_checks":true,"test":true},"features":[],"filenames":["/t/debug/deps/c-d4"],"executable":"/t/debug/deps/c-d4","fresh":false}"#;
        let Some(CargoMessage::TestExecutable(test)) = parse_cargo_line(artifact, dir) else {
            panic!("not a test executable");
        };
        assert_eq!(test.executable, PathBuf::from("/t/debug/deps/c-d4"));
        assert_eq!(test.src_path, PathBuf::from("/sb/c/src/lib.rs"));
        // The same target built as a plain binary is not run by `cargo test`.
        let plain = artifact.replace(r#""test":true},"features""#, r#""test":false},"features""#);
        assert_eq!(parse_cargo_line(&plain, dir), Some(CargoMessage::Ignored));
        let script = r#"{"reason":"build-script-executed","package_id":"p","linked_libs":[],"linked_paths":["native=/t/debug/build/x/out"],"cfgs":[],"env":[["FROM_SCRIPT","1"]],"out_dir":"/t/o"}"#;
        assert_eq!(
            parse_cargo_line(script, dir),
            Some(CargoMessage::BuildScriptRan(BuildScriptOutput {
                package_id: "p".into(),
                env: vec![("FROM_SCRIPT".into(), "1".into())],
                linked_paths: vec!["native=/t/debug/build/x/out".into()],
            }))
        );
    }
}
