//! The shared build cache: the untouched crate's build fills it, and nothing a candidate writes
//! there reaches it, so a later run never executes what a candidate planted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{again_as_unprivileged_user, candidate_lib, lib_args, require, tiny_crate};
use kiln_sandbox::{Error, RunOutcome, Sandbox, SandboxConfig};

fn shared(cache: &Path) -> SandboxConfig {
    SandboxConfig {
        target_dir: Some(cache.to_path_buf()),
        ..SandboxConfig::default()
    }
}

/// Every file below `dir`, so a test can pick one of cargo's own outputs.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn a_candidate_cannot_plant_or_change_files_in_the_shared_cache() {
    if !require("no planting in the shared build cache") {
        return;
    }
    let krate = tiny_crate("cached", "pub fn one() -> u8 { 1 }\n");
    let cache = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    let built = sandbox
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_ne!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    // The untouched build wrote the cache itself: the dep-info of its test binary is there (not
    // the binary: the candidate's run executes its own rebuild of it at that path).
    let victim = files_below(&cache.path().join("debug/deps"))
        .into_iter()
        .find(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("cached-") && name.ends_with(".d")
        })
        .expect("the untouched build left no dep-info in the cache");
    let before = std::fs::read(&victim).unwrap();

    // The attack succeeds inside its own run (so the check below looks at a real write).
    let body = format!(
        r#"        let cache = std::path::PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap());
        std::fs::write(cache.join("planted"), "run me").unwrap();
        std::fs::write({victim:?}, "doctored").unwrap();
        assert_eq!(std::fs::read_to_string({victim:?}).unwrap(), "doctored");"#
    );
    sandbox
        .write_file(Path::new("src/lib.rs"), &candidate_lib(&body))
        .unwrap();
    let report = sandbox.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
    assert_eq!(report.outcome, RunOutcome::Passed, "{}", report.output);

    assert!(
        !cache.path().join("planted").exists(),
        "a file was planted in the cache"
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        before,
        "cargo's output was changed"
    );
    // Once the copy holds generated code, nothing writes the cache directly any more.
    assert!(matches!(
        sandbox.build_untouched(&lib_args(), &mut |_| {}).await,
        Err(Error::Touched)
    ));
    drop(sandbox);
    again_as_unprivileged_user("a_candidate_cannot_plant_or_change_files_in_the_shared_cache");
}

#[tokio::test]
async fn a_later_sandbox_reuses_the_cache_and_drops_its_own_layer() {
    // A path dependency: built once by the untouched build, then only read from the cache.
    let krate = tiny_crate("reused", "pub fn two() -> u8 { helper::two() }\n");
    common::write(
        krate.path(),
        "Cargo.toml",
        "[package]\nname = \"reused\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nhelper = { path = \"helper\" }\n",
    );
    common::write(
        krate.path(),
        "helper/Cargo.toml",
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    common::write(
        krate.path(),
        "helper/src/lib.rs",
        "pub fn two() -> u8 { 2 }\n",
    );
    let cache = tempfile::tempdir().unwrap();
    let first = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    first
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    let root = first.crate_dir().parent().unwrap().to_path_buf();
    drop(first);
    assert!(
        !root.exists(),
        "the sandbox's tempdir (and its layer) outlived it"
    );

    // The dependency comes from the cache through the second sandbox's overlay: only the
    // changed crate compiles.
    let second = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    second
        .write_file(
            Path::new("src/lib.rs"),
            &format!(
                "pub fn two() -> u8 {{ helper::two() }}\n{}",
                candidate_lib("        assert_eq!(super::two(), 2);")
            ),
        )
        .unwrap();
    let mut compiled = Vec::new();
    let report = second
        .cargo_test(&lib_args(), &mut |progress| {
            if let kiln_sandbox::Progress::Compiling { unit } = progress {
                compiled.push(unit);
            }
        })
        .await
        .unwrap();
    assert_eq!(report.outcome, RunOutcome::Passed, "{}", report.output);
    assert!(
        compiled.len() == 1 && compiled[0].starts_with("reused"),
        "{compiled:?}"
    );
    again_as_unprivileged_user("a_later_sandbox_reuses_the_cache_and_drops_its_own_layer");
}

/// The overlay is mounted once per sandbox and held out of sight: every run of one sandbox sees
/// the same overlay (one filesystem, one device number, so cargo's lookups stay cached between
/// runs), the host's mount table never lists it, and it goes with the sandbox.
#[tokio::test]
async fn the_overlay_is_mounted_once_per_sandbox_and_never_on_the_host() {
    if !require("no planting in the shared build cache") {
        return;
    }
    let krate = tiny_crate("held", "pub fn one() -> u8 { 1 }\n");
    let cache = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    sandbox
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    let host_device =
        std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(cache.path()).unwrap());
    // The first run notes the device its cache lives on (in its own layer); the second compares.
    let note_device = |compare: bool| {
        let check = if compare {
            r#"assert_eq!(std::fs::read_to_string(&seen).unwrap(), device.to_string(), "a new overlay");"#
        } else {
            r#"std::fs::write(&seen, device.to_string()).unwrap();"#
        };
        candidate_lib(&format!(
            r#"        use std::os::unix::fs::MetadataExt as _;
        let cache = std::path::PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap());
        let device = std::fs::metadata(&cache).unwrap().dev();
        assert_ne!(device, {host_device}, "the cache is not seen through an overlay");
        let seen = cache.join("device-seen");
        {check}"#
        ))
    };
    for compare in [false, true] {
        sandbox
            .write_file(Path::new("src/lib.rs"), &note_device(compare))
            .unwrap();
        let report = sandbox.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
        assert_eq!(report.outcome, RunOutcome::Passed, "{}", report.output);
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains("kiln-cache"),
            "the overlay shows in the host's mount table:\n{mounts}"
        );
    }
    assert!(!cache.path().join("device-seen").exists());
    let root = sandbox.crate_dir().parent().unwrap().to_path_buf();
    drop(sandbox);
    assert!(
        !root.exists(),
        "the sandbox's tempdir (and its layer) outlived it"
    );
    again_as_unprivileged_user("the_overlay_is_mounted_once_per_sandbox_and_never_on_the_host");
}

/// Every sandbox of a crate shows its copy at one path, whatever the copy's own path: the
/// incremental state the shared cache keeps names sources by absolute path, and the first build of
/// a later sandbox reuses it only if those paths are the same. What kiln reports stays relative.
#[tokio::test]
async fn every_sandbox_of_a_crate_shows_its_copy_at_one_path() {
    if !require("no planting in the shared build cache") {
        return;
    }
    let krate = tiny_crate("placed", "pub fn one() -> u8 { 1 }\n");
    let cache = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let mut copies = Vec::new();
    for _ in 0..2 {
        let sandbox = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
        let body = r#"        let dir = std::env::current_dir().unwrap();
        assert_eq!(dir.to_str().unwrap(), env!("CARGO_MANIFEST_DIR"));
        panic!("seen at {}", dir.display());"#;
        sandbox
            .write_file(Path::new("src/lib.rs"), &candidate_lib(body))
            .unwrap();
        let report = sandbox.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
        assert_eq!(report.outcome, RunOutcome::TestsFailed, "{}", report.output);
        let failure = &report.failures[0];
        assert_eq!(
            failure.panicked_at.as_ref().map(|at| at.file.clone()),
            Some("src/lib.rs".to_string()),
            "{failure:?}"
        );
        seen.push(failure.message.clone());
        copies.push(sandbox.crate_dir().to_path_buf());

        sandbox
            .write_file(Path::new("src/lib.rs"), "pub fn one() -> u8 { \"one\" }\n")
            .unwrap();
        let report = sandbox.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
        assert_eq!(report.outcome, RunOutcome::BuildFailed, "{}", report.output);
        assert_eq!(
            report.compiler_errors[0].file.as_deref(),
            Some(Path::new("src/lib.rs")),
            "{:?}",
            report.compiler_errors
        );
    }
    assert_ne!(copies[0], copies[1]);
    assert_eq!(seen[0], seen[1]);
    assert!(
        !seen[0].contains(copies[0].to_str().unwrap()),
        "{}",
        seen[0]
    );
}

/// An untouched build that passed is known good for an identical copy into the same cache, and
/// stops being known once a source changes or the build fails.
#[tokio::test]
async fn an_untouched_build_is_known_good_until_the_crate_changes_or_fails() {
    let krate = tiny_crate("known", "pub fn one() -> u8 { 1 }\n");
    let cache = tempfile::tempdir().unwrap();
    let first = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(!first.untouched_build_known_good(), "nothing built yet");
    let built = first
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_ne!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    assert!(first.untouched_build_known_good());
    drop(first);
    assert!(Sandbox::create(krate.path(), shared(cache.path()))
        .unwrap()
        .untouched_build_known_good());
    // Without a shared cache there is nowhere to remember it.
    assert!(!Sandbox::create(krate.path(), SandboxConfig::default())
        .unwrap()
        .untouched_build_known_good());

    common::write(
        krate.path(),
        "src/lib.rs",
        "pub fn one() -> u8 { \"one\" }\n",
    );
    let broken = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(
        !broken.untouched_build_known_good(),
        "a changed source is not known"
    );
    let built = broken
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(built.outcome, RunOutcome::BuildFailed);
    assert!(!broken.untouched_build_known_good());
    drop(broken);
    common::write(krate.path(), "src/lib.rs", "pub fn one() -> u8 { 1 }\n");
    // Back as it was: the mtime moved, so it is a new copy, not known until it builds again.
    assert!(!Sandbox::create(krate.path(), shared(cache.path()))
        .unwrap()
        .untouched_build_known_good());
}

/// The untouched build's report, and how many times it compiled the crate named `name`.
async fn untouched_build_counting(
    sandbox: &Sandbox,
    name: &str,
) -> (kiln_sandbox::RunReport, usize) {
    let mut builds = 0;
    let report = sandbox
        .build_untouched(&lib_args(), &mut |progress| {
            if matches!(&progress, kiln_sandbox::Progress::Compiling { unit } if unit.starts_with(name)) {
                builds += 1;
            }
        })
        .await
        .unwrap();
    (report, builds)
}

/// A copy known to build is not fetched for (its dependencies were, when it first built): the
/// lockfile `cargo fetch` writes into a copy that has none is the trace of a fetch.
#[tokio::test]
async fn a_copy_known_to_build_skips_the_fetch() {
    let krate = tiny_crate("unfetched", "pub fn one() -> u8 { 1 }\n");
    let cache = tempfile::tempdir().unwrap();
    let first = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(
        first.crate_dir().join("Cargo.lock").exists(),
        "a copy not known to build is fetched for"
    );
    let built = first
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_ne!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    drop(first);
    let second = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(second.untouched_build_known_good());
    assert!(
        !second.crate_dir().join("Cargo.lock").exists(),
        "a copy known to build was fetched for"
    );
    let built = second
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_ne!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
}

/// When a copy known to build fails its untouched build anyway (here a build script that fails
/// once a marker appears in the cache, which the fingerprint cannot see), the skipped fetch is
/// made and the build tried once more before the failure is reported.
#[tokio::test]
async fn a_known_copy_that_fails_to_build_is_fetched_for_and_built_again() {
    let krate = tiny_crate("refetched", "pub fn one() -> u8 { 1 }\n");
    common::write(
        krate.path(),
        "build.rs",
        r#"fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let marker = out.ancestors().nth(4).unwrap().join("fail-the-build");
    println!("cargo:rerun-if-changed={}", marker.display());
    assert!(!marker.exists(), "the marker is there");
}
"#,
    );
    let cache = tempfile::tempdir().unwrap();
    let first = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    let built = first
        .build_untouched(&lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_ne!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    drop(first);
    std::fs::write(cache.path().join("fail-the-build"), "").unwrap();
    let second = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(second.untouched_build_known_good());
    let (built, builds) = untouched_build_counting(&second, "refetched").await;
    assert_eq!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    assert_eq!(
        builds, 2,
        "built once more after the fetch: {}",
        built.output
    );
    assert!(
        second.crate_dir().join("Cargo.lock").exists(),
        "the fetch was made"
    );
    assert!(!second.untouched_build_known_good());
}

/// Two copies of one tree are the same copy; a file saved between them (a new mtime, even with
/// the same bytes) makes them differ, and without a shared cache nothing is fingerprinted.
#[test]
fn copies_of_one_tree_are_the_same_copy_until_a_file_is_saved_between_them() {
    let krate = tiny_crate("twins", "pub fn one() -> u8 { 1 }\n");
    let cache = tempfile::tempdir().unwrap();
    let first = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    let second = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(first.same_copy_as(&second));
    let lib = krate.path().join("src/lib.rs");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&lib)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let third = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(!first.same_copy_as(&third), "a file was saved in between");
    let unshared = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    assert!(
        !unshared.same_copy_as(&unshared),
        "no fingerprint without a shared cache"
    );
}

/// What decides the dependencies (manifests, lockfile, cargo configs) is what a fetch is
/// remembered by: a copy whose sources changed since a fetch that succeeded skips it, one whose
/// manifest changed is fetched for. And a build that then fails in the crate's own code is not
/// for want of a dependency: it is reported, not fetched for and built again.
#[tokio::test]
async fn a_copy_whose_dependencies_were_fetched_skips_the_fetch_until_its_manifest_changes() {
    let krate = tiny_crate("fetched", "pub fn one() -> u8 { 1 }\n");
    let cache = tempfile::tempdir().unwrap();
    let lockfile = |sandbox: &Sandbox| sandbox.crate_dir().join("Cargo.lock").exists();
    assert!(
        lockfile(&Sandbox::create(krate.path(), shared(cache.path())).unwrap()),
        "the first copy is fetched for"
    );
    common::write(
        krate.path(),
        "src/lib.rs",
        "pub fn one() -> u8 { \"one\" }\n",
    );
    let edited = Sandbox::create(krate.path(), shared(cache.path())).unwrap();
    assert!(!edited.untouched_build_known_good());
    assert!(
        !lockfile(&edited),
        "a copy with only its sources changed was fetched for"
    );
    let (built, builds) = untouched_build_counting(&edited, "fetched").await;
    assert_eq!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    assert_eq!(
        builds, 1,
        "an error in the crate's code was built again: {}",
        built.output
    );
    drop(edited);
    let manifest = std::fs::read_to_string(krate.path().join("Cargo.toml")).unwrap();
    common::write(
        krate.path(),
        "Cargo.toml",
        &format!("{manifest}\n[features]\nextra = []\n"),
    );
    assert!(
        lockfile(&Sandbox::create(krate.path(), shared(cache.path())).unwrap()),
        "a copy whose manifest changed was not fetched for"
    );
}
