//! Password reset, password change, email change, resending verification, and voters'
//! magic links — each email read back from the captured mailer.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestEnv, spawn_app, spawn_app_with};

const PASSWORD: &str = "violin sunrise 1987";

async fn authed_post(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn access(t: &Value) -> String {
    t["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn password_reset_by_email_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    let old = app.signed_in_musician("reset@example.org").await;
    let known = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({ "email": "reset@example.org" }),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({ "email": "ghost@example.org" }),
        )
        .await;
    assert_eq!(known.status(), 202);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    let token = app
        .token_from_email("reset@example.org", "/reset-password")
        .await;
    assert!(!app.emails().iter().any(|e| e.to == "ghost@example.org"));

    let weak = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": token, "password": "password" }),
        )
        .await;
    assert_eq!(weak.status(), 422);
    let ok = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": token, "password": "cello moonlight 2001" }),
        )
        .await;
    assert_eq!(ok.status(), 204);
    let again = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": token, "password": "cello moonlight 2002" }),
        )
        .await;
    assert_eq!(again.status(), 422, "single use");
    assert_eq!(
        app.get_with("/api/v1/me", &access(&old)).await.status(),
        401,
        "old sessions are over"
    );
    assert_eq!(
        app.sign_in("reset@example.org", PASSWORD).await.status(),
        401
    );
    assert_eq!(
        app.sign_in("reset@example.org", "cello moonlight 2001")
            .await
            .status(),
        200
    );
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|e| e.to == "reset@example.org" && e.subject.contains("password was changed"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_reset_opens_a_blocked_account() {
    let mut env = TestEnv::new();
    env.replace_in_config(
        "argon2_iterations = 1\n",
        "argon2_iterations = 1\nthrottle_after_failures = 50\nblock_after_failures = 2\n",
    );
    let app = spawn_app_with(env, |b| b).await;
    app.signed_in_musician("locked@example.org").await;
    for _ in 0..2 {
        app.sign_in("locked@example.org", "wrong guess 123").await;
    }
    assert_eq!(
        app.sign_in("locked@example.org", PASSWORD).await.status(),
        401,
        "blocked"
    );
    app.post_json(
        "/api/v1/auth/password-reset",
        &json!({ "email": "locked@example.org" }),
    )
    .await;
    let token = app
        .token_from_email("locked@example.org", "/reset-password")
        .await;
    let ok = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": token, "password": "cello moonlight 2001" }),
        )
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        app.sign_in("locked@example.org", "cello moonlight 2001")
            .await
            .status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_is_announced() {
    let app = spawn_app().await;
    let first = app.signed_in_musician("change@example.org").await;
    let second: Value = app
        .sign_in("change@example.org", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let wrong = authed_post(
        &app,
        "/api/v1/account/password",
        &access(&second),
        &json!({ "current_password": "nope nope nope", "new_password": "cello moonlight 2001" }),
    )
    .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"]["code"],
        "account.current_password_wrong"
    );
    let ok = authed_post(
        &app,
        "/api/v1/account/password",
        &access(&second),
        &json!({ "current_password": PASSWORD, "new_password": "cello moonlight 2001" }),
    )
    .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        app.get_with("/api/v1/me", &access(&first)).await.status(),
        401,
        "the other session is over"
    );
    assert_eq!(
        app.get_with("/api/v1/me", &access(&second)).await.status(),
        200,
        "this one stays"
    );
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|e| e.to == "change@example.org" && e.subject.contains("password was changed"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_email_change_is_confirmed_at_the_new_address_and_announced_to_the_old() {
    let app = spawn_app().await;
    let t = app.signed_in_musician("old@example.org").await;
    let res = authed_post(
        &app,
        "/api/v1/account/email",
        &access(&t),
        &json!({ "new_email": "New@Example.org", "password": PASSWORD }),
    )
    .await;
    assert_eq!(res.status(), 202);
    let me: Value = app
        .get_with("/api/v1/me", &access(&t))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["email"], "old@example.org",
        "nothing changes before confirmation"
    );
    let token = app
        .token_from_email("new@example.org", "/confirm-email-change")
        .await;
    assert_eq!(
        app.post_json("/api/v1/account/email/confirm", &json!({ "token": token }))
            .await
            .status(),
        204
    );
    let me: Value = app
        .get_with("/api/v1/me", &access(&t))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "new@example.org");
    app.run_pending_jobs().await;
    let told = app
        .emails()
        .into_iter()
        .find(|e| e.to == "old@example.org" && e.subject.contains("email was changed"))
        .expect("the old address is told");
    assert!(told.text.contains("new@example.org"));
    assert_eq!(app.sign_in("new@example.org", PASSWORD).await.status(), 200);
    assert_eq!(app.sign_in("old@example.org", PASSWORD).await.status(), 401);

    // Moving to an address that has an account changes nothing and tells that address.
    app.signed_in_musician("taken@example.org").await;
    let res = authed_post(
        &app,
        "/api/v1/account/email",
        &access(&t),
        &json!({ "new_email": "taken@example.org", "password": PASSWORD }),
    )
    .await;
    assert_eq!(res.status(), 202);
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|e| e.to == "taken@example.org" && e.subject.contains("another Cadenza account"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn resending_the_verification_email_is_limited() {
    let app = spawn_app().await;
    app.register("slow@example.org", "1990-01-01", None).await;
    let t: Value = app
        .sign_in("slow@example.org", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            authed_post(
                &app,
                "/api/v1/account/verification-email",
                &access(&t),
                &json!({})
            )
            .await
            .status(),
            202
        );
    }
    let over = authed_post(
        &app,
        "/api/v1/account/verification-email",
        &access(&t),
        &json!({}),
    )
    .await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(over.headers().contains_key("retry-after"));
    // Only the newest link works.
    let token = app
        .token_from_email("slow@example.org", "/verify-email")
        .await;
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
            .await
            .status(),
        204
    );
    app.shutdown().await;
}

#[tokio::test]
async fn voters_sign_in_by_magic_link() {
    let app = spawn_app().await;
    let disposable = app
        .post_json(
            "/api/v1/auth/magic-link",
            &json!({ "email": "someone@mailinator.com" }),
        )
        .await;
    assert_eq!(disposable.status(), 422);
    assert_eq!(
        disposable.json::<Value>().await.unwrap()["error"]["code"],
        "account.disposable_email"
    );

    let res = app
        .post_json(
            "/api/v1/auth/magic-link",
            &json!({ "email": "fan@example.org", "language": "zh-CN" }),
        )
        .await;
    assert_eq!(res.status(), 202);
    let token = app
        .token_from_email("fan@example.org", "/magic-link/sign-in")
        .await;
    let mail = app
        .emails()
        .into_iter()
        .find(|e| e.to == "fan@example.org")
        .unwrap();
    assert_eq!(mail.subject, "你的 Cadenza 登录链接");
    let t: Value = app
        .post_json(
            "/api/v1/auth/magic-link/sign-in",
            &json!({ "token": token }),
        )
        .await
        .json()
        .await
        .unwrap();
    let me: Value = app
        .get_with("/api/v1/me", &access(&t))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["voter"]));
    assert_eq!(me["email_verified"], true);
    let again = app
        .post_json(
            "/api/v1/auth/magic-link/sign-in",
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(again.status(), 422, "single use");

    // A link older than ten minutes does not work.
    app.post_json(
        "/api/v1/auth/magic-link",
        &json!({ "email": "fan@example.org" }),
    )
    .await;
    let late = app
        .token_from_email("fan@example.org", "/magic-link/sign-in")
        .await;
    app.state
        .db
        .run(|c| {
            use cadenza::db::schema::account_tokens::dsl::*;
            use diesel::prelude::*;
            let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(11);
            diesel::update(account_tokens.filter(purpose.eq("magic_link")))
                .set(expires_at.eq(past))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let expired = app
        .post_json("/api/v1/auth/magic-link/sign-in", &json!({ "token": late }))
        .await;
    assert_eq!(expired.status(), 422);
    app.shutdown().await;
}
