use crate::helpers::{assert_security_headers, spawn_app};

#[tokio::test]
async fn home_page_renders_in_english_by_default() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert_security_headers(&res);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Open calls and past competitions"));
    assert!(html.contains("data-empty"), "no competitions yet");
    // The script tag carries this response's nonce.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")));
    app.shutdown().await;
}

#[tokio::test]
async fn accept_language_picks_simplified_chinese() {
    let app = spawn_app().await;
    let html = app
        .client
        .get(app.url("/"))
        .header("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("正在征集与往期比赛"));
    app.shutdown().await;
}

#[tokio::test]
async fn switching_language_is_remembered_by_cookie() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/language"))
        .header("Origin", app.address.clone())
        .form(&[("lang", "zh-CN"), ("next", "/?from=switch")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/?from=switch");
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lang=zh-CN"));
    assert!(cookie.contains("SameSite=Lax"));
    // The cookie beats the header.
    let html = app
        .client
        .get(app.url("/"))
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">"));
    app.shutdown().await;
}

#[tokio::test]
async fn language_switch_refuses_unknown_languages_and_foreign_return_paths() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/language"))
        .form(&[("lang", "xx")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .client
        .post(app.url("/language"))
        .form(&[("lang", "en"), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
    app.shutdown().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    for (name, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Origin", "null"),
    ] {
        let res = app
            .client
            .post(app.url("/language"))
            .header(name, value)
            .form(&[("lang", "zh-CN")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
        assert_security_headers(&res);
        assert!(!res.headers().contains_key("set-cookie"));
        let html = res.text().await.unwrap();
        assert!(html.contains("another website"));
    }
    let api = app
        .client
        .post(app.url("/api/v1/account/password-setup"))
        .header("Sec-Fetch-Site", "cross-site")
        .json(&serde_json::json!({"token": "x", "password": "12345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "http.cross_site");
    let same = app
        .client
        .post(app.url("/language"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 303);
    app.shutdown().await;
}

#[tokio::test]
async fn static_assets_are_served_with_etags() {
    let app = spawn_app().await;
    let res = app.get("/static/js/app.js").await;
    assert_eq!(res.status(), 200);
    assert_security_headers(&res);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let again = app
        .client
        .get(app.url("/static/js/app.js"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(app.get("/static/css/app.css").await.status(), 200);
    assert_eq!(app.get("/static/nope.js").await.status(), 404);
    assert_eq!(app.get("/static/../Cargo.toml").await.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn pages_are_compressed_and_our_files_versioned_and_kept_for_a_year() {
    use std::io::Read;
    let app = spawn_app().await;
    let gz = |path: &str| {
        app.client
            .get(app.url(path))
            .header("Accept-Encoding", "gzip, deflate, br")
            .send()
    };
    // A page: compressed for a browser that says it can read gzip, plain otherwise.
    let page = gz("/sign-in").await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-encoding"], "gzip");
    assert!(
        page.headers()
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("accept-encoding"))
    );
    let packed = page.bytes().await.unwrap();
    let mut html = String::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.starts_with("<!doctype html>"), "{}", &html[..40]);
    assert!(
        packed.len() * 2 < html.len(),
        "{} → {}",
        html.len(),
        packed.len()
    );
    let plain = app.get("/sign-in").await;
    assert!(plain.headers().get("content-encoding").is_none());
    // Small answers are not worth it.
    assert!(
        gz("/livez")
            .await
            .unwrap()
            .headers()
            .get("content-encoding")
            .is_none()
    );

    // The page names our files with their version, and maps every module to its own.
    let css = html
        .split("href=\"")
        .find(|s| s.starts_with("/static/css/app.css?v="))
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    assert!(html.contains(r#"<script type="importmap""#));
    assert!(html.contains(r#""/static/js/vote.js":"/static/js/vote.js?v="#));
    let kept = gz(&css).await.unwrap();
    assert_eq!(
        kept.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(kept.headers()["content-encoding"], "gzip");
    // The compressed copy's validator is weak, and it still revalidates.
    let etag = kept.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    let again = app
        .client
        .get(app.url("/static/css/app.css"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Without the version, or with an old one, it is checked again each time.
    for old in ["/static/css/app.css", "/static/css/app.css?v=0000000000"] {
        assert_eq!(
            app.get(old).await.headers()["cache-control"],
            "public, no-cache"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn hsts_is_sent_behind_https() {
    use crate::helpers::{TestEnv, spawn_app_with};
    let plain = spawn_app().await;
    assert!(
        !plain
            .get("/")
            .await
            .headers()
            .contains_key("strict-transport-security")
    );
    plain.shutdown().await;

    let mut env = TestEnv::new();
    env.replace_in_config(
        "public_url = \"http://127.0.0.1\"",
        "public_url = \"https://contest.example.org\"",
    );
    let app = spawn_app_with(env, |b| b).await;
    for path in ["/", "/nowhere", "/api/v1/nope", "/livez"] {
        let res = app.get(path).await;
        let hsts = res.headers()["strict-transport-security"].to_str().unwrap();
        assert!(hsts.starts_with("max-age=31536000"), "{path}: {hsts}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_visitor_on_an_organisers_page_is_sent_to_sign_in_and_back() {
    let app = spawn_app().await;
    for path in ["/organise", "/admin", "/judge", "/organise/some-id/team"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(
            res.headers()["location"].to_str().unwrap(),
            format!("/sign-in?next={path}")
        );
        assert_security_headers(&res);
    }
    app.shutdown().await;
}
