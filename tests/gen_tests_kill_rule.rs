//! The kill rule end to end (issue 15): the real binary, a scripted model, real cargo in a
//! sandbox, on real functions. A test is kept only if it catches a mutant with its own check;
//! failing because the mutant crashed (an index out of bounds, an overflow) is no catch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{json, Value};
use support::{kiln_json, DemoCrate, Reply, ScriptedServer};

const LIB: &str = "//! Real functions with edges, as a user's crate has them.

/// How many leading bytes `a` and `b` share.
pub fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    while n < a.len() && n < b.len() && a[n] == b[n] {
        n += 1;
    }
    n
}

/// The port of `host:port`.
pub fn port(addr: &str) -> Result<u16, String> {
    let (_, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!(\"no port in {addr}\"))?;
    port.parse().map_err(|_| format!(\"bad port {port}\"))
}

/// `s` without its leading dash, if it has one.
pub fn strip_dash(s: &str) -> Option<&str> {
    s.strip_prefix('-')
}

/// The mean of `values`; panics on an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        panic!(\"mean of an empty slice\");
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// A greeting for `name`.
pub fn greet(name: &str) -> String {
    let mut greeting = String::from(\"hi \");
    greeting += name;
    greeting
}
";

/// Each test's name says what it is; the comment says what the kill rule must make of it.
const TESTS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    // Kept: a wrong value fails its assertion.
    #[test]
    fn shares_two_bytes() {
        assert_eq!(common_prefix(b\"abc\", b\"abd\"), 2);
    }

    // Dropped: a tautology; it fails only when the mutant crashes inside the function.
    #[test]
    fn same_prefix_twice() {
        assert_eq!(common_prefix(b\"ab\", b\"ac\"), common_prefix(b\"ab\", b\"ac\"));
    }

    // Dropped: a smoke call.
    #[test]
    fn runs_without_checking() {
        let _ = common_prefix(b\"ab\", b\"ac\");
    }

    // Dropped: an assertion that is always true.
    #[test]
    fn length_is_never_negative() {
        assert!(common_prefix(b\"ab\", b\"ac\") as i64 >= 0);
    }

    // Dropped: an assertion no mutant's value breaks; its only failures are crashes.
    #[test]
    fn prefix_is_at_most_the_length() {
        assert!(common_prefix(b\"ab\", b\"ab\") <= 2);
    }

    // Kept: `Ok(..)` mutants make it fail.
    #[test]
    fn missing_port_is_an_error() {
        assert!(port(\"localhost\").is_err());
    }

    // Kept: `Some(..)` mutants make it fail.
    #[test]
    fn no_dash_is_none() {
        assert_eq!(strip_dash(\"abc\"), None);
    }

    // Dropped: a tautology that nothing crashes.
    #[test]
    fn same_strip_twice() {
        assert_eq!(strip_dash(\"-a\"), strip_dash(\"-a\"));
    }

    // Kept: a wrong value fails its assertion (`+=` -> `-=` does not build on a `String`).
    #[test]
    fn greets_by_name() {
        assert_eq!(greet(\"bo\"), \"hi bo\");
    }

    // Kept: a mutant that returns a value removes the panic it expects.
    #[test]
    #[should_panic(expected = \"empty\")]
    fn empty_mean_panics() {
        mean(&[]);
    }
}
";

fn functions(result: &Value) -> Vec<Value> {
    result["validation"]["functions"]
        .as_array()
        .unwrap()
        .clone()
}

fn function<'a>(functions: &'a [Value], name: &str) -> &'a Value {
    functions.iter().find(|f| f["function"] == name).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_is_kept_only_when_its_own_check_catches_a_mutant() {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", LIB);
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(TESTS));

    let lib = demo.lib_rs();
    let args = ["gen-tests", lib.to_str().unwrap(), "--max-attempts", "1"];
    let (run, result) = kiln_json(&server.base_url(), &args).await;
    assert_eq!(result["outcome"], "proposed", "{result:#}");
    assert_eq!(
        result["summary"],
        "5 tests: shares_two_bytes, missing_port_is_an_error, no_dash_is_none, greets_by_name, \
         empty_mean_panics",
        "{result:#}"
    );
    let functions = functions(&result);
    let dropped: Vec<(String, String)> = functions
        .iter()
        .flat_map(|f| f["dropped"].as_array().unwrap().clone())
        .map(|d| {
            let name = d["name"].as_str().unwrap().to_string();
            (name, d["reason"].as_str().unwrap().to_string())
        })
        .collect();
    let only_crashes = |name: &str| (name.to_string(), "only_crashes".to_string());
    assert_eq!(
        dropped,
        vec![
            only_crashes("same_prefix_twice"),
            only_crashes("runs_without_checking"),
            only_crashes("length_is_never_negative"),
            only_crashes("prefix_is_at_most_the_length"),
            (
                "same_strip_twice".to_string(),
                "kills_no_mutant".to_string()
            ),
        ],
        "{result:#}"
    );

    // Every mutant, with its outcome and the proof: which tests caught it or crashed on it.
    let prefix = function(&functions, "common_prefix");
    let crashers = json!([
        "shares_two_bytes",
        "same_prefix_twice",
        "runs_without_checking",
        "length_is_never_negative",
        "prefix_is_at_most_the_length"
    ]);
    let mutant = |description: &str, outcome: &str, caught_by: Value, crashed_in: Value| {
        json!({
            "description": description,
            "outcome": outcome,
            "caught_by": caught_by,
            "crashed_in": crashed_in,
        })
    };
    let by_value_test = json!(["shares_two_bytes"]);
    assert_eq!(
        prefix["mutants"],
        json!([
            mutant(
                "body replaced by `0`",
                "caught",
                by_value_test.clone(),
                json!([])
            ),
            mutant(
                "body replaced by `1`",
                "caught",
                by_value_test.clone(),
                json!([])
            ),
            mutant("`<` -> `<=` at 6:13", "survived", json!([]), json!([])),
            mutant(
                "`&&` -> `||` at 6:38",
                "crashed",
                json!([]),
                crashers.clone()
            ),
            mutant("`+=` -> `-=` at 7:11", "crashed", json!([]), crashers),
            mutant(
                "`<` -> `>` at 6:13",
                "caught",
                by_value_test.clone(),
                json!([])
            ),
            // `.. && n < b.len() && ..` with its first `&&` replaced reads
            // `n < a.len() || (n < b.len() && ..)`: it counts one byte too many.
            mutant("`&&` -> `||` at 6:23", "caught", by_value_test, json!([])),
            mutant("`<` -> `<=` at 6:28", "survived", json!([]), json!([])),
        ]),
        "{prefix:#}"
    );
    let counts = |f: &Value| {
        [
            "mutants_made",
            "mutants_unviable",
            "mutants_caught",
            "mutants_crashed",
            "mutants_survived",
        ]
        .map(|k| f[k].as_u64().unwrap())
    };
    assert_eq!(counts(prefix), [8, 0, 4, 2, 2]);
    assert_eq!(prefix["mutation_score"], 0.5);
    assert_eq!(
        prefix["survivors"],
        json!(["`<` -> `<=` at 6:13", "`<` -> `<=` at 6:28"])
    );
    let port = function(&functions, "port");
    assert_eq!(counts(port), [3, 0, 2, 0, 1], "{port:#}");
    assert_eq!(
        port["survivors"],
        json!(["body replaced by `Err(String::new())`"])
    );
    let strip = function(&functions, "strip_dash");
    assert_eq!(counts(strip), [3, 0, 2, 0, 1], "{strip:#}");
    assert_eq!(strip["survivors"], json!(["body replaced by `None`"]));
    let mean = function(&functions, "mean");
    assert_eq!(counts(mean), [6, 0, 4, 0, 2], "{mean:#}");
    assert_eq!(
        mean["mutants"][4],
        mutant(
            "`if` condition negated at 27:5",
            "caught",
            json!(["empty_mean_panics"]),
            json!([])
        )
    );

    // A mutant that does not build judges nothing, and the score is over the viable ones.
    let greet = function(&functions, "greet");
    assert_eq!(counts(greet), [3, 1, 2, 0, 0], "{greet:#}");
    assert_eq!(greet["mutation_score"], 1.0);
    assert_eq!(
        greet["mutants"][2],
        mutant("`+=` -> `-=` at 36:14", "unviable", json!([]), json!([]))
    );

    // The user reads the same numbers.
    assert!(
        run.stderr.contains(
            "kiln: common_prefix: 1 kept (shares_two_bytes), 4 dropped (same_prefix_twice: only \
             crashes, catches no mutant; runs_without_checking: only crashes, catches no mutant; \
             length_is_never_negative: only crashes, catches no mutant; \
             prefix_is_at_most_the_length: only crashes, catches no mutant), mutants 4/8 caught \
             (50%; by shares_two_bytes 4), 2 crashed only, 2 survived; survivors: `<` -> `<=` at \
             6:13; `<` -> `<=` at 6:28, attempts: mini 1"
        ),
        "{}",
        run.describe()
    );
    let diff = result["diff"].as_str().unwrap();
    for kept in [
        "shares_two_bytes",
        "missing_port_is_an_error",
        "no_dash_is_none",
        "empty_mean_panics",
    ] {
        assert!(
            diff.contains(&format!("+    fn {kept}()")),
            "{kept}\n{diff}"
        );
    }
    for dropped in [
        "same_prefix_twice",
        "runs_without_checking",
        "same_strip_twice",
    ] {
        assert!(!diff.contains(dropped), "{dropped}\n{diff}");
    }
}
