//! gen-tests on more functions than one request holds: batches run as concurrent conversations
//! (bounded by `--jobs`), each round's candidates are tested in one build, and the kept tests
//! come back as one module in one diff. The real binary, a scripted model that answers each
//! batch by the functions its prompt names, real cargo in a sandbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{json, Value};
use support::{
    cargo_test, kiln, kiln_with_env, last_message, DemoCrate, GitRepo, Reply, ReplyOptions,
    ScriptedServer, DOUBLE_TESTS, LIB_AT_HEAD,
};

/// Five functions: with `--batch-size 2` that is three batches.
const LIB: &str = "//! Five small functions.

pub fn is_adult(age: u32) -> bool {
    age >= 18
}

pub fn double(x: i32) -> i32 {
    x * 2
}

pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

pub fn is_even(x: u32) -> bool {
    x % 2 == 0
}

pub fn max_of(a: i32, b: i32) -> i32 {
    if a > b {
        a
    } else {
        b
    }
}
";

/// Batch 1 (is_adult, double): good tests and a helper that batch 2 repeats word for word.
const BATCH_1: &str = "#[cfg(test)]
mod tests {
    use super::*;

    fn seven() -> i32 {
        7
    }

    #[test]
    fn eighteen_is_adult() {
        assert!(is_adult(18));
        assert!(!is_adult(17));
    }

    #[test]
    fn doubles() {
        assert_eq!(double(seven()), 14);
    }
}
";

/// Batch 2 (add, is_even), first try: `add_is_five` asserts a wrong value, so this batch's
/// module goes back whole while batch 1, built in the same run, goes on.
const BATCH_2_WRONG: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }

    #[test]
    fn add_is_five() {
        assert_eq!(add(2, 2), 5);
    }
}
";

const BATCH_2_FIXED: &str = "#[cfg(test)]
mod tests {
    use super::*;

    fn seven() -> i32 {
        7
    }

    #[test]
    fn adds() {
        assert_eq!(add(seven(), 2), 9);
    }

    #[test]
    fn even_and_odd() {
        assert!(is_even(4));
        assert!(!is_even(3));
    }
}
";

/// Batch 3 (max_of), first try: a test named like batch 1's, with another body. It cannot
/// share the module, so it is refused before any build and the model is asked to rename it.
const BATCH_3_CLASH: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles() {
        assert_eq!(max_of(2, 2), 2);
    }
}
";

/// Batch 3, second try: one good test and one that asserts nothing useful.
const BATCH_3_RENAMED: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_larger() {
        assert_eq!(max_of(3, 1), 3);
        assert_eq!(max_of(1, 3), 3);
    }

    #[test]
    fn same_answer_twice() {
        assert!(max_of(1, 2) == max_of(1, 2));
    }
}
";

/// The target list line of a batch's prompt names its functions; the whole file (context)
/// names them all.
fn batch_of(function: &str) -> String {
    format!("`{function}` (line")
}

/// Long enough that the first two batches' requests are open at the same time.
fn slow() -> ReplyOptions {
    ReplyOptions {
        delay_ms_before_first_byte: 1_500,
        ..ReplyOptions::default()
    }
}

fn test_names(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("fn "))
        .filter_map(|l| l.split('(').next())
        .map(str::to_string)
        .collect()
}

fn requests_for(server: &ScriptedServer, function: &str) -> Vec<Value> {
    server
        .chat_requests()
        .into_iter()
        .filter(|r| r.to_string().contains(&batch_of(function)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_run_concurrently_are_tested_together_and_come_back_as_one_module() {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", LIB);
    let server = ScriptedServer::start().await;
    server.push_for(&batch_of("is_adult"), Reply::tool_code(BATCH_1), slow());
    server.push_for(&batch_of("add"), Reply::tool_code(BATCH_2_WRONG), slow());
    server.push_for(&batch_of("add"), Reply::tool_code(BATCH_2_FIXED), slow());
    server.push_for(&batch_of("max_of"), Reply::tool_code(BATCH_3_CLASH), slow());
    server.push_for(
        &batch_of("max_of"),
        Reply::tool_code(BATCH_3_RENAMED),
        slow(),
    );

    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--json",
            "--yes",
            "--batch-size",
            "2",
            "--jobs",
            "2",
            "--max-attempts",
            "2",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(server.remaining(), 0, "{}", run.describe());
    assert_eq!(server.chat_requests().len(), 5);
    // Two batches at a time, never three.
    assert_eq!(server.peak_concurrent_requests(), 2, "{}", run.describe());

    // One module with every kept test, the shared helper once, in the user's file.
    let written = demo.read_lib();
    assert!(written.starts_with(LIB), "{written}");
    assert_eq!(written.matches("mod tests").count(), 1, "{written}");
    assert_eq!(written.matches("fn seven()").count(), 1, "{written}");
    let mut names = test_names(&written[LIB.len()..]);
    names.sort();
    assert_eq!(
        names,
        vec![
            "adds",
            "doubles",
            "eighteen_is_adult",
            "even_and_odd",
            "picks_the_larger",
            "seven"
        ]
    );
    let tests = cargo_test(demo.dir.path());
    assert_eq!(tests.code, Some(0), "{}", tests.describe());

    // Batches 1 and 2 were built together: the first run counted both batches' tests, and
    // batch 2 was told about its own failure only.
    assert!(
        run.stderr
            .contains("testing the candidates of 2 batches together in one build"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("1 of 4 tests failed"),
        "{}",
        run.describe()
    );
    let batch_2 = requests_for(&server, "add");
    assert_eq!(batch_2.len(), 2);
    let feedback = last_message(&batch_2[1]);
    assert!(feedback.contains("add_is_five"), "{feedback}");
    assert!(!feedback.contains("eighteen_is_adult"), "{feedback}");
    let batch_3 = requests_for(&server, "max_of");
    let refusal = last_message(&batch_3[1]);
    assert!(
        refusal.contains("`doubles` is already defined"),
        "{refusal}"
    );

    // The report covers all five functions and the three batches.
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "applied", "{result:#}");
    assert_eq!(result["attempts"], 5, "{result:#}");
    let functions = result["validation"]["functions"].as_array().unwrap();
    let report = |name: &str| {
        functions
            .iter()
            .find(|f| f["function"] == name)
            .unwrap_or_else(|| panic!("no report for {name}: {result:#}"))
    };
    assert_eq!(report("is_adult")["kept"], json!(["eighteen_is_adult"]));
    assert_eq!(report("add")["kept"], json!(["adds"]));
    assert_eq!(report("is_even")["kept"], json!(["even_and_odd"]));
    assert_eq!(report("max_of")["kept"], json!(["picks_the_larger"]));
    assert_eq!(
        report("max_of")["dropped"][0]["reason"],
        "kills_no_mutant",
        "{result:#}"
    );
    assert!(report("double")["mutants_caught"].as_u64().unwrap() > 0);
    let batches = result["validation"]["batches"].as_array().unwrap();
    let attempts: Vec<u64> = batches
        .iter()
        .map(|b| b["attempts"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, vec![1, 2, 2], "{result:#}");
    assert_eq!(batches[2]["functions"], json!(["max_of"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_that_never_passes_leaves_the_others_tests_and_says_why() {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", LIB);
    let server = ScriptedServer::start().await;
    server.push_for(&batch_of("is_adult"), Reply::tool_code(BATCH_1), slow());
    server.push_for(&batch_of("add"), Reply::tool_code(BATCH_2_WRONG), slow());
    server.push_for(
        &batch_of("max_of"),
        Reply::tool_code(BATCH_3_RENAMED),
        slow(),
    );

    // `jobs` from the environment (as from kiln.toml): one conversation at a time.
    let run = kiln_with_env(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--dry-run",
            "--batch-size",
            "2",
            "--max-attempts",
            "1",
        ],
        &[("KILN_JOBS", "1")],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(server.peak_concurrent_requests(), 1, "{}", run.describe());
    assert_eq!(demo.read_lib(), LIB, "a dry run writes nothing");
    assert!(
        run.stdout.contains("+    fn eighteen_is_adult()"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+    fn picks_the_larger()"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("fn adds()"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("no tests for add, is_even: nothing passed after 1 attempt(s)"),
        "{}",
        run.describe()
    );
}

/// A helper outside any test that does not compile: the merged module fails as a whole, so
/// kiln cannot tell from one build whose fault it is.
const BROKEN_HELPER: &str = "#[cfg(test)]
mod tests {
    use super::*;

    fn eighteen() -> u32 {
        \"eighteen\"
    }

    #[test]
    fn eighteen_is_adult() {
        assert!(is_adult(eighteen()));
    }
}
";

const DOUBLES: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles() {
        assert_eq!(double(7), 14);
    }
}
";

#[tokio::test(flavor = "multi_thread")]
async fn a_module_that_breaks_the_shared_build_is_tested_apart_from_the_others() {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", LIB);
    let server = ScriptedServer::start().await;
    server.push_for(
        &batch_of("is_adult"),
        Reply::tool_code(BROKEN_HELPER),
        slow(),
    );
    server.push_for(&batch_of("double"), Reply::tool_code(DOUBLES), slow());

    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--json",
            "--fn",
            "is_adult",
            "--fn",
            "double",
            "--batch-size",
            "1",
            "--max-attempts",
            "1",
            "--no-mutation",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "proposed", "{result:#}");
    assert_eq!(result["summary"], "1 test: doubles", "{result:#}");
    let batches = result["validation"]["batches"].as_array().unwrap();
    let failure = batches[0]["failure"].as_str().unwrap();
    assert!(failure.contains("BUILD FAILED"), "{result:#}");
    assert!(batches[1]["failure"].is_null(), "{result:#}");
}

const TRIPLE_TESTS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples() {
        assert_eq!(triple(7), 21);
    }
}
";

/// The hook sends a commit's new functions as `kiln gen-tests` would: here, one per batch.
#[tokio::test(flavor = "multi_thread")]
async fn the_hook_writes_tests_for_many_new_functions_in_concurrent_batches() {
    let repo = GitRepo::new();
    let lib = format!(
        "{LIB_AT_HEAD}\n/// Twice `x`.\npub fn double(x: i32) -> i32 {{\n    x * 2\n}}\n\n\
         /// Three times `x`.\npub fn triple(x: i32) -> i32 {{\n    x * 3\n}}\n"
    );
    repo.write("src/lib.rs", &lib);
    repo.git(&["add", "src/lib.rs"]);
    let server = ScriptedServer::start().await;
    // The nano gate asks once per new function, before any tests are written.
    server.push(Reply::text("{\"answer\": \"yes\"}"));
    server.push(Reply::text("{\"answer\": \"yes\"}"));
    server.push_for(&batch_of("double"), Reply::tool_code(DOUBLE_TESTS), slow());
    server.push_for(&batch_of("triple"), Reply::tool_code(TRIPLE_TESTS), slow());

    let run = repo
        .kiln(
            &server.base_url(),
            &["hook", "run", "--mode", "fix"],
            &[("KILN_BATCH_SIZE", "1")],
        )
        .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert_eq!(server.remaining(), 0, "{}", run.describe());
    assert_eq!(server.peak_concurrent_requests(), 2, "{}", run.describe());
    let written = repo.read("src/lib.rs");
    assert_eq!(written.matches("mod tests").count(), 1, "{written}");
    assert!(
        written.contains("fn doubles()") && written.contains("fn triples()"),
        "{written}"
    );
    let tested = cargo_test(repo.dir.path());
    assert_eq!(tested.code, Some(0), "{}", tested.describe());
}
