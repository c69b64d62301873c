//! Client overhead on time-to-first-token: kiln's `LlmClient::chat` (streamed) until the first
//! text delta, vs a bare TCP client sending the same request to the same scripted server until the
//! response's first byte. The difference is what kiln's HTTP stack, SSE parsing and event plumbing
//! add before a user sees the first token.

use std::time::{Duration, Instant};

use kiln::config::Tier;
use kiln::llm::{messages, ChatRequest, LlmClient, LlmEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{median, ms, Figure, Mode, Result, Verdict};
use crate::support::{llm_client, Reply, ScriptedServer};

const FULL_SAMPLES: usize = 50;
/// Unmeasured calls first: connection setup paths, allocator and page faults settle.
const WARM_UP_CALLS: usize = 3;
const TARGET_MS: f64 = 5.0;
const PROMPT: &str = "Say hello.";
const ANSWER: &str = "Hello! How can I help you today?";

pub async fn figure(mode: Mode) -> Result<Figure<'static>> {
    let server = ScriptedServer::start().await;
    let client = llm_client(&server.base_url(), &[]);
    for _ in 0..WARM_UP_CALLS {
        kiln_first_token(&server, &client).await?;
        raw_first_byte(&server).await?;
    }
    let mut kiln_times = Vec::new();
    let mut raw_times = Vec::new();
    for _ in 0..mode.samples(FULL_SAMPLES) {
        kiln_times.push(kiln_first_token(&server, &client).await?);
        raw_times.push(raw_first_byte(&server).await?);
    }
    let kiln = median(&mut kiln_times);
    let reference = median(&mut raw_times);
    let overhead = kiln.saturating_sub(reference);
    Ok(Figure {
        name: "client overhead on time-to-first-token",
        measured: format!("{} (kiln first token)", ms(kiln)),
        reference: format!("server's first byte {}", ms(reference)),
        comparison: format!("+{}", ms(overhead)),
        target: "< 5 ms overhead",
        verdict: Verdict::of(overhead.as_secs_f64() * 1e3 < TARGET_MS),
    })
}

async fn kiln_first_token(server: &ScriptedServer, client: &LlmClient) -> Result<Duration> {
    server.push(Reply::text(ANSWER));
    let conversation = [messages::user(PROMPT)];
    let request = ChatRequest {
        tier: Tier::Mini,
        messages: &conversation,
        tools: &[],
        force_tool: None,
        previous: None,
    };
    let started = Instant::now();
    let mut first_token = None;
    let reply = client
        .chat(&request, &mut |event| {
            if matches!(event, LlmEvent::TextDelta(_)) && first_token.is_none() {
                first_token = Some(started.elapsed());
            }
        })
        .await?;
    if reply.content != ANSWER {
        return Err(format!("kiln's reply {:?} is not the scripted one", reply.content).into());
    }
    first_token.ok_or_else(|| "kiln streamed no text delta".into())
}

/// The same request kiln sends, written by hand over a fresh connection (the scripted server
/// closes each one, so kiln connects afresh too).
async fn raw_first_byte(server: &ScriptedServer) -> Result<Duration> {
    server.push(Reply::text(ANSWER));
    let body = serde_json::json!({
        "model": "scripted",
        "stream": true,
        "messages": [{"role": "user", "content": PROMPT}],
    })
    .to_string();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Authorization: Bearer bench-key\r\nContent-Length: {len}\r\n\r\n",
        addr = server.addr(),
        len = body.len()
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr()).await?;
    stream.set_nodelay(true)?;
    stream.write_all(format!("{head}{body}").as_bytes()).await?;
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).await?;
    let elapsed = started.elapsed();
    // Drain the reply so the server finishes this connection before the next sample.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await?;
    Ok(elapsed)
}
