use cadenza::accounts::{service, store};
use cadenza::i18n::Locale;

use crate::helpers::{TestApp, find_link, path_of, spawn_app};

async fn roles_of(app: &TestApp, email: &str) -> (Vec<String>, Option<String>) {
    let email = email.to_string();
    app.state
        .db
        .run(move |c| {
            let u = store::find_user_by_email(c, &email)?.expect("user exists");
            Ok((store::site_roles(c, &u.id)?, u.password_hash))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn create_organiser_emails_a_link_that_sets_the_password_once() {
    let app = spawn_app().await;
    let link = service::create_organiser(&app.state, "Organiser@Example.org", Locale::En)
        .await
        .unwrap();
    assert!(link.created);
    assert_eq!(link.email, "organiser@example.org");

    // The email goes out through the job queue.
    assert!(app.emails().is_empty());
    assert_eq!(app.run_pending_jobs().await, 1);
    let emails = app.emails();
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(email.to, "organiser@example.org");
    assert_eq!(email.subject, "Set your Cadenza organiser password");
    let from_text =
        find_link(&email.text, "/account/set-password?token=").expect("link in the text part");
    assert_eq!(from_text, link.url);
    assert!(email.html.contains("/account/set-password?token="));

    let path = path_of(&link.url);
    let page = app.get(&path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("organiser@example.org"));
    assert!(
        html.contains(r#"name="name""#),
        "the page asks for the organiser's name"
    );

    // A fixable mistake shows the form again.
    let token = path.split("token=").nth(1).unwrap().to_string();
    let res = app
        .client
        .post(app.url("/account/set-password"))
        .form(&[
            ("token", token.as_str()),
            ("password", "a long passphrase"),
            ("password_confirm", "different one"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("are not the same"));

    let res = app
        .client
        .post(app.url("/account/set-password"))
        .form(&[
            ("token", token.as_str()),
            ("password", "a long passphrase"),
            ("password_confirm", "a long passphrase"),
            ("name", "Wei Lin, curator"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Your password is set"));
    // The name was asked once, on that page; invitations are signed with it.
    let user = cadenza::accounts::admin::find_by_email(&app.state, "organiser@example.org")
        .await
        .unwrap();
    assert_eq!(user.display_name, "Wei Lin, curator");

    let (roles, hash) = roles_of(&app, "organiser@example.org").await;
    assert_eq!(roles, ["organiser"]);
    let hash = hash.expect("password stored");
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains("a long passphrase"));

    // Single use.
    let again = app.get(&path).await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("This link is not valid")
    );
    let api = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .json(&serde_json::json!({"token": token, "password": "another passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 422);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "account.token_invalid");
    app.shutdown().await;
}

#[tokio::test]
async fn password_rules_are_explained_and_a_new_link_replaces_the_old() {
    let app = spawn_app().await;
    let first = service::create_organiser(&app.state, "b@example.org", Locale::ZhCn)
        .await
        .unwrap();
    let second = service::create_organiser(&app.state, "b@example.org", Locale::ZhCn)
        .await
        .unwrap();
    assert!(!second.created);
    let token_of = |url: &str| url.split("token=").nth(1).unwrap().to_string();

    let res = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .header("Accept-Language", "zh-CN")
        .json(&serde_json::json!({"token": token_of(&second.url), "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "account.password_too_short");
    assert_eq!(body["error"]["details"]["min"], "8");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("8 个字符")
    );

    let old = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .json(&serde_json::json!({"token": token_of(&first.url), "password": "long enough now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 422, "the older link was retired");

    let ok = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .json(&serde_json::json!({"token": token_of(&second.url), "password": "long enough now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);

    app.run_pending_jobs().await;
    let emails = app.emails();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[0].subject, "设置你的 Cadenza 主办方密码");
    assert!(emails[0].html.contains("lang=\"zh-CN\""));
    app.shutdown().await;
}

#[tokio::test]
async fn admin_command_creates_the_first_organiser() {
    let app = spawn_app().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .args([
            "--config",
            app.env.config_path.to_str().unwrap(),
            "admin",
            "create-organiser",
            "--email",
            "first@example.org",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("Created organiser first@example.org"),
        "{stdout}"
    );
    let link = find_link(&stdout, "/account/set-password?token=").expect("the link is printed");
    let (roles, hash) = roles_of(&app, "first@example.org").await;
    assert_eq!(roles, ["organiser"]);
    assert!(hash.is_none());
    // The printed link works against the running server.
    assert_eq!(app.get(&path_of(&link)).await.status(), 200);

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .args([
            "--config",
            app.env.config_path.to_str().unwrap(),
            "admin",
            "create-organiser",
            "--email",
            "not-an-email",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not look right"));
    app.shutdown().await;
}
