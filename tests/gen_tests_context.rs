//! What the first request carries beyond the file: the definitions of the types a target uses
//! from other files (crate-wide index), and how an async test can run in this crate. Real
//! binary, scripted server, real sandbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{kiln, message_text, DemoCrate, Reply, ScriptedServer};

const SHAPES: &str = "/// A rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn square(side: f64) -> Self {
        Rect { width: side, height: side }
    }

    pub fn flipped(&self) -> Rect {
        Rect { width: self.height, height: self.width }
    }
}
";

const AREA: &str = "use crate::shapes::Rect;

pub fn area(rect: &Rect) -> f64 {
    rect.width * rect.height
}

pub async fn area_later(rect: Rect) -> f64 {
    area(&rect)
}
";

const TESTS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_of_a_square() {
        assert_eq!(area(&Rect::square(3.0)), 9.0);
        assert_eq!(area(&Rect { width: 2.0, height: 5.0 }), 10.0);
    }
}
";

#[tokio::test(flavor = "multi_thread")]
async fn the_first_request_carries_types_from_other_files_and_the_async_test_runtime() {
    let demo = DemoCrate::new();
    let lib = demo.read_lib();
    demo.write(
        "src/lib.rs",
        &format!("{lib}\npub mod area;\npub mod shapes;\n"),
    );
    demo.write("src/shapes.rs", SHAPES);
    let area = demo.write("src/area.rs", AREA);
    let server = ScriptedServer::start().await;
    for _ in 0..4 {
        server.push(Reply::tool_code(TESTS));
    }

    let run = kiln(
        &server.base_url(),
        &["gen-tests", area.to_str().unwrap(), "--dry-run"],
    )
    .await;
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.describe());
    let requests = server.chat_requests();
    let first = message_text(&requests[0]);
    // The type from src/shapes.rs, with its derives and fields, and its constructor, not its
    // methods.
    assert!(first.contains("// from src/shapes.rs"), "{first}");
    assert!(
        first.contains("#[derive(Debug, Clone, Copy, PartialEq)]\npub struct Rect {"),
        "{first}"
    );
    assert!(first.contains("pub height: f64,"), "{first}");
    assert!(
        first.contains("pub fn square(side: f64) -> Self;"),
        "{first}"
    );
    assert!(!first.contains("flipped"), "{first}");
    // The demo has no async runtime: the model is told how to run `area_later` without one.
    assert!(
        first.contains("`#[tokio::test]` does not exist here"),
        "{first}"
    );
    assert!(first.contains("Waker::noop()"), "{first}");
}
