//! Judge invitations: only the competition's organiser invites; accepting creates or
//! links the account and makes it a judge of that competition only.

use cadenza::competitions::model::{CompetitionRow, PUBLISHED};
use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

pub async fn organiser(app: &TestApp, email: &str) -> (String, String) {
    let link =
        cadenza::accounts::service::create_organiser(&app.state, email, cadenza::i18n::Locale::En)
            .await
            .unwrap();
    let token = link.url.split("token=").nth(1).unwrap();
    let res = app
        .post_json(
            "/api/v1/account/password-setup",
            &json!({ "token": token, "password": "baton and score 42" }),
        )
        .await;
    assert_eq!(res.status(), 204);
    let t: Value = app
        .sign_in(email, "baton and score 42")
        .await
        .json()
        .await
        .unwrap();
    (
        link.user_id,
        t["access_token"].as_str().unwrap().to_string(),
    )
}

async fn competition(app: &TestApp, owner: &str, slug: &str) -> String {
    let now = Utc::now().naive_utc();
    let row = CompetitionRow {
        status: PUBLISHED.into(),
        published_at: Some(now),
        ..CompetitionRow::new(
            slug,
            &format!("Paintings that sing ({slug})"),
            Some(owner),
            now,
        )
    };
    let id = row.id.clone();
    app.state
        .db
        .run(move |c| cadenza::competitions::store::insert(c, &row))
        .await
        .unwrap();
    id
}

async fn invite(app: &TestApp, token: &str, competition: &str, email: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!(
            "/api/v1/competitions/{competition}/judges/invitations"
        )))
        .bearer_auth(token)
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_judge_accepts_and_judges_that_competition_only() {
    let app = spawn_app().await;
    let (org_id, org) = organiser(&app, "org@example.org").await;
    let mine = competition(&app, &org_id, "mine").await;
    let other = competition(&app, &org_id, "other").await;
    assert_eq!(
        invite(&app, &org, &mine, "judge@example.org")
            .await
            .status(),
        202
    );
    let token = app
        .token_from_email("judge@example.org", "/judge-invitation")
        .await;
    let mail = app
        .emails()
        .into_iter()
        .find(|e| e.to == "judge@example.org")
        .unwrap();
    assert!(mail.subject.contains("Paintings that sing (mine)"));

    let page = app
        .get(&format!("/judge-invitation?token={token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Paintings that sing (mine)") && page.contains("stage_name"));
    let missing = app
        .post_json(
            "/api/v1/judge-invitations/accept",
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(missing.status(), 422);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["code"],
        "account.judge_needs_profile"
    );
    let ok = app
        .post_json(
            "/api/v1/judge-invitations/accept",
            &json!({ "token": token, "stage_name": "Maestro", "password": "oboe at midnight 7" }),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let t: Value = ok.json().await.unwrap();
    let me: Value = app
        .get_with("/api/v1/me", t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["judge_for"], json!([mine]));
    assert!(!me["judge_for"].as_array().unwrap().contains(&json!(other)));
    assert_eq!(me["roles"], json!([]), "no site-wide role");
    assert_eq!(me["email_verified"], true);
    let again = app
        .post_json(
            "/api/v1/judge-invitations/accept",
            &json!({ "token": token, "stage_name": "X", "password": "oboe at midnight 8" }),
        )
        .await;
    assert_eq!(again.status(), 422, "single use");
    app.shutdown().await;
}

#[tokio::test]
async fn an_existing_account_is_linked() {
    let app = spawn_app().await;
    let (org_id, org) = organiser(&app, "org2@example.org").await;
    let c = competition(&app, &org_id, "linked").await;
    let musician = app.signed_in_musician("both@example.org").await;
    assert_eq!(
        invite(&app, &org, &c, "both@example.org").await.status(),
        202
    );
    let token = app
        .token_from_email("both@example.org", "/judge-invitation")
        .await;
    let t: Value = app
        .post_json(
            "/api/v1/judge-invitations/accept",
            &json!({ "token": token }),
        )
        .await
        .json()
        .await
        .unwrap();
    let me: Value = app
        .get_with("/api/v1/me", t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["judge_for"], json!([c]));
    assert_eq!(
        me["roles"],
        json!(["musician"]),
        "one person, one account, several roles"
    );
    assert_eq!(me["stage_name"], "Lin Yue");
    let before: Value = app
        .get_with("/api/v1/me", musician["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["id"], me["id"]);
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_competitions_organiser_may_invite() {
    let app = spawn_app().await;
    let (org_id, _) = organiser(&app, "owner@example.org").await;
    let (_, stranger) = organiser(&app, "stranger@example.org").await;
    let c = competition(&app, &org_id, "guarded").await;
    let musician = app.signed_in_musician("m@example.org").await;
    assert_eq!(
        invite(&app, &stranger, &c, "j@example.org").await.status(),
        404,
        "another organiser"
    );
    assert_eq!(
        invite(
            &app,
            musician["access_token"].as_str().unwrap(),
            &c,
            "j@example.org"
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        invite(&app, &stranger, "no-such-competition", "j@example.org")
            .await
            .status(),
        404
    );
    let anonymous = app
        .client
        .post(app.url(&format!("/api/v1/competitions/{c}/judges/invitations")))
        .json(&json!({ "email": "j@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.run_pending_jobs().await;
    assert!(!app.emails().iter().any(|e| e.to == "j@example.org"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_judge_invited_in_chinese_gets_a_chinese_account() {
    let app = spawn_app().await;
    let (org_id, org) = organiser(&app, "org-zh@example.org").await;
    let c = competition(&app, &org_id, "zh-judge").await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/competitions/{c}/judges/invitations")))
        .bearer_auth(&org)
        .json(&json!({ "email": "zhang@example.org", "language": "zh-CN" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let token = app
        .token_from_email("zhang@example.org", "/judge-invitation")
        .await;
    let ok = app
        .post_json(
            "/api/v1/judge-invitations/accept",
            &json!({ "token": token, "stage_name": "张老师", "password": "erhu at dawn 1958" }),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let t: Value = ok.json().await.unwrap();
    let me: Value = app
        .get_with("/api/v1/me", t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["language"], "zh-CN",
        "later emails come in the invitation's language"
    );
}
