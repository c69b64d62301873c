//! Issue 17, item 4: a big file is planned before it is spent. gen-tests prints its plan
//! (functions, batches, estimated input tokens, cost where prices are known) before the first
//! request, and above `max_functions` it stops without a terminal to ask on unless `--yes`,
//! `--fn` or `--max-functions` says how much to spend. The real binary against a scripted
//! model; each test counts the requests the model saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{kiln, message_text, DemoCrate, Reply, ScriptedServer};

/// `count` small untested functions.
fn lib_with(count: usize) -> String {
    (0..count)
        .map(|i| format!("pub fn f_{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n\n"))
        .collect()
}

/// A candidate that builds and fails, so each batch ends after its one allowed attempt.
const FAILING_MODULE: &str =
    "#[cfg(test)]\nmod tests {\n    #[test]\n    fn fails() {\n        assert!(false);\n    }\n}\n";

const PRICES: &str =
    "[tiers.mini]\nmodel = \"gpt-5.4-mini\"\nprice_in_per_mtok = 0.75\nprice_out_per_mtok = 4.5\n";

#[tokio::test(flavor = "multi_thread")]
async fn over_max_functions_without_a_terminal_prints_the_plan_and_sends_nothing() {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", &lib_with(60));
    demo.write("kiln.toml", PRICES);
    let server = ScriptedServer::start().await;
    let lib = demo.lib_rs();
    for extra in [&[][..], &["--dry-run"][..], &["--json"][..]] {
        let mut args = vec!["gen-tests", lib.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = kiln(&server.base_url(), &args).await;
        assert_eq!(run.code, Some(2), "{extra:?}: {}", run.describe());
        for expected in [
            "kiln: plan: 60 functions in 12 batches, ~",
            "input tokens on the first attempts (estimated), input cost ~$0.",
            " at mini prices",
            "kiln: 60 functions is over max_functions (50); narrow it with --fn NAME or \
             --max-functions N, or pass --yes to spend it",
        ] {
            assert!(
                run.stderr.contains(expected),
                "{extra:?}: no {expected:?}:\n{}",
                run.describe()
            );
        }
    }
    assert_eq!(server.chat_requests().len(), 0, "nothing may be asked");
    assert_eq!(demo.read_lib(), lib_with(60));
}

#[tokio::test(flavor = "multi_thread")]
async fn max_functions_takes_the_first_n_and_the_model_sees_what_the_plan_said() {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", &lib_with(60));
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(FAILING_MODULE));
    let lib = demo.lib_rs();
    let args = [
        "gen-tests",
        lib.to_str().unwrap(),
        "--max-functions",
        "3",
        "--dry-run",
        "--max-attempts",
        "1",
    ];
    let run = kiln(&server.base_url(), &args).await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stderr.contains(
            "kiln: plan: the first 3 of 60 functions (in file order, through f_2) in 1 batch, ~"
        ),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("cost unknown: no prices for mini"),
        "{}",
        run.describe()
    );
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 1, "{}", run.describe());
    let prompt = message_text(&requests[0]);
    assert!(prompt.contains("`f_2` (line"), "{prompt}");
    assert!(!prompt.contains("`f_3` (line"), "{prompt}");
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_spends_a_plan_over_the_configured_max_functions_and_no_more() {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", &lib_with(12));
    demo.write("kiln.toml", "max_functions = 10\n");
    let server = ScriptedServer::start().await;
    let lib = demo.lib_rs();
    let refused = kiln(&server.base_url(), &["gen-tests", lib.to_str().unwrap()]).await;
    assert_eq!(refused.code, Some(2), "{}", refused.describe());
    assert!(
        refused
            .stderr
            .contains("12 functions is over max_functions (10)"),
        "{}",
        refused.describe()
    );
    assert_eq!(server.chat_requests().len(), 0);

    for _ in 0..3 {
        server.push(Reply::tool_code(FAILING_MODULE));
    }
    let args = [
        "gen-tests",
        lib.to_str().unwrap(),
        "--yes",
        "--max-attempts",
        "1",
    ];
    let run = kiln(&server.base_url(), &args).await;
    assert!(
        run.stderr.contains("kiln: plan: 12 functions in 3 batches"),
        "{}",
        run.describe()
    );
    assert_eq!(server.chat_requests().len(), 3, "{}", run.describe());
}
