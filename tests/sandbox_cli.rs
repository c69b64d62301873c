//! The sandbox seen from outside: the real binary, the real sandbox, the scripted model. Generated
//! code that goes for the user's secrets, the terminal or the screen gets nothing out: not on
//! kiln's output, not in what kiln sends to the model, not into the user's shell.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{kiln, message_text, DemoCrate, Reply, ScriptedServer, Tmux, POLL_MS};

/// A candidate test module for the demo's `mean_floor` whose test first runs `attack`.
fn candidate(attack: &str) -> String {
    format!(
        "#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn mean_floor_of_one_value_is_that_value() {{
{attack}
        assert_eq!(mean_floor(&[1]), Some(1));
    }}
}}
"
    )
}

/// gen-tests on the demo with `--max-attempts 2`, both replies `code`: the second request
/// carries kiln's feedback on the first run.
async fn two_attempts(code: &str) -> (support::Run, Value, ScriptedServer) {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(code));
    server.push(Reply::tool_code(code));
    let demo = DemoCrate::new();
    let lib = demo.lib_rs();
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            lib.to_str().unwrap(),
            "--max-attempts",
            "2",
            "--tier",
            "mini",
            "--dry-run",
            "--json",
        ],
    )
    .await;
    let json: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.describe()));
    (run, json, server)
}

/// Everything kiln sent to the model server, as sent.
fn sent(server: &ScriptedServer) -> String {
    server
        .requests()
        .iter()
        .map(|request| request.body.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A file in the user's real home directory, removed on drop: what a stolen secret looks like.
struct HomeSecret {
    _dir: tempfile::TempDir,
    path: PathBuf,
    value: String,
}

impl HomeSecret {
    fn new() -> HomeSecret {
        let home = std::env::var_os("HOME").expect("HOME");
        let dir = tempfile::Builder::new()
            .prefix(".kiln-leak-probe-")
            .tempdir_in(home)
            .unwrap();
        let path = dir.path().join("credentials");
        // No credential shape: only the confinement can keep this one in.
        let value = format!("leak-sentinel-{}-{}", std::process::id(), line!());
        std::fs::write(&path, &value).unwrap();
        HomeSecret {
            _dir: dir,
            path,
            value,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_home_reaches_neither_the_screen_nor_the_model() {
    let secret = HomeSecret::new();
    let attack = format!(
        "        let got = std::fs::read_to_string({:?});\n        panic!(\"read: {{got:?}}\");",
        secret.path
    );
    let (run, json, server) = two_attempts(&candidate(&attack)).await;
    let chats = server.chat_requests();
    assert_eq!(chats.len(), 2, "{}", run.describe());
    // The failure was fed back, so the check below looks where a leak would be.
    let feedback = message_text(&chats[1]);
    assert!(feedback.contains("read: Err("), "no feedback:\n{feedback}");
    assert!(
        !sent(&server).contains(&secret.value),
        "the secret was sent"
    );
    assert!(
        !run.stdout.contains(&secret.value) && !run.stderr.contains(&secret.value),
        "the secret was shown:\n{}",
        run.describe()
    );
    assert_eq!(json["outcome"], "no_passing_result", "{}", run.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn escapes_and_credentials_a_test_prints_come_out_neutralised_redacted_and_counted() {
    // The key is put together at run time: the candidate's own code goes back to the model as
    // its earlier reply, and only what the run printed is under test.
    let attack = r#"        let key = format!("AKIA{}", "IOSFODNN7EXAMPLE");
        panic!("{}{key}", "\x1b]52;c;dG91Y2ggL3RtcC9wd25lZA==\x07\x1b[2J\x1b]0;owned\x07 key ");"#;
    let (run, json, server) = two_attempts(&candidate(attack)).await;
    let chats = server.chat_requests();
    assert_eq!(chats.len(), 2, "{}", run.describe());
    let feedback = message_text(&chats[1]);
    assert!(feedback.contains("]52;c;"), "no feedback:\n{feedback}");
    // The parsed messages, so a JSON-escaped \u001b counts as the ESC it decodes to.
    for chat in &chats {
        let text = message_text(chat);
        assert!(
            !text.contains('\x1b'),
            "an ESC byte went to the model: {text:?}"
        );
    }
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains('\x1b'),
            "an ESC byte on {stream}:\n{}",
            run.describe()
        );
    }
    assert!(!sent(&server).contains("AKIAIOSFODNN7EXAMPLE"));
    assert!(
        !run.stderr.contains("AKIAIOSFODNN7EXAMPLE"),
        "{}",
        run.describe()
    );
    assert!(feedback.contains("[redacted]"), "{feedback}");
    let redacted = json["secrets_redacted"].as_u64().unwrap();
    assert!(
        redacted >= 2,
        "one per attempt at least: {redacted}\n{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("replaced with [redacted]"),
        "{}",
        run.describe()
    );
}

/// Pushes `touch <marker>` into the controlling terminal's input with TIOCSTI, as a shell
/// would read it once the foreground program exits.
fn terminal_injection(marker: &Path) -> String {
    format!(
        r#"        extern "C" {{
            fn ioctl(fd: i32, request: u64, ...) -> i32;
        }}
        if let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") {{
            use std::os::fd::AsRawFd as _;
            for byte in "touch {marker}\n".bytes() {{
                unsafe {{ ioctl(tty.as_raw_fd(), 0x5412, &byte as *const u8) }};
            }}
        }}"#,
        marker = marker.display()
    )
}

fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(support::WAIT_LIMIT_SECS),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(POLL_MS));
    }
}

/// How long the shell gets to run what was pushed into its input, after the program exits.
const SHELL_GRACE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread")]
async fn a_test_cannot_type_into_the_users_shell() {
    if !Tmux::available() {
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    // The control: the same attack run by plain `cargo test` in the pane types into its shell
    // wherever the kernel allows TIOCSTI. Without that, the kiln half would prove nothing.
    let control = tempfile::tempdir().unwrap();
    let control_marker = out.path().join("typed-by-plain-cargo");
    std::fs::write(
        control.path().join("Cargo.toml"),
        "[package]\nname = \"injector\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::create_dir(control.path().join("src")).unwrap();
    std::fs::write(
        control.path().join("src/lib.rs"),
        format!(
            "#[test]\nfn inject() {{\n{}\n}}\n",
            terminal_injection(&control_marker)
        ),
    )
    .unwrap();
    let control_done = out.path().join("control-done");
    let tmux = Tmux::start(&format!(
        "cd {dir} && CARGO_TARGET_DIR={dir}/target {cargo} test -q >/dev/null 2>&1; \
         touch {done}; exec bash --norc --noprofile",
        dir = control.path().display(),
        cargo = env!("CARGO"),
        done = control_done.display(),
    ));
    wait_for(&control_done);
    std::thread::sleep(SHELL_GRACE);
    if !control_marker.exists() {
        eprintln!(
            "skipped: this kernel refuses TIOCSTI to plain processes too \
             (dev.tty.legacy_tiocsti = 0), so there is nothing to confine"
        );
        return;
    }

    let server = ScriptedServer::start().await;
    let kiln_marker = out.path().join("typed-through-kiln");
    server.push(Reply::tool_code(&candidate(&terminal_injection(
        &kiln_marker,
    ))));
    let demo = DemoCrate::new();
    let config_home = tempfile::tempdir().unwrap();
    let cache_home = tempfile::tempdir().unwrap();
    let kiln_done = out.path().join("kiln-done");
    let command = format!(
        "env OPENAI_BASE_URL={url} OPENAI_API_KEY=test-key XDG_CONFIG_HOME={config} \
         KILN_CACHE_DIR={cache} KILN_MAX_RETRIES=0 {kiln} gen-tests {lib} --max-attempts 1 \
         --tier mini --dry-run; echo $? > {done}",
        url = server.base_url(),
        config = config_home.path().display(),
        cache = cache_home.path().display(),
        kiln = env!("CARGO_BIN_EXE_kiln"),
        lib = demo.lib_rs().display(),
        done = kiln_done.display(),
    );
    tmux.keys(&[&command, "Enter"]);
    wait_for(&kiln_done);
    std::thread::sleep(SHELL_GRACE);
    let screen = tmux.screen();
    // Exit 0: the candidate's test ran and passed, so its attack ran too.
    let exit = std::fs::read_to_string(&kiln_done).unwrap();
    assert!(
        server.chat_requests().len() == 1 && exit.trim() == "0",
        "kiln did not run the candidate (exit {exit}):\n{screen}"
    );
    assert!(
        !kiln_marker.exists(),
        "the candidate typed into the shell through kiln:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn code_with_raw_control_characters_is_refused_before_it_reaches_the_screen() {
    // A real ESC in the model's code: the diff of it would clear the screen and set the title.
    let raw = candidate("        let _ = \"\x1b[2J\x1b]0;owned\x07\";");
    let (run, json, server) = two_attempts(&raw).await;
    let chats = server.chat_requests();
    assert_eq!(chats.len(), 2, "{}", run.describe());
    assert!(
        message_text(&chats[1]).contains("raw control character (\\u{1b})"),
        "{}",
        message_text(&chats[1])
    );
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains('\x1b'),
            "an ESC byte on {stream}:\n{}",
            run.describe()
        );
    }
    assert_eq!(json["outcome"], "no_passing_result", "{}", run.describe());
}
