//! Self-tests of the scripted server over raw HTTP: routes, request encodings and response
//! shapes that the async-openai client never exercises on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Reply, ReplyOptions, ScriptedServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// Upper bound for any single operation, so a broken server fails the test instead of hanging.
const LIMIT: Duration = Duration::from_secs(20);

/// Sends raw bytes, returns the whole response (server closes the socket).
async fn raw_http(server: &ScriptedServer, bytes: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut out))
        .await
        .expect("raw response did not end")
        .unwrap();
    String::from_utf8(out).unwrap()
}

fn split_response(resp: &str) -> (&str, &str) {
    resp.split_once("\r\n\r\n").expect("no end of head")
}

#[tokio::test]
async fn models_endpoint_lists_scripted() {
    let server = ScriptedServer::start().await;
    let resp = raw_http(
        &server,
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test\r\n\r\n",
    )
    .await;
    let (head, body) = split_response(&resp);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "scripted");
    assert_eq!(v["data"][0]["owned_by"], "kiln-tests");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", "/v1/models")
    );
    assert!(server.chat_requests().is_empty());
}

#[tokio::test]
async fn unknown_path_is_404_json_and_recorded() {
    let server = ScriptedServer::start().await;
    server.push(Reply::text("must stay queued"));
    let resp = raw_http(
        &server,
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await;
    let (head, body) = split_response(&resp);
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    assert!(head.contains("Connection: close"), "{head}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/v1/embeddings"));
    assert_eq!(server.requests()[0].body, "{}");
    assert_eq!(server.remaining(), 1);
}

#[tokio::test]
async fn completions_route_answers_text_replies_as_text_completions() {
    let server = ScriptedServer::start().await;
    server.push(Reply::text("x * 2"));
    server.push(Reply::tool_code("fn a() {}"));
    let request = br#"{"model":"m","prompt":"fn f() {","suffix":"}"}"#;
    let head = format!(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        request.len()
    );
    let raw = [head.as_bytes(), request].concat();
    let resp = raw_http(&server, &raw).await;
    let (head, body) = split_response(&resp);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "x * 2");
    assert_eq!(v["model"], "m");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(server.completion_requests()[0]["suffix"], "}");
    assert!(server.chat_requests().is_empty());

    let resp = raw_http(&server, &raw).await;
    let (head, _) = split_response(&resp);
    assert!(
        head.starts_with("HTTP/1.1 500 "),
        "a tool call cannot answer a completion: {head}"
    );
}

#[tokio::test]
async fn chunked_request_body_is_decoded() {
    let server = ScriptedServer::start().await;
    server.push(Reply::text("chunked ok"));
    let body = r#"{"model":"chunky","messages":[{"role":"user","content":"hi"}]}"#;
    let (a, b) = body.split_at(10);
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let resp = raw_http(&server, raw.as_bytes()).await;
    let (head, body_out) = split_response(&resp);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let v: serde_json::Value = serde_json::from_str(body_out).unwrap();
    assert_eq!(v["model"], "chunky");
    assert_eq!(v["choices"][0]["message"]["content"], "chunked ok");
    assert_eq!(server.requests()[0].body, body);
    assert_eq!(server.chat_requests()[0]["model"], "chunky");
}

#[tokio::test]
async fn raw_sse_shape() {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code("x"));
    let body =
        r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#;
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = raw_http(&server, raw.as_bytes()).await;
    let (head, sse) = split_response(&resp);
    assert!(head.contains("Content-Type: text/event-stream"), "{head}");
    assert!(sse.ends_with("data: [DONE]\n\n"), "{sse}");
    let events: Vec<serde_json::Value> = sse
        .split("\n\n")
        .filter(|e| !e.is_empty() && *e != "data: [DONE]")
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let first = &events[0]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    assert_eq!(first["tool_calls"][0]["index"], 0);
    assert_eq!(first["tool_calls"][0]["type"], "function");
    assert_eq!(first["tool_calls"][0]["function"]["name"], "run_code");
    assert_eq!(first["tool_calls"][0]["function"]["arguments"], "");
    let n = events.len();
    assert_eq!(events[n - 2]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(events[n - 2]["choices"][0]["delta"], json!({}));
    assert_eq!(events[n - 1]["choices"], json!([]));
    assert!(events[n - 1]["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert!(events[..n - 1].iter().all(|e| e["usage"].is_null()));
}

#[tokio::test]
async fn retry_after_header_on_http_error() {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::rate_limit(),
        ReplyOptions {
            retry_after_secs: Some(7),
            ..Default::default()
        },
    );
    let body = r#"{"model":"m","messages":[]}"#;
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = raw_http(&server, raw.as_bytes()).await;
    let (head, body_out) = split_response(&resp);
    assert!(head.starts_with("HTTP/1.1 429 "), "{head}");
    assert!(head.contains("\r\nRetry-After: 7"), "{head}");
    let v: serde_json::Value = serde_json::from_str(body_out).unwrap();
    assert_eq!(v["error"]["message"], "Rate limit");
    assert_eq!(v["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn drop_stops_the_server() {
    let server = ScriptedServer::start().await;
    let addr = server.addr();
    drop(server);
    // Abort is asynchronous: give the runtime a moment to drop the listener.
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "still accepting after drop");
}
