//! A minimal hand-written HTTP/1.1 server (tokio only) that answers
//! OpenAI chat-completions and Responses API requests from one FIFO queue of
//! scripted replies, each encoded for the endpoint that asked.
//!
//! One request per connection: every response carries `Connection: close`
//! and the socket is closed after it, so clients open a new connection for
//! each request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::reply::{
    error_body, render, render_text_completion, Rendered, Reply, ReplyOptions, RequestInfo,
};
use super::responses::render_response;

/// Largest request head (request line + headers) accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One HTTP request as received (all paths, in arrival order).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Request target as sent, including any query string, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Header names are lower-cased; values are as sent, trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked if it was sent chunked), lossily decoded as UTF-8.
    pub body: String,
    /// When the whole request had arrived, by the wall clock (to order it against a file's
    /// mtime, say).
    pub received_at: std::time::SystemTime,
}

impl RecordedRequest {
    /// First value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    requests: Vec<RecordedRequest>,
    chat_count: usize,
    /// Model requests being answered right now, and the most there ever were at once.
    in_flight: usize,
    peak_in_flight: usize,
}

struct Queued {
    reply: Reply,
    opts: ReplyOptions,
    /// Only for a request whose body contains this text.
    only_for: Option<String>,
}

/// Counts a model request as in flight until dropped, however the connection ends.
struct InFlight(Arc<Mutex<State>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.0).in_flight -= 1;
    }
}

/// A scripted OpenAI-compatible server on `127.0.0.1:<random port>`.
/// Serves until dropped.
pub struct ScriptedServer {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    accept_task: JoinHandle<()>,
}

impl ScriptedServer {
    /// Binds `127.0.0.1:0` and starts serving in the background.
    pub async fn start() -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("scripted server: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("scripted server: local_addr");
        let state = Arc::new(Mutex::new(State::default()));
        let accept_state = Arc::clone(&state);
        let accept_task = tokio::spawn(async move {
            // Connection tasks live in this JoinSet, so aborting the accept
            // task (on drop) also aborts every connection still being served.
            let mut conns = JoinSet::new();
            loop {
                while conns.try_join_next().is_some() {}
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let st = Arc::clone(&accept_state);
                conns.spawn(async move {
                    // I/O errors just end this connection.
                    let _ = serve_connection(stream, st).await;
                });
            }
        });
        ScriptedServer {
            addr,
            state,
            accept_task,
        }
    }

    /// `http://127.0.0.1:PORT/v1`: the API base for an OpenAI client.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Queues a reply for the next `POST /v1/chat/completions`, `POST /v1/responses` or
    /// `POST /v1/completions` (one FIFO for all).
    pub fn push(&self, reply: Reply) {
        self.push_with(reply, ReplyOptions::default());
    }

    /// Queues a reply with extra knobs (delays, quirks, usage, Retry-After).
    pub fn push_with(&self, reply: Reply, opts: ReplyOptions) {
        self.lock().queue.push_back(Queued {
            reply,
            opts,
            only_for: None,
        });
    }

    /// Queues a reply only for a request whose body contains `needle`, e.g. a function name
    /// from the prompt: concurrent conversations each get their own script whatever the
    /// order their requests arrive in.
    pub fn push_for(&self, needle: &str, reply: Reply, opts: ReplyOptions) {
        self.lock().queue.push_back(Queued {
            reply,
            opts,
            only_for: Some(needle.to_string()),
        });
    }

    /// The most model requests that were being answered at the same time.
    pub fn peak_concurrent_requests(&self) -> usize {
        self.lock().peak_in_flight
    }

    /// Replies still queued (not yet consumed by a request).
    pub fn remaining(&self) -> usize {
        self.lock().queue.len()
    }

    /// Every request received so far, in order (all paths and methods).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Bodies of the `POST /v1/chat/completions` requests so far, parsed
    /// (a body that is not JSON shows up as `Value::String` of the raw text).
    pub fn chat_requests(&self) -> Vec<Value> {
        self.bodies(is_chat)
    }

    /// Bodies of the `POST /v1/responses` requests so far, parsed.
    pub fn responses_requests(&self) -> Vec<Value> {
        self.bodies(is_responses)
    }

    /// Bodies of the model turns so far, on either wire (chat completions or the
    /// Responses API), in arrival order.
    pub fn model_requests(&self) -> Vec<Value> {
        self.bodies(|method, path| is_chat(method, path) || is_responses(method, path))
    }

    fn bodies(&self, route: impl Fn(&str, &str) -> bool) -> Vec<Value> {
        self.lock()
            .requests
            .iter()
            .filter(|r| route(&r.method, &r.path))
            .map(|r| {
                serde_json::from_str(&r.body).unwrap_or_else(|_| Value::String(r.body.clone()))
            })
            .collect()
    }

    /// The model each chat request asked for, in order: which tier did the work.
    pub fn chat_models(&self) -> Vec<String> {
        self.chat_requests()
            .iter()
            .map(|r| r["model"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Bodies of the `POST /v1/completions` requests so far (native fill-in-the-middle), parsed.
    pub fn completion_requests(&self) -> Vec<Value> {
        self.bodies(is_completion)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the recorded requests.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

fn route(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

fn is_chat(method: &str, path: &str) -> bool {
    method == "POST" && route(path) == "/v1/chat/completions"
}

fn is_completion(method: &str, path: &str) -> bool {
    method == "POST" && route(path) == "/v1/completions"
}

fn is_responses(method: &str, path: &str) -> bool {
    method == "POST" && route(path) == "/v1/responses"
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

async fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = tokio::io::split(stream);
    let mut rd = BufReader::new(rd);

    let request = match read_request(&mut rd, &mut wr).await? {
        Ok(r) => r,
        Err(msg) => {
            let body = error_body(
                &format!("scripted server: bad request: {msg}"),
                "bad_request",
            );
            write_json(&mut wr, 400, &body, &[]).await?;
            return finish(wr).await;
        }
    };
    let method = request.method.clone();
    let path = request.path.clone();

    // Record first, and pick the reply under the same lock so numbering and
    // queue order follow arrival order.
    let action = {
        let mut st = lock(&state);
        st.requests.push(request.clone());
        if is_chat(&method, &path) || is_completion(&method, &path) || is_responses(&method, &path)
        {
            st.chat_count += 1;
            st.in_flight += 1;
            st.peak_in_flight = st.peak_in_flight.max(st.in_flight);
            let seq = st.chat_count;
            let body = &request.body;
            let next = st.queue.iter().position(|q| {
                q.only_for
                    .as_ref()
                    .is_none_or(|n| body.contains(n.as_str()))
            });
            let queued = next.and_then(|i| st.queue.remove(i));
            Some((seq, queued.map(|q| (q.reply, q.opts))))
        } else {
            None
        }
    };
    let _in_flight = action.is_some().then(|| InFlight(Arc::clone(&state)));

    match action {
        Some((seq, Some((reply, opts)))) => {
            let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
            let info = RequestInfo::from_body(seq, &body);
            if opts.delay_ms_before_first_byte > 0 {
                tokio::time::sleep(Duration::from_millis(opts.delay_ms_before_first_byte)).await;
            }
            let rendered = if is_completion(&method, &path) {
                render_text_completion(&reply, &opts, &info)
            } else if is_responses(&method, &path) {
                render_response(&reply, &opts, &info)
            } else {
                render(&reply, &opts, &info)
            };
            match rendered {
                Rendered::Json {
                    status,
                    body,
                    extra_headers,
                } => write_json(&mut wr, status, &body, &extra_headers).await?,
                Rendered::Empty { content_type } => {
                    write_head(&mut wr, 200, content_type, Some(0), &[]).await?;
                }
                Rendered::Sse(events) => {
                    write_head(&mut wr, 200, "text/event-stream", None, &[]).await?;
                    for (i, ev) in events.iter().enumerate() {
                        if i > 0 && opts.delay_ms_between_chunks > 0 {
                            tokio::time::sleep(Duration::from_millis(opts.delay_ms_between_chunks))
                                .await;
                        }
                        wr.write_all(ev.as_bytes()).await?;
                        wr.flush().await?;
                    }
                }
            }
        }
        Some((seq, None)) => {
            let body = error_body(
                &format!("scripted server: no reply queued for request {seq}"),
                "script_exhausted",
            );
            write_json(&mut wr, 500, &body, &[]).await?;
        }
        None if method == "GET" && route(&path) == "/v1/models" => {
            let body = json!({
                "object": "list",
                "data": [{"id": "scripted", "object": "model", "created": 0, "owned_by": "kiln-tests"}],
            });
            write_json(&mut wr, 200, &body.to_string(), &[]).await?;
        }
        None => {
            let body = error_body(
                &format!("scripted server: no route for {method} {path}"),
                "not_found",
            );
            write_json(&mut wr, 404, &body, &[]).await?;
        }
    }
    finish(wr).await
}

/// Flush, send FIN, and let the socket close when dropped.
async fn finish<W: AsyncWrite + Unpin>(mut wr: W) -> std::io::Result<()> {
    wr.flush().await?;
    wr.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

async fn write_head<W: AsyncWrite + Unpin>(
    wr: &mut W,
    status: u16,
    content_type: &str,
    content_length: Option<usize>,
    extra_headers: &[(String, String)],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nConnection: close\r\n",
        reason(status)
    );
    if let Some(len) = content_length {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    } else {
        // Body delimited by connection close (SSE).
        head.push_str("Cache-Control: no-cache\r\n");
    }
    for (k, v) in extra_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    wr.write_all(head.as_bytes()).await?;
    wr.flush().await
}

async fn write_json<W: AsyncWrite + Unpin>(
    wr: &mut W,
    status: u16,
    body: &str,
    extra_headers: &[(String, String)],
) -> std::io::Result<()> {
    write_head(
        wr,
        status,
        "application/json",
        Some(body.len()),
        extra_headers,
    )
    .await?;
    wr.write_all(body.as_bytes()).await?;
    wr.flush().await
}

/// Reads one request. Outer error: I/O; inner error: malformed request.
async fn read_request<R, W>(
    rd: &mut BufReader<R>,
    wr: &mut W,
) -> std::io::Result<Result<RecordedRequest, String>>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut head_bytes = 0usize;
    let mut line = Vec::new();

    // Request line (skip stray empty lines, as RFC 9112 allows).
    let request_line = loop {
        line.clear();
        let n = rd.read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head_bytes += n;
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if !text.is_empty() {
            break text;
        }
        if head_bytes > MAX_HEAD_BYTES {
            return Ok(Err("request head too large".into()));
        }
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Ok(Err(format!("bad request line {request_line:?}")));
    };
    let (method, path) = (method.to_string(), path.to_string());

    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = rd.read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head_bytes += n;
        if head_bytes > MAX_HEAD_BYTES {
            return Ok(Err("request head too large".into()));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let Some((k, v)) = text.split_once(':') else {
            return Ok(Err(format!("bad header line {text:?}")));
        };
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }

    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        wr.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        wr.flush().await?;
    }

    let chunked =
        get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        match read_chunked(rd).await? {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        }
    } else if let Some(len) = get("content-length") {
        let Ok(len) = len.parse::<usize>() else {
            return Ok(Err(format!("bad content-length {len:?}")));
        };
        if len > MAX_BODY_BYTES {
            return Ok(Err("body too large".into()));
        }
        let mut buf = vec![0u8; len];
        rd.read_exact(&mut buf).await?;
        buf
    } else {
        Vec::new()
    };

    Ok(Ok(RecordedRequest {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: std::time::SystemTime::now(),
    }))
}

async fn read_chunked<R: AsyncRead + Unpin>(
    rd: &mut BufReader<R>,
) -> std::io::Result<Result<Vec<u8>, String>> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if rd.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = String::from_utf8_lossy(&line);
        let size_text = text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return Ok(Err(format!("bad chunk size {size_text:?}")));
        };
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if rd.read_until(b'\n', &mut line).await? == 0 {
                    return Ok(Ok(body));
                }
                if line.iter().all(|b| *b == b'\r' || *b == b'\n') {
                    return Ok(Ok(body));
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Ok(Err("body too large".into()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        rd.read_exact(&mut body[start..]).await?;
        let mut crlf = [0u8; 2];
        rd.read_exact(&mut crlf).await?;
        if &crlf != b"\r\n" {
            return Ok(Err("chunk not followed by CRLF".into()));
        }
    }
}
