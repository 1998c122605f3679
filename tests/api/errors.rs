use actix_web::web;

use crate::helpers::{TestEnv, assert_security_headers, spawn_app, spawn_app_with};

async fn panicking_handler() -> &'static str {
    panic!("deliberate test panic");
}

#[tokio::test]
async fn unknown_api_route_is_a_json_404_with_request_id() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/does-not-exist").await;
    assert_eq!(res.status(), 404);
    assert_security_headers(&res);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["request_id"], request_id.as_str());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not find")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn error_messages_follow_the_readers_language() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/nope"))
        .header("Accept-Language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("找不到")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_page_is_an_html_404_page() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/nowhere"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_security_headers(&res);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("data-status=\"404\""));
    app.shutdown().await;
}

#[tokio::test]
async fn a_handler_panic_becomes_a_500_with_our_body_and_headers() {
    let app = spawn_app_with(TestEnv::new(), |b| {
        b.routes(|cfg| {
            cfg.route("/api/v1/test-panic", web::get().to(panicking_handler));
        })
    })
    .await;
    let res = app.get("/api/v1/test-panic").await;
    assert_eq!(res.status(), 500);
    assert_security_headers(&res);
    assert!(res.headers().contains_key("x-request-id"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert!(
        !body.to_string().contains("deliberate"),
        "the panic message must not leak"
    );
    // The server keeps serving.
    assert_eq!(app.get("/livez").await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn oversized_json_is_a_413_with_the_limit() {
    let app = spawn_app().await;
    let big = "x".repeat(300 * 1024);
    let res = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .json(&serde_json::json!({ "token": big, "password": "long enough" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_security_headers(&res);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(body["error"]["details"]["limit_bytes"], 256 * 1024);
    app.shutdown().await;
}

#[tokio::test]
async fn malformed_json_is_a_422_with_a_stable_code() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .header("content-type", "application/json")
        .body("{\"token\": 5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request.invalid_json");
    let res = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    app.shutdown().await;
}
