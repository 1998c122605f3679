//! Consent for young musicians, per competition (issue 20): the age of digital consent
//! is the competition's; a guardian is asked again on request, the teen is told when
//! they agree, a guardian can withdraw (the entries stop); an account without a date of
//! birth gives one before entering; a guardian's address is never ignored under 18.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::submissions::{code, entry_id, new_entry, open_call};

fn dob(years: i64) -> String {
    (Utc::now().date_naive() - Duration::days(365 * years + years / 4 + 30))
        .format("%Y-%m-%d")
        .to_string()
}

async fn has_audit(app: &TestApp, subject: &str, action: &str) -> bool {
    let (s, a) = (subject.to_string(), action.to_string());
    app.state
        .db
        .run(move |c| cadenza::db::audit::has(c, &s, &a))
        .await
        .unwrap()
}

/// A verified, signed-in 15-year-old (the server's consent age is 14: no guardian needed
/// to register). Returns (access token, user id).
async fn teen(app: &TestApp, email: &str, guardian: Option<&str>) -> (String, String) {
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": email, "password": "violin sunrise 1987", "stage_name": "Xiao Yu",
                "date_of_birth": dob(15), "country": "CN", "language": "en", "guardian_email": guardian }),
        )
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["guardian_emailed"], guardian.is_some());
    let token = app.token_from_email(email, "/verify-email").await;
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
            .await
            .status(),
        204
    );
    let t: Value = app
        .sign_in(email, "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap().to_string();
    let me: Value = app
        .get_with("/api/v1/me", &access)
        .await
        .json()
        .await
        .unwrap();
    (access, me["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn consent_age_is_per_competition_and_a_guardian_can_withdraw() {
    let app = spawn_app().await;
    let here = open_call(&app, "consent-default", json!({})).await;
    let strict = open_call(&app, "consent-sixteen", json!({ "consent_age": 16 })).await;
    let bad = app
        .client
        .patch(app.url(&format!("/api/v1/competitions/{}", strict.id)))
        .bearer_auth(&strict.org)
        .json(&json!({ "consent_age": 12 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(bad).await,
        (422, "competition.consent_age_invalid".into())
    );
    // The public rules give the competition's own age, not the server's.
    let rules = app.get("/c/consent-sixteen").await.text().await.unwrap();
    assert!(rules.contains("under 16"), "the rules name 16");
    let rules = app.get("/c/consent-default").await.text().await.unwrap();
    assert!(rules.contains("under 14"));

    let (t, uid) = teen(&app, "yu@example.org", None).await;
    // 15 ≥ 14: the default competition takes her entry without a guardian.
    let kept = entry_id(&app, &t, &here, "Spring").await;
    // 15 < 16: this one needs a guardian, and says how to get one.
    let res = new_entry(&app, &t, &strict, "Dawn").await;
    assert_eq!(res.status(), 403);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "entry.guardian_needed");
    assert!(v["error"]["message"].as_str().unwrap().contains("16"));

    // She asks her guardian from her account; only up to the hourly limit.
    let ask = |g: Option<&'static str>| {
        let (app, t) = (&app, t.clone());
        async move {
            app.client
                .post(app.url("/api/v1/account/guardian-request"))
                .bearer_auth(&t)
                .json(&json!({ "guardian_email": g }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        code(ask(Some("yu@example.org")).await).await.1,
        "account.guardian_email_same"
    );
    assert_eq!(ask(Some("mum@example.org")).await.status(), 202);
    assert!(has_audit(&app, &uid, "account.guardian_requested").await);
    let res = new_entry(&app, &t, &strict, "Dawn").await;
    assert_eq!(
        code(res).await,
        (403, "entry.guardian_consent_needed".into())
    );
    // Sent again: the newest link replaces the older one.
    let first = app
        .token_from_email("mum@example.org", "/guardian-consent")
        .await;
    assert_eq!(ask(None).await.status(), 202);
    let consent = app
        .token_from_email("mum@example.org", "/guardian-consent")
        .await;
    assert_ne!(first, consent);
    let old = app
        .post_json(
            "/api/v1/auth/guardian-consent",
            &json!({ "token": first, "guardian_name": "Li Na" }),
        )
        .await;
    assert_eq!(old.status(), 422, "a replaced link no longer works");
    assert_eq!(ask(None).await.status(), 429, "three an hour");

    let ok = app
        .post_json(
            "/api/v1/auth/guardian-consent",
            &json!({ "token": consent, "guardian_name": "Li Na" }),
        )
        .await;
    assert_eq!(ok.status(), 204);
    app.run_pending_jobs().await;
    let told = app
        .emails()
        .into_iter()
        .find(|e| e.to == "yu@example.org" && e.subject.contains("agreed"));
    assert!(told.is_some(), "the teen is told her guardian agreed");
    let again = ask(None).await;
    assert_eq!(code(again).await.1, "account.guardian_already_agreed");
    let dawn = entry_id(&app, &t, &strict, "Dawn").await;

    // The guardian changes their mind with the link from the confirmation email.
    let withdraw = app
        .token_from_email("mum@example.org", "/guardian-consent/withdraw")
        .await;
    let page = app
        .get(&format!("/guardian-consent/withdraw?token={withdraw}"))
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Xiao Yu"));
    let res = app
        .post_json(
            "/api/v1/auth/guardian-consent/withdraw",
            &json!({ "token": withdraw }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["entries_withdrawn"], 1);
    let get = |id: String| {
        let (app, t) = (&app, t.clone());
        async move {
            app.get_with(&format!("/api/v1/entries/{id}"), &t)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(get(dawn.clone()).await["status"], "withdrawn");
    assert_ne!(get(kept).await["status"], "withdrawn", "14 is enough there");
    assert!(has_audit(&app, &uid, "account.guardian_withdrawn").await);
    assert!(has_audit(&app, &dawn, "entry.withdrawn").await);
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|e| e.to == "yu@example.org" && e.subject.contains("withdrew")),
        "the teen is told"
    );
    let res = new_entry(&app, &t, &strict, "Dawn again").await;
    assert_eq!(
        code(res).await,
        (403, "entry.guardian_consent_needed".into())
    );
    let account = app.get_with("/account", &t).await.text().await.unwrap();
    assert!(account.contains("data-guardian-withdrawn"));
    app.shutdown().await;
}

#[tokio::test]
async fn an_account_without_a_birth_date_gives_one_before_entering() {
    let app = spawn_app().await;
    let call = open_call(&app, "consent-dobless", json!({})).await;
    let t = app.magic_link_account("walkup@example.org").await;
    let me: Value = app.get_with("/api/v1/me", &t).await.json().await.unwrap();
    assert_eq!(me["birth_date_missing"], true);
    let res = new_entry(&app, &t, &call, "No age").await;
    assert_eq!(code(res).await, (403, "entry.birth_date_needed".into()));
    // The entry page says so, and shows no form that could not be sent.
    let page = app
        .get_with("/c/consent-dobless/enter", &t)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-blocked=\"entry.birth_date_needed\""));
    assert!(!page.contains("data-entry-form"));

    let put = |body: Value| {
        let (app, t) = (&app, t.clone());
        async move {
            app.client
                .put(app.url("/api/v1/account/birth-date"))
                .bearer_auth(&t)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // Twelve: a guardian is required, as at registration.
    let res = put(json!({ "date_of_birth": dob(12) })).await;
    assert_eq!(code(res).await, (422, "account.guardian_required".into()));
    let res = put(json!({ "date_of_birth": "not a date" })).await;
    assert_eq!(code(res).await, (422, "account.birth_date_invalid".into()));
    let res = put(json!({ "date_of_birth": dob(12), "guardian_email": "dad@example.org" })).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["guardian_emailed"], true);
    let res = put(json!({ "date_of_birth": dob(30) })).await;
    assert_eq!(
        code(res).await,
        (409, "account.birth_date_already_given".into())
    );
    let res = new_entry(&app, &t, &call, "Still waiting").await;
    assert_eq!(
        code(res).await,
        (403, "entry.guardian_consent_needed".into())
    );
    let consent = app
        .token_from_email("dad@example.org", "/guardian-consent")
        .await;
    let ok = app
        .post_json(
            "/api/v1/auth/guardian-consent",
            &json!({ "token": consent, "guardian_name": "Wang Wei" }),
        )
        .await;
    assert_eq!(ok.status(), 204);
    entry_id(&app, &t, &call, "Now with consent").await;
    app.shutdown().await;
}

#[tokio::test]
async fn registering_keeps_the_way_back_and_an_under_18s_guardian() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "back@example.org", "password": "violin sunrise 1987", "stage_name": "Back",
                "date_of_birth": dob(25), "country": "CN", "next": "/c/paintings" }),
        )
        .await;
    assert_eq!(res.status(), 202);
    app.run_pending_jobs().await;
    let mail = app
        .emails()
        .into_iter()
        .find(|e| e.to == "back@example.org")
        .unwrap();
    assert!(mail.text.contains("next=%2Fc%2Fpaintings"), "{}", mail.text);
    // Somewhere else than this site is never a way back.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "away@example.org", "password": "violin sunrise 1987", "stage_name": "Away",
                "date_of_birth": dob(25), "country": "CN", "next": "//evil.example" }),
        )
        .await;
    assert_eq!(res.status(), 202);
    app.run_pending_jobs().await;
    let mail = app
        .emails()
        .into_iter()
        .find(|e| e.to == "away@example.org")
        .unwrap();
    assert!(!mail.text.contains("evil"));
    // 15 with a guardian given: asked, not ignored.
    let (_, _) = teen(&app, "fifteen@example.org", Some("parent15@example.org")).await;
    app.token_from_email("parent15@example.org", "/guardian-consent")
        .await;
    // 25 with a guardian given: an adult needs none.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "adult@example.org", "password": "violin sunrise 1987", "stage_name": "Adult",
                "date_of_birth": dob(25), "country": "CN", "guardian_email": "p@example.org" }),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["guardian_emailed"],
        false
    );
    app.shutdown().await;
}
