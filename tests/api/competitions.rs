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

#[tokio::test]
async fn the_public_rules_give_the_consent_age_the_server_applies_and_what_listeners_hear() {
    let mut env = crate::helpers::TestEnv::new();
    env.replace_in_config("[auth]\n", "[auth]\nage_of_digital_consent = 16\n");
    let app = crate::helpers::spawn_app_with(env, |b| b).await;
    let call = crate::submissions::open_call(
        &app,
        "rules-ages",
        serde_json::json!({ "min_age": 13, "max_age": 19 }),
    )
    .await;
    let page = |q: &'static str| {
        let url = app.url(&format!("/c/{}{q}", call.slug));
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let html = page("").await;
    assert!(
        html.contains("musicians under 16 need a parent’s or guardian’s consent"),
        "{html}"
    );
    assert!(!html.contains("under-14s"));
    assert!(html.contains("in stereo at up to 48 kHz"), "{html}");
    let zh = page("?lang=zh-CN").await;
    assert!(zh.contains("未满 16 岁需要父母或监护人同意"), "{zh}");
    app.shutdown().await;
}
