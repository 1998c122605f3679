//! Registration, verification, guardian consent, sign-in, refresh and sign-out, on
//! both databases, with every email read back from the captured mailer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, TestEnv, find_link, spawn_app, spawn_app_with};

pub fn adult_dob() -> String {
    (Utc::now().date_naive() - Duration::days(365 * 25))
        .format("%Y-%m-%d")
        .to_string()
}

fn minor_dob() -> String {
    (Utc::now().date_naive() - Duration::days(365 * 12))
        .format("%Y-%m-%d")
        .to_string()
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_with(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn register(
        &self,
        email: &str,
        dob: &str,
        guardian: Option<&str>,
    ) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({
                "email": email, "password": "violin sunrise 1987", "stage_name": "Lin Yue",
                "date_of_birth": dob, "country": "cn", "language": "en", "guardian_email": guardian,
            }),
        )
        .await
    }

    /// The token in the newest email to `to` whose link contains `path`.
    pub async fn token_from_email(&self, to: &str, path: &str) -> String {
        self.run_pending_jobs().await;
        let email = self
            .emails()
            .into_iter()
            .rev()
            .find(|e| e.to == to && e.text.contains(path))
            .unwrap_or_else(|| panic!("no email to {to} with {path}"));
        let link = find_link(&email.text, path).expect("link in the email");
        link.split("token=")
            .nth(1)
            .expect("token in the link")
            .to_string()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/sign-in",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Sign in by magic link (a voter's account: no password, no date of birth);
    /// returns the access token.
    pub async fn magic_link_account(&self, email: &str) -> String {
        let res = self
            .post_json("/api/v1/auth/magic-link", &json!({ "email": email }))
            .await;
        assert_eq!(res.status(), 202);
        let token = self.token_from_email(email, "/magic-link/sign-in").await;
        let t: Value = self
            .post_json(
                "/api/v1/auth/magic-link/sign-in",
                &json!({ "token": token }),
            )
            .await
            .json()
            .await
            .unwrap();
        t["access_token"].as_str().unwrap().to_string()
    }

    /// Register, verify and sign in an adult musician; returns the sign-in tokens.
    pub async fn signed_in_musician(&self, email: &str) -> Value {
        assert_eq!(self.register(email, &adult_dob(), None).await.status(), 202);
        let token = self.token_from_email(email, "/verify-email").await;
        assert_eq!(
            self.post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
                .await
                .status(),
            204
        );
        let res = self.sign_in(email, "violin sunrise 1987").await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

#[tokio::test]
async fn register_verify_sign_in_refresh_sign_out() {
    let app = spawn_app().await;
    let res = app.register("Ana@Example.org", &adult_dob(), None).await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        res.json::<Value>().await.unwrap()["status"],
        "check_your_email"
    );

    // Not verified yet: signing in works, but submitting does not.
    let tokens: Value = app
        .sign_in("ana@example.org", "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    let me: Value = app
        .get_with("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["can_submit"], false);

    let token = app
        .token_from_email("ana@example.org", "/verify-email")
        .await;
    let page = app.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(
        page.status(),
        200,
        "the link opens a confirmation page; GET changes nothing"
    );
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
            .await
            .status(),
        204
    );
    let again = app
        .post_json("/api/v1/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(again.status(), 422, "single use");

    let res = app.sign_in("ana@example.org", "violin sunrise 1987").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    let access = t["access_token"].as_str().unwrap();
    let me: Value = app
        .get_with("/api/v1/me", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["stage_name"], "Lin Yue");
    assert_eq!(me["country"], "CN");
    assert_eq!(me["roles"], json!(["musician"]));
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["can_submit"], true);

    let r: Value = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": t["refresh_token"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(r["refresh_token"], t["refresh_token"], "rotated");
    let access2 = r["access_token"].as_str().unwrap();
    assert_eq!(app.get_with("/api/v1/me", access2).await.status(), 200);

    let out = app
        .client
        .post(app.url("/api/v1/auth/sign-out"))
        .bearer_auth(access2)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(
        app.get_with("/api/v1/me", access2).await.status(),
        401,
        "the session is over"
    );
    assert_eq!(
        app.get_with("/api/v1/me", access).await.status(),
        401,
        "for every token of it"
    );
    let stale = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": r["refresh_token"] }),
        )
        .await;
    assert_eq!(stale.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn a_minor_waits_for_guardian_consent_before_submitting() {
    let app = spawn_app().await;
    let res = app.register("kid@example.org", &minor_dob(), None).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "account.guardian_required");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("younger than 14")
    );
    let same = app
        .register("kid@example.org", &minor_dob(), Some("kid@example.org"))
        .await;
    assert_eq!(same.status(), 422);

    assert_eq!(
        app.register("kid@example.org", &minor_dob(), Some("Parent@Example.org"))
            .await
            .status(),
        202
    );
    let verify = app
        .token_from_email("kid@example.org", "/verify-email")
        .await;
    app.post_json("/api/v1/auth/verify-email", &json!({ "token": verify }))
        .await;
    let consent = app
        .token_from_email("parent@example.org", "/guardian-consent")
        .await;
    let guardian_mail = app
        .emails()
        .into_iter()
        .find(|e| e.to == "parent@example.org")
        .unwrap();
    assert!(guardian_mail.subject.contains("Lin Yue"));
    assert!(
        !guardian_mail.text.contains(&minor_dob()),
        "the guardian mail does not spread the birth date"
    );

    let t: Value = app
        .sign_in("kid@example.org", "violin sunrise 1987")
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
    assert_eq!(me["awaiting_guardian_consent"], true);
    assert_eq!(me["can_submit"], false);

    let page = app
        .get(&format!("/guardian-consent?token={consent}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Lin Yue") && page.contains("parent@example.org"));
    let bad = app
        .post_json(
            "/api/v1/auth/guardian-consent",
            &json!({ "token": consent, "guardian_name": "  " }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let ok = app
        .post_json(
            "/api/v1/auth/guardian-consent",
            &json!({ "token": consent, "guardian_name": "Mei Lin" }),
        )
        .await;
    assert_eq!(ok.status(), 204);
    let me: Value = app
        .get_with("/api/v1/me", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["awaiting_guardian_consent"], false);
    assert_eq!(me["can_submit"], true);

    let user = app
        .state
        .db
        .run(|c| cadenza::accounts::store::find_user_by_email(c, "kid@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.guardian_consent_by.as_deref(),
        Some("Mei Lin <parent@example.org>")
    );
    assert_eq!(
        user.guardian_consent_method.as_deref(),
        Some("email-link+form")
    );
    assert!(user.guardian_consent_at.is_some());
    app.shutdown().await;
}

fn without_request_id(mut v: Value) -> Value {
    v["error"]["request_id"] = Value::Null;
    v
}

#[tokio::test]
async fn known_and_unknown_emails_get_identical_answers() {
    let app = spawn_app().await;
    app.signed_in_musician("known@example.org").await;
    let emails_before = app.emails().len();

    let known = app.register("known@example.org", &adult_dob(), None).await;
    let unknown = app.register("new@example.org", &adult_dob(), None).await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    app.run_pending_jobs().await;
    let told = app.emails()[emails_before..]
        .iter()
        .any(|e| e.to == "known@example.org" && e.subject.contains("tried to register"));
    assert!(told, "the owner hears about the attempt");

    let wrong_password = app.sign_in("known@example.org", "not the password").await;
    let no_account = app.sign_in("nobody@example.org", "not the password").await;
    let malformed = app.sign_in("not-an-email", "not the password").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(no_account.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(malformed.status(), StatusCode::UNAUTHORIZED);
    let a = without_request_id(wrong_password.json().await.unwrap());
    let b = without_request_id(no_account.json().await.unwrap());
    let c = without_request_id(malformed.json().await.unwrap());
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(a["error"]["code"], "auth.invalid_credentials");
    app.shutdown().await;
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let t = app.signed_in_musician("reuse@example.org").await;
    let r1 = t["refresh_token"].clone();
    let second: Value = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": r1 }))
        .await
        .json()
        .await
        .unwrap();
    let r2 = second["refresh_token"].clone();
    let replay = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": r1 }))
        .await;
    assert_eq!(replay.status(), 401);
    let after = app
        .post_json("/api/v1/auth/refresh", &json!({ "refresh_token": r2 }))
        .await;
    assert_eq!(
        after.status(),
        401,
        "the legitimate newest token dies with the family"
    );
    assert_eq!(
        app.get_with("/api/v1/me", second["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    // Another session of the same account is unaffected.
    let other: Value = app
        .sign_in("reuse@example.org", "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.get_with("/api/v1/me", other["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let app = spawn_app().await;
    let a = app.signed_in_musician("all@example.org").await;
    let b: Value = app
        .sign_in("all@example.org", "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    let out = app
        .client
        .post(app.url("/api/v1/auth/sign-out-everywhere"))
        .bearer_auth(a["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    for t in [&a, &b] {
        assert_eq!(
            app.get_with("/api/v1/me", t["access_token"].as_str().unwrap())
                .await
                .status(),
            401
        );
        let r = app
            .post_json(
                "/api/v1/auth/refresh",
                &json!({ "refresh_token": t["refresh_token"] }),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let fresh: Value = app
        .sign_in("all@example.org", "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.get_with("/api/v1/me", fresh["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn repeated_failures_throttle_then_block_the_account() {
    let env = TestEnv::with_extra("");
    let mut env = env;
    env.replace_in_config(
        "argon2_iterations = 1\n",
        "argon2_iterations = 1\nthrottle_after_failures = 3\nblock_after_failures = 5\nsign_in_per_ip_per_minute = 1000\n",
    );
    let app = spawn_app_with(env, |b| b).await;
    app.signed_in_musician("victim@example.org").await;
    for _ in 0..3 {
        assert_eq!(
            app.sign_in("victim@example.org", "wrong guess 123")
                .await
                .status(),
            401
        );
    }
    let throttled = app
        .sign_in("victim@example.org", "violin sunrise 1987")
        .await;
    assert_eq!(
        throttled.status(),
        401,
        "even the right password waits while throttled"
    );
    let clear_throttle = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            db.run(|c| {
                use cadenza::db::schema::users::dsl::*;
                use diesel::prelude::*;
                diesel::update(users)
                    .set(throttled_until.eq(None::<chrono::NaiveDateTime>))
                    .execute(c)?;
                Ok(())
            })
            .await
            .unwrap()
        }
    };
    for _ in 0..2 {
        clear_throttle(&app).await;
        assert_eq!(
            app.sign_in("victim@example.org", "wrong guess 123")
                .await
                .status(),
            401
        );
    }
    clear_throttle(&app).await;
    let blocked = app
        .sign_in("victim@example.org", "violin sunrise 1987")
        .await;
    assert_eq!(
        blocked.status(),
        401,
        "blocked after 5 failures: only a reset opens it"
    );
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|e| e.to == "victim@example.org" && e.subject.contains("locked"))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_address() {
    let mut env = TestEnv::new();
    env.replace_in_config(
        "argon2_iterations = 1\n",
        "argon2_iterations = 1\nsign_in_per_ip_per_minute = 3\n",
    );
    let app = spawn_app_with(env, |b| b).await;
    for _ in 0..3 {
        assert_eq!(
            app.sign_in("x@example.org", "whatever pass").await.status(),
            401
        );
    }
    let res = app.sign_in("x@example.org", "whatever pass").await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    app.shutdown().await;
}

#[tokio::test]
async fn weak_and_malformed_registrations_are_explained() {
    let app = spawn_app().await;
    let base = json!({ "email": "w@example.org", "password": "violin sunrise 1987", "stage_name": "W",
                       "date_of_birth": adult_dob(), "country": "GB" });
    for (field, value, code) in [
        ("password", "password1", "account.password_common"),
        ("password", "short", "account.password_too_short"),
        ("email", "not-an-email", "account.email_invalid"),
        ("stage_name", "", "account.stage_name_invalid"),
        ("date_of_birth", "2999-01-01", "account.birth_date_invalid"),
        ("country", "Britain", "account.country_invalid"),
    ] {
        let mut body = base.clone();
        body[field] = json!(value);
        let res = app.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(res.status(), 422, "{field}={value}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{field}={value}");
    }
    app.shutdown().await;
}

// ---- the negative token matrix ----

fn key() -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"cadenza access token v1\0");
    h.update(cadenza::config::DEFAULT_SECRET.as_bytes());
    h.finalize().to_vec()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let msg = format!("{}.{}", b64(header), b64(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg.as_bytes());
    format!(
        "{msg}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn the_negative_token_matrix_is_all_401() {
    let app = spawn_app().await;
    let t = app.signed_in_musician("matrix@example.org").await;
    let real = t["access_token"].as_str().unwrap().to_string();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(real.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": "k1" });
    let now = Utc::now().timestamp();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        f(&mut c);
        c
    };
    let k = key();
    // Positive control: a token we forge exactly as the server does is accepted.
    let control = hs256(&header, &claims, &k);
    assert_eq!(
        app.get_with("/api/v1/me", &control).await.status(),
        200,
        "positive control"
    );

    let mut cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "at+jwt", "kid": "k1"})),
                b64(&claims)
            ),
        ),
        (
            "HS/EdDSA confusion",
            hs256(
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}),
                &claims,
                &k,
            ),
        ),
        (
            "HS/RS confusion",
            hs256(
                &json!({"alg": "RS256", "typ": "at+jwt", "kid": "k1"}),
                &claims,
                &k,
            ),
        ),
        ("wrong key", hs256(&header, &claims, b"some other key")),
        (
            "expired",
            hs256(
                &header,
                &with(&|c| {
                    c["exp"] = json!(now - 3600);
                    c["nbf"] = json!(now - 7200);
                    c["iat"] = json!(now - 7200);
                }),
                &k,
            ),
        ),
        (
            "future nbf",
            hs256(&header, &with(&|c| c["nbf"] = json!(now + 3600)), &k),
        ),
        (
            "nbf as a string",
            hs256(&header, &with(&|c| c["nbf"] = json!("9999999999")), &k),
        ),
        (
            "exp as a string",
            hs256(
                &header,
                &with(&|c| c["exp"] = json!(format!("{}", now + 600))),
                &k,
            ),
        ),
        (
            "missing exp",
            hs256(
                &header,
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
                &k,
            ),
        ),
        (
            "missing iss",
            hs256(
                &header,
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("iss");
                }),
                &k,
            ),
        ),
        (
            "missing aud",
            hs256(
                &header,
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
                &k,
            ),
        ),
        (
            "wrong aud",
            hs256(
                &header,
                &with(&|c| c["aud"] = json!("https://elsewhere.example/api")),
                &k,
            ),
        ),
        (
            "wrong iss",
            hs256(
                &header,
                &with(&|c| c["iss"] = json!("https://elsewhere.example")),
                &k,
            ),
        ),
        (
            "refresh token used as access",
            t["refresh_token"].as_str().unwrap().to_string(),
        ),
        (
            "wrong typ",
            hs256(
                &json!({"alg": "HS256", "typ": "JWT", "kid": "k1"}),
                &claims,
                &k,
            ),
        ),
        (
            "unknown kid",
            hs256(
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": "k9"}),
                &claims,
                &k,
            ),
        ),
        (
            "kid path traversal",
            hs256(
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": "../../x"}),
                &claims,
                &k,
            ),
        ),
        (
            "kid injection",
            hs256(
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": "' OR 1=1"}),
                &claims,
                &k,
            ),
        ),
        (
            "jku header",
            hs256(
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1", "jku": "https://evil.example/k"}),
                &claims,
                &k,
            ),
        ),
        (
            "truncated signature",
            control[..control.len() - 6].to_string(),
        ),
        (
            "8 kB header",
            hs256(
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1", "x": "a".repeat(8192)}),
                &claims,
                &k,
            ),
        ),
        (
            "unknown session",
            hs256(&header, &with(&|c| c["sid"] = json!("no-such-session")), &k),
        ),
        ("garbage", "not.a.jwt".to_string()),
    ];
    cases.push(("empty", String::new()));
    let mut generic: Option<Value> = None;
    for (name, token) in &cases {
        let res = app.get_with("/api/v1/me", token).await;
        assert_eq!(res.status(), 401, "{name}");
        let body = without_request_id(res.json().await.unwrap());
        assert_eq!(body["error"]["code"], "auth.required", "{name}");
        match &generic {
            None => generic = Some(body),
            Some(g) => assert_eq!(&body, g, "{name}: the body says nothing about why"),
        }
    }
    assert!(cases.len() >= 20);
    app.shutdown().await;
}
