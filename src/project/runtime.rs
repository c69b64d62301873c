//! Which async runtime a crate's tests can use, read from its manifest: a test of an `async fn`
//! needs one, and `#[tokio::test]` exists only when tokio comes with its `macros` and `rt`
//! features (small models write it regardless, and the build fails on it).

use super::{read_manifest, SourceLocation};

/// What an async test in this crate can be driven by, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncRuntime {
    /// tokio with `macros` and a runtime (`rt`, `rt-multi-thread` or `full`).
    TokioTest,
    /// async-std with `attributes`.
    AsyncStdTest,
    /// futures (or futures-executor): `futures::executor::block_on`.
    FuturesBlockOn,
    /// None of them: the future has to be polled by hand.
    None,
}

/// The runtime among the crate's dependencies and dev-dependencies (a workspace's shared
/// `[workspace.dependencies]` entries included).
pub fn async_runtime(location: &SourceLocation) -> AsyncRuntime {
    let Ok(manifest) = read_manifest(&location.crate_root.join("Cargo.toml")) else {
        return AsyncRuntime::None;
    };
    let workspace = read_manifest(&location.workspace_root.join("Cargo.toml")).ok();
    let features_of = |name: &str| -> Option<Vec<String>> {
        let mut found: Option<Vec<String>> = None;
        for table in ["dependencies", "dev-dependencies"] {
            let Some(spec) = manifest.get(table).and_then(|t| t.get(name)) else {
                continue;
            };
            let mut features = list(spec.get("features"));
            let inherits = spec.get("workspace").and_then(|w| w.as_bool()) == Some(true);
            let shared = workspace
                .as_ref()
                .filter(|_| inherits)
                .and_then(|w| w.get("workspace")?.get("dependencies")?.get(name));
            if let Some(shared) = shared {
                features.extend(list(shared.get("features")));
            }
            found.get_or_insert_with(Vec::new).extend(features);
        }
        found
    };
    let has = |features: &[String], wanted: &[&str]| {
        features.iter().any(|f| wanted.contains(&f.as_str()))
    };
    if let Some(features) = features_of("tokio") {
        if has(&features, &["full"])
            || (has(&features, &["macros"]) && has(&features, &["rt", "rt-multi-thread"]))
        {
            return AsyncRuntime::TokioTest;
        }
    }
    if features_of("async-std").is_some_and(|f| has(&f, &["attributes"])) {
        return AsyncRuntime::AsyncStdTest;
    }
    if features_of("futures").is_some() || features_of("futures-executor").is_some() {
        return AsyncRuntime::FuturesBlockOn;
    }
    AsyncRuntime::None
}

fn list(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn runtime_of(dependencies: &str) -> AsyncRuntime {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!("[package]\nname = \"a\"\nversion = \"0.1.0\"\n\n{dependencies}"),
        )
        .unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        async_runtime(&SourceLocation::find(&dir.path().join("src/lib.rs")).unwrap())
    }

    #[test]
    fn tokio_test_needs_macros_and_a_runtime() {
        assert_eq!(
            runtime_of("[dependencies]\ntokio = { version = \"1\", features = [\"sync\"] }\n"),
            AsyncRuntime::None
        );
        assert_eq!(
            runtime_of("[dependencies]\ntokio = { version = \"1\", features = [\"macros\"] }\n"),
            AsyncRuntime::None
        );
        assert_eq!(
            runtime_of(
                "[dependencies]\ntokio = { version = \"1\", features = [\"sync\"] }\n\
                 [dev-dependencies]\ntokio = { version = \"1\", features = [\"macros\", \"rt\"] }\n"
            ),
            AsyncRuntime::TokioTest
        );
        assert_eq!(
            runtime_of("[dev-dependencies]\ntokio = { version = \"1\", features = [\"full\"] }\n"),
            AsyncRuntime::TokioTest
        );
    }

    #[test]
    fn other_runtimes_and_none() {
        assert_eq!(
            runtime_of("[dev-dependencies]\nasync-std = { version = \"1\", features = [\"attributes\"] }\n"),
            AsyncRuntime::AsyncStdTest
        );
        assert_eq!(
            runtime_of("[dependencies]\nfutures = \"0.3\"\n"),
            AsyncRuntime::FuturesBlockOn
        );
        assert_eq!(runtime_of(""), AsyncRuntime::None);
    }
}
