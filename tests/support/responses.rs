//! The same scripted replies as answers to `POST /v1/responses`: a response object, or the
//! Responses API's server-sent events (`response.created`, output items, text and argument
//! deltas, `response.completed` with usage), with the same faults as on chat.

use serde_json::{json, Value};

use super::reply::{
    call_id, parts, pieces, render, token_counts, with_stream_faults, Rendered, Reply,
    ReplyOptions, RequestInfo, CREATED,
};

/// `resp_<n>` for the n-th model request: what a later request's `previous_response_id` names.
pub fn response_id(seq: usize) -> String {
    format!("resp_{seq}")
}

pub(crate) fn render_response(reply: &Reply, opts: &ReplyOptions, req: &RequestInfo) -> Rendered {
    if matches!(reply, Reply::HttpError { .. } | Reply::EmptyOk) {
        // Nothing of these is in the body's encoding: the same bytes on both wires.
        return render(reply, opts, req);
    }
    // `NoChoices` has neither: a response with an empty output.
    let (text, call) = parts(reply);
    let message = text.map(|text| {
        json!({"type": "message", "id": format!("msg_{}", req.seq), "role": "assistant",
               "status": "completed",
               "content": [{"type": "output_text", "text": text, "annotations": []}]})
    });
    let function_call = call.map(|(name, arguments)| {
        json!({"type": "function_call", "id": format!("fc_{}", req.seq), "call_id": call_id(req),
               "name": name, "arguments": arguments, "status": "completed"})
    });
    let output: Vec<Value> = message.iter().chain(&function_call).cloned().collect();
    let (input_tokens, output_tokens) = token_counts(text, call, opts, req);
    let (cached, reasoning) = opts.usage_details.unwrap_or((0, 0));
    let usage = (!opts.omit_usage).then(|| {
        json!({"input_tokens": input_tokens,
               "input_tokens_details": {"cached_tokens": cached},
               "output_tokens": output_tokens,
               "output_tokens_details": {"reasoning_tokens": reasoning},
               "total_tokens": input_tokens + output_tokens})
    });
    let ending = Ending::of(opts);
    if !req.stream {
        let whole = response(req, ending.status(), &output, usage, opts);
        return Rendered::Json {
            status: 200,
            body: whole.to_string(),
            extra_headers: Vec::new(),
        };
    }
    let mut events = vec![(
        "response.created",
        json!({"response": response(req, "in_progress", &[], None, opts)}),
    )];
    for (index, item) in output.iter().enumerate() {
        events.extend(item_events(index, item, opts));
    }
    events.push((
        ending.event(),
        json!({"response": response(req, ending.status(), &output, usage, opts)}),
    ));
    let out = events
        .into_iter()
        .enumerate()
        .map(|(seq, (kind, mut data))| {
            data["type"] = json!(kind);
            data["sequence_number"] = json!(seq);
            format!("event: {kind}\ndata: {data}\n\n")
        })
        .collect();
    Rendered::Sse(with_stream_faults(out, opts))
}

/// How a response ends: completed, cut at the output cap, or failed.
enum Ending {
    Completed,
    Incomplete,
    Failed,
}

impl Ending {
    fn of(opts: &ReplyOptions) -> Ending {
        if opts.fail_with_code.is_some() {
            Ending::Failed
        } else if opts.finish_reason.as_deref() == Some("length") {
            Ending::Incomplete
        } else {
            Ending::Completed
        }
    }

    fn status(&self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Incomplete => "incomplete",
            Ending::Failed => "failed",
        }
    }

    fn event(&self) -> &'static str {
        match self {
            Ending::Completed => "response.completed",
            Ending::Incomplete => "response.incomplete",
            Ending::Failed => "response.failed",
        }
    }
}

fn response(
    req: &RequestInfo,
    status: &str,
    output: &[Value],
    usage: Option<Value>,
    opts: &ReplyOptions,
) -> Value {
    let mut response = json!({
        "id": response_id(req.seq), "object": "response", "created_at": CREATED,
        "status": status, "model": req.model, "output": output,
        "usage": usage.unwrap_or(Value::Null), "error": null,
    });
    if status == "failed" {
        let code = opts.fail_with_code.clone().unwrap_or_default();
        response["error"] = json!({"code": code, "message": "scripted failure"});
    }
    if status == "incomplete" {
        response["incomplete_details"] = json!({"reason": "max_output_tokens"});
    }
    response
}

/// One output item as a stream tells it: added (empty), its deltas, its whole text or
/// arguments, done.
fn item_events(index: usize, item: &Value, opts: &ReplyOptions) -> Vec<(&'static str, Value)> {
    let item_id = item["id"].clone();
    let mut added = item.clone();
    added["status"] = json!("in_progress");
    let mut events = Vec::new();
    if item["type"] == "function_call" {
        added["arguments"] = json!("");
        events.push((
            "response.output_item.added",
            json!({"output_index": index, "item": added}),
        ));
        let arguments = item["arguments"].as_str().unwrap_or_default();
        for piece in pieces(arguments, opts) {
            events.push((
                "response.function_call_arguments.delta",
                json!({"item_id": item_id, "output_index": index, "delta": piece}),
            ));
        }
        events.push((
            "response.function_call_arguments.done",
            json!({"item_id": item_id, "output_index": index, "arguments": arguments}),
        ));
    } else {
        added["content"] = json!([]);
        events.push((
            "response.output_item.added",
            json!({"output_index": index, "item": added}),
        ));
        let text = item["content"][0]["text"].as_str().unwrap_or_default();
        for piece in pieces(text, opts) {
            events.push((
                "response.output_text.delta",
                json!({"item_id": item_id, "output_index": index, "content_index": 0, "delta": piece}),
            ));
        }
        events.push((
            "response.output_text.done",
            json!({"item_id": item_id, "output_index": index, "content_index": 0, "text": text}),
        ));
    }
    events.push((
        "response.output_item.done",
        json!({"output_index": index, "item": item}),
    ));
    events
}
