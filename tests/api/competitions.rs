use cadenza::competitions::model::{CompetitionRow, DRAFT, PUBLISHED};
use cadenza::competitions::store;
use chrono::{Duration, NaiveDateTime, Utc};

use crate::helpers::{TestApp, spawn_app};

async fn add(app: &TestApp, slug: &str, status: &str, published_at: Option<NaiveDateTime>) {
    let now = Utc::now().naive_utc();
    let row = CompetitionRow {
        summary: "Songs for paintings".into(),
        status: status.into(),
        submissions_open_at: Some(now - Duration::days(1)),
        submissions_close_at: Some(now + Duration::days(10)),
        published_at,
        ..CompetitionRow::new(slug, &format!("Title {slug} <b>bold</b>"), None, now)
    };
    app.state
        .db
        .run(move |c| store::insert(c, &row))
        .await
        .unwrap();
}

#[tokio::test]
async fn empty_list_first() {
    let app = spawn_app().await;
    let body: serde_json::Value = app.get("/api/v1/competitions").await.json().await.unwrap();
    assert_eq!(body["items"], serde_json::json!([]));
    assert!(body["next_cursor"].is_null());
    app.shutdown().await;
}

#[tokio::test]
async fn only_published_competitions_are_listed_newest_first_with_cursors() {
    let app = spawn_app().await;
    let t0 = Utc::now().naive_utc() - Duration::hours(5);
    for i in 0..5 {
        add(
            &app,
            &format!("c{i}"),
            PUBLISHED,
            Some(t0 + Duration::minutes(i)),
        )
        .await;
    }
    add(&app, "draft", DRAFT, None).await;

    let first: serde_json::Value = app
        .get("/api/v1/competitions?limit=2")
        .await
        .json()
        .await
        .unwrap();
    let slugs = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["slug"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(slugs(&first), ["c4", "c3"]);
    assert_eq!(first["items"][0]["phase"], "open");
    assert!(
        first["items"][0]["submissions_close_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: serde_json::Value = app
        .get(&format!("/api/v1/competitions?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&second), ["c2", "c1"]);
    let cursor = second["next_cursor"].as_str().unwrap();
    let third: serde_json::Value = app
        .get(&format!("/api/v1/competitions?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&third), ["c0"]);
    assert!(third["next_cursor"].is_null());

    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("data-competitions"));
    assert!(
        html.contains("Title c4 &#60;b&#62;bold&#60;/b&#62;"),
        "titles are escaped"
    );
    assert!(!html.contains("Title draft"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_broken_cursor_is_a_clear_422() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/competitions?cursor=not-a-cursor").await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "pagination.invalid_cursor");
    let res = app.get("/api/v1/competitions?limit=abc").await;
    assert_eq!(res.status(), 422);
    app.shutdown().await;
}
