use crate::helpers::{
    TestEnv, assert_security_headers, spawn_app, spawn_app_with, test_store_is_s3,
};

#[tokio::test]
async fn livez_and_readyz_answer() {
    let app = spawn_app().await;
    let res = app.get("/livez").await;
    assert_eq!(res.status(), 200);
    assert_security_headers(&res);
    assert!(res.headers().contains_key("x-request-id"));
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["storage"], "ok");
    app.shutdown().await;
}

#[tokio::test]
async fn readyz_reports_a_broken_store_while_livez_stays_up() {
    if test_store_is_s3() {
        // The S3 variant of this check lives in the storage contract (unreachable endpoint).
        return;
    }
    let app = spawn_app_with(TestEnv::new(), |b| b).await;
    // Replace the local store's folder with a file: writes now fail.
    let root = app.env.dir.path().join("objects");
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::write(&root, b"not a folder").unwrap();
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    assert_security_headers(&res);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["storage"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(app.get("/livez").await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app().await;
    app.get("/").await;
    app.get("/no/such/page").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains("cadenza_http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("status=\"404\""), "{text}");
    assert!(text.contains("cadenza_build_info"));
    app.shutdown().await;
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app = spawn_app_with(
        TestEnv::with_extra("[metrics]\ntoken = \"s3cret-token\"\n"),
        |b| b,
    )
    .await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let ok = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn openapi_document_and_offline_docs_page() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: serde_json::Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/livez",
        "/readyz",
        "/api/v1/competitions",
        "/api/v1/account/password-setup",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), 200);
    assert_security_headers(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"));
    // The UI's script is served by us, not a CDN.
    let js = app.get("/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(js.status(), 200);
    app.shutdown().await;
}
