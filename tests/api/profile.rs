//! The account page's data: profile, avatar, sessions, data export and erasure.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn access(t: &Value) -> String {
    t["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_profile_can_be_edited_within_its_rules() {
    let app = spawn_app().await;
    let t = app.signed_in_musician("prof@example.org").await;
    let put = |body: Value| {
        let (app, token) = (&app, access(&t));
        async move {
            app.client
                .put(app.url("/api/v1/me/profile"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let ok = put(json!({ "stage_name": "Moon River", "bio": "I play the erhu.", "links": ["https://example.org/me"], "language": "zh-CN" })).await;
    assert_eq!(ok.status(), 200);
    let p: Value = ok.json().await.unwrap();
    assert_eq!(p["stage_name"], "Moon River");
    assert_eq!(p["links"], json!(["https://example.org/me"]));
    let me: Value = app
        .get_with("/api/v1/me", &access(&t))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["stage_name"].as_str(), me["language"].as_str()),
        (Some("Moon River"), Some("zh-CN"))
    );
    for (body, code) in [
        (
            json!({ "stage_name": "X", "links": ["javascript:alert(1)"], "language": "en" }),
            "account.link_invalid",
        ),
        (
            json!({ "stage_name": "X", "links": vec!["https://a.example"; 6], "language": "en" }),
            "account.too_many_links",
        ),
        (
            json!({ "stage_name": "X", "bio": "b".repeat(501), "language": "en" }),
            "account.bio_too_long",
        ),
        (
            json!({ "stage_name": "X", "language": "fr" }),
            "account.language_invalid",
        ),
    ] {
        let res = put(body).await;
        assert_eq!(res.status(), 422);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], code);
    }
    app.shutdown().await;
}

#[tokio::test]
async fn avatars_are_images_of_at_most_one_mebibyte() {
    let app = spawn_app().await;
    let t = app.signed_in_musician("pic@example.org").await;
    let png = crate::helpers::tiny_png();
    let up = |bytes: Vec<u8>| {
        let (app, token) = (&app, access(&t));
        async move {
            app.client
                .put(app.url("/api/v1/me/avatar"))
                .bearer_auth(token)
                .body(bytes)
                .send()
                .await
                .unwrap()
        }
    };
    let res = up(png.clone()).await;
    assert_eq!(res.status(), 200);
    let url = res.json::<Value>().await.unwrap()["avatar_url"]
        .as_str()
        .unwrap()
        .to_string();
    let img = app.get(&url).await;
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.headers()["x-content-type-options"], "nosniff");
    assert_eq!(img.bytes().await.unwrap().to_vec(), png);
    let html = up(b"<html><script>alert(1)</script></html>".to_vec()).await;
    assert_eq!(html.status(), 422);
    assert_eq!(
        html.json::<Value>().await.unwrap()["error"]["code"],
        "account.avatar_type"
    );
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(1024 * 1024 + 10, 0);
    assert_eq!(up(big).await.status(), 413);
    assert_eq!(app.get("/avatars/nobody").await.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn sessions_are_listed_and_can_be_ended_one_by_one() {
    let app = spawn_app().await;
    let a = app.signed_in_musician("dev@example.org").await;
    let b: Value = app
        .sign_in("dev@example.org", "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    let list: Value = app
        .get_with("/api/v1/me/sessions", &access(&a))
        .await
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let other = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let del = app
        .client
        .delete(app.url(&format!("/api/v1/me/sessions/{other}")))
        .bearer_auth(access(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(app.get_with("/api/v1/me", &access(&b)).await.status(), 401);
    assert_eq!(app.get_with("/api/v1/me", &access(&a)).await.status(), 200);
    // Someone else's session is not found, not forbidden: nothing is revealed.
    let c = app.signed_in_musician("other@example.org").await;
    let theirs: Value = app
        .get_with("/api/v1/me/sessions", &access(&c))
        .await
        .json()
        .await
        .unwrap();
    let their_id = theirs[0]["id"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/me/sessions/{their_id}")))
        .bearer_auth(access(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(app.get_with("/api/v1/me", &access(&c)).await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn the_data_export_holds_the_persons_data_and_no_secrets() {
    let app = spawn_app().await;
    let t = app.signed_in_musician("export@example.org").await;
    let res = app.get_with("/api/v1/me/export", &access(&t)).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "cadenza.account-export/2");
    assert_eq!(v["account"]["email"], "export@example.org");
    assert_eq!(v["account"]["stage_name"], "Lin Yue");
    assert_eq!(v["roles"][0]["role"], "musician");
    assert!(!v["sessions"].as_array().unwrap().is_empty());
    assert!(
        v["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "account.registered")
    );
    assert!(!text.contains("argon2"), "no password hash");
    app.shutdown().await;
}

#[tokio::test]
async fn deleting_the_account_erases_the_person() {
    let app = spawn_app().await;
    let t = app.signed_in_musician("gone@example.org").await;
    let me: Value = app
        .get_with("/api/v1/me", &access(&t))
        .await
        .json()
        .await
        .unwrap();
    let user_id = me["id"].as_str().unwrap().to_string();
    let post = |c: &str| {
        let (app, token, body) = (&app, access(&t), json!({ "confirmation": c }));
        async move {
            app.client
                .post(app.url("/api/v1/me/delete"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post("wrong password").await.status(), 422);
    assert_eq!(post("violin sunrise 1987").await.status(), 204);
    assert_eq!(app.get_with("/api/v1/me", &access(&t)).await.status(), 401);
    assert_eq!(
        app.sign_in("gone@example.org", "violin sunrise 1987")
            .await
            .status(),
        401
    );
    let (user, audit_mentions) = app
        .state
        .db
        .run(move |c| {
            use cadenza::db::schema::audit_log::dsl::*;
            use diesel::prelude::*;
            let user = cadenza::accounts::store::find_user_by_email(c, "gone@example.org")?;
            let n: i64 = audit_log
                .filter(actor_id.eq(&user_id).or(subject.eq(&user_id)))
                .count()
                .get_result(c)?;
            Ok((user, n))
        })
        .await
        .unwrap();
    assert!(user.is_none());
    assert_eq!(
        audit_mentions, 0,
        "audit entries keep no link to the person"
    );
    // The address is free again.
    assert_eq!(
        app.register("gone@example.org", "1990-01-01", None)
            .await
            .status(),
        202
    );
    app.shutdown().await;
}
