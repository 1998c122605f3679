//! Content in two languages: what an organiser types is kept per language, readers get
//! theirs with a fallback to the competition's own (and are told which), and the
//! editor keeps categories by identity.

use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::invitations::organiser;
use crate::submissions::{Call, code, entry_id, musician, open_call};

async fn get_in(app: &TestApp, path: &str, lang: &str) -> Value {
    let res = app
        .client
        .get(app.url(path))
        .header("Accept-Language", lang)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn patch(app: &TestApp, org: &str, id: &str, body: &Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/competitions/{id}")))
        .bearer_auth(org)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn bilingual_call(app: &TestApp) -> Call {
    open_call(
        app,
        "paintings-zh",
        json!({
            "language": "en",
            "translations": { "zh-CN": { "title": "会唱歌的画", "summary": "为古画写歌" } },
            "prompts": [
                { "title": "A Thousand Li of Rivers and Mountains", "story": "Blue and green.",
                  "translations": { "zh-CN": { "title": "千里江山图" } } },
                { "title": "Spring Dawn", "story": "Mist." },
            ],
            "categories": [
                { "name": "Song", "description": "With words",
                  "translations": { "zh-CN": { "name": "歌曲" } } },
            ],
        }),
    )
    .await
}

#[tokio::test]
async fn bilingual_fields_round_trip_and_fall_back_to_the_competitions_own_language() {
    let app = spawn_app().await;
    let call = bilingual_call(&app).await;
    let path = format!("/api/v1/competitions/{}", call.slug);

    let zh = get_in(&app, &path, "zh-CN,zh;q=0.9").await;
    assert_eq!(zh["title"], "会唱歌的画");
    assert_eq!(zh["summary"], "为古画写歌");
    assert_eq!(zh["shown_language"], "zh-CN");
    assert_eq!(zh["language"], "en");
    assert_eq!(zh["prompts"][0]["title"], "千里江山图");
    assert_eq!(zh["prompts"][0]["shown_language"], "zh-CN");
    // No Chinese story was given: the English one, said to be English.
    assert_eq!(zh["prompts"][0]["story"], "Blue and green.");
    assert_eq!(zh["prompts"][1]["title"], "Spring Dawn");
    assert_eq!(zh["prompts"][1]["shown_language"], "en");
    assert_eq!(zh["categories"][0]["name"], "歌曲");
    assert_eq!(zh["categories"][0]["description"], "With words");
    assert_eq!(zh["translations"]["zh-CN"]["title"], "会唱歌的画");

    let en = get_in(&app, &path, "en").await;
    assert_eq!(en["title"], "Paintings that sing paintings-zh");
    assert_eq!(en["shown_language"], "en");
    assert_eq!(
        en["prompts"][0]["title"],
        "A Thousand Li of Rivers and Mountains"
    );
    // `?lang=` wins over the header, as a poster's link does.
    let q = get_in(&app, &format!("{path}?lang=zh-CN"), "en").await;
    assert_eq!(q["title"], "会唱歌的画");

    // The list and the public page too.
    let list = get_in(&app, "/api/v1/competitions", "zh-CN").await;
    assert_eq!(list["items"][0]["title"], "会唱歌的画");
    let html = app
        .client
        .get(app.url(&format!("/c/{}", call.slug)))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("会唱歌的画") && html.contains("千里江山图"),
        "{html}"
    );
    assert!(!html.contains("data-shown-language"));

    // A change that does not mention translations keeps them.
    let res = patch(
        &app,
        &call.org,
        &call.id,
        &json!({ "summary": "Songs for old paintings" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let zh = get_in(&app, &path, "zh-CN").await;
    assert_eq!(zh["summary"], "为古画写歌");
    assert_eq!(zh["prompts"][0]["title"], "千里江山图");
    app.shutdown().await;
}

#[tokio::test]
async fn a_competition_written_in_chinese_only_tells_english_readers_so() {
    let app = spawn_app().await;
    let call = open_call(
        &app,
        "zh-only",
        json!({ "language": "zh-CN", "title": "故宫的画", "prompts": [{ "title": "清明上河图" }] }),
    )
    .await;
    let en = get_in(&app, &format!("/api/v1/competitions/{}", call.slug), "en").await;
    assert_eq!(en["title"], "故宫的画");
    assert_eq!(en["shown_language"], "zh-CN");
    let html = app
        .client
        .get(app.url(&format!("/c/{}", call.slug)))
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-shown-language"), "{html}");
    assert!(html.contains(r#"<h1 lang="zh-CN">故宫的画</h1>"#), "{html}");
    app.shutdown().await;
}

#[tokio::test]
async fn translations_are_checked() {
    let app = spawn_app().await;
    let call = bilingual_call(&app).await;
    for (body, want) in [
        (
            json!({ "translations": { "fr": { "title": "x" } } }),
            "content.language_invalid",
        ),
        (
            json!({ "translations": { "zh-CN": { "colour": "x" } } }),
            "content.field_unknown",
        ),
        (
            json!({ "translations": { "en": { "title": "x" } } }),
            "content.language_is_source",
        ),
        (
            json!({ "translations": { "zh-CN": { "title": "x".repeat(121) } } }),
            "competition.title_invalid",
        ),
        (json!({ "language": "xx" }), "content.language_invalid"),
        (
            json!({ "prompts": [{ "title": "P", "translations": { "zh-CN": { "title": "" , "story": "y".repeat(20_001) } } }] }),
            "competition.text_too_long",
        ),
    ] {
        let res = patch(&app, &call.org, &call.id, &body).await;
        assert_eq!(code(res).await, (422, want.to_string()), "{body}");
    }
    // Nothing was half-written.
    let zh = get_in(
        &app,
        &format!("/api/v1/competitions/{}", call.slug),
        "zh-CN",
    )
    .await;
    assert_eq!(zh["title"], "会唱歌的画");
    assert_eq!(zh["prompts"].as_array().unwrap().len(), 2);
    app.shutdown().await;
}

/// The editor's form, as a browser sends it (multipart, every language).
fn editor_form(view: &Value, category_name: &str) -> Form {
    let mut f = Form::new()
        .text("language", "en")
        .text("title.en", view["title"].as_str().unwrap().to_string())
        .text("title.zh-CN", "会唱歌的画")
        .text("summary.en", "")
        .text("description.en", "")
        .text("rules.en", "")
        .text("slug", view["slug"].as_str().unwrap().to_string())
        .text("time_zone", "Asia/Shanghai")
        .text("open_at", "")
        .text("close_at", "")
        .text("entries_per_musician", "2")
        .text("min_age", "")
        .text("max_age", "")
        .text("consent_age", "")
        .text("policy_preset", "streaming");
    for (i, p) in view["prompts"].as_array().unwrap().iter().enumerate() {
        f = f
            .text(
                format!("prompt.{i}.id"),
                p["id"].as_str().unwrap().to_string(),
            )
            .text(
                format!("prompt.{i}.title.en"),
                p["title"].as_str().unwrap().to_string(),
            )
            .text(
                format!("prompt.{i}.story.en"),
                p["story"].as_str().unwrap().to_string(),
            );
    }
    let k = &view["categories"][0];
    f.text("category.0.id", k["id"].as_str().unwrap().to_string())
        .text("category.0.name.en", category_name.to_string())
        .text("category.0.name.zh-CN", "歌曲")
        .text("category.0.description.en", "With words")
}

async fn post_editor(app: &TestApp, org: &str, id: &str, form: Form) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/organise/{id}")))
        .bearer_auth(org)
        .header("Origin", app.address.clone())
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn renaming_a_category_in_the_editor_keeps_its_entries_and_description() {
    let app = spawn_app().await;
    let call = bilingual_call(&app).await;
    let mia = musician(&app, "mia@example.org").await;
    let entry = entry_id(&app, &mia, &call, "River Song").await;
    let view: Value = app
        .get_with(&format!("/api/v1/competitions/{}", call.id), &call.org)
        .await
        .json()
        .await
        .unwrap();

    let res = post_editor(
        &app,
        &call.org,
        &call.id,
        editor_form(&view, "Songs with words"),
    )
    .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());

    let after: Value = app
        .get_with(&format!("/api/v1/competitions/{}", call.id), &call.org)
        .await
        .json()
        .await
        .unwrap();
    let k = &after["categories"][0];
    assert_eq!(after["categories"].as_array().unwrap().len(), 1);
    assert_eq!(
        k["id"], view["categories"][0]["id"],
        "the same category, renamed"
    );
    assert_eq!(k["name"], "Songs with words");
    assert_eq!(k["description"], "With words");
    assert_eq!(k["translations"]["zh-CN"]["name"], "歌曲");
    // The preset was applied: clipping is refused.
    assert_eq!(after["audio_policy"]["clipping"]["severity"], "reject");
    assert_eq!(after["audio_policy"]["loudness"]["max_lufs"], -12.0);
    let e: Value = app
        .get_with(&format!("/api/v1/entries/{entry}"), &mia)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["category"]["id"], k["id"]);
    assert_eq!(e["category"]["name"], "Songs with words");

    // Through the API too: a renamed category keeps its id and, unsent, its description.
    let res = patch(
        &app,
        &call.org,
        &call.id,
        &json!({ "categories": [{ "id": k["id"], "name": "Lieder" }] }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["categories"][0]["id"], k["id"]);
    assert_eq!(v["categories"][0]["description"], "With words");
    app.shutdown().await;
}

#[tokio::test]
async fn the_editor_gives_new_prompts_their_pictures_in_the_same_step() {
    let app = spawn_app().await;
    let (_, org) = organiser(&app, "curator@example.org").await;
    let res = app
        .client
        .post(app.url("/api/v1/competitions"))
        .bearer_auth(&org)
        .json(&json!({ "title": "Scrolls", "slug": "scrolls" }))
        .send()
        .await
        .unwrap();
    let c: Value = res.json().await.unwrap();
    let id = c["id"].as_str().unwrap();
    let png = crate::helpers::tiny_png();
    let form = Form::new()
        .text("language", "zh-CN")
        .text("title.zh-CN", "卷轴")
        .text("title.en", "Scrolls")
        .text("slug", "scrolls")
        .text("time_zone", "Asia/Shanghai")
        .text("entries_per_musician", "1")
        .text("prompt.0.id", "")
        .text("prompt.0.title.zh-CN", "清明上河图")
        .text("prompt.0.title.en", "Along the River")
        .text("prompt.0.story.zh-CN", "汴京的一天。")
        .part(
            "prompt.0.image",
            reqwest::multipart::Part::bytes(png.clone()).file_name("river.png"),
        )
        .text("prompt.1.id", "")
        .text("prompt.1.title.zh-CN", "千里江山图")
        .part(
            "prompt.1.image",
            reqwest::multipart::Part::bytes(png.clone()).file_name("hills.png"),
        )
        // An empty row adds nothing.
        .text("prompt.2.id", "")
        .text("prompt.2.title.zh-CN", "");
    let res = post_editor(&app, &org, id, form).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let v: Value = app
        .get_with(&format!("/api/v1/competitions/{id}?lang=en"), &org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["language"], "zh-CN");
    assert_eq!(v["title"], "Scrolls");
    let prompts = v["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 2);
    assert_eq!(prompts[0]["title"], "Along the River");
    assert_eq!(prompts[1]["title"], "千里江山图");
    assert!(prompts.iter().all(|p| p["image_url"].is_string()), "{v}");

    // A file that is not a picture: refused before anything is saved.
    let form = Form::new()
        .text("language", "zh-CN")
        .text("title.zh-CN", "改了")
        .text("slug", "scrolls")
        .text("time_zone", "Asia/Shanghai")
        .text("entries_per_musician", "1")
        .part(
            "cover",
            reqwest::multipart::Part::bytes(b"not an image".to_vec()).file_name("x.png"),
        );
    let res = post_editor(&app, &org, id, form).await;
    assert_eq!(res.status(), 422);
    let v: Value = app
        .get_with(&format!("/api/v1/competitions/{id}?lang=zh-CN"), &org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["title"], "卷轴");
    app.shutdown().await;
}
