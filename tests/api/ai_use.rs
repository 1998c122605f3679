//! AI-use disclosure (issue 26, part 3): the competition's rule, the entry's disclosure
//! checked against it in both languages, and the disclosure beside the entry for judges
//! (blind: never the identity), on the public results, the song page and the musician's
//! data export.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::judging::{post, put, queue, round, score, setup};
use crate::submissions::{Call, code, get_json, musician, open_call};

async fn enter(app: &TestApp, token: &str, call: &Call, extra: Value) -> reqwest::Response {
    let mut body = json!({
        "title": "Mist", "prompt_id": call.prompt, "category_id": call.category,
        "originality_declared": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.client
        .post(app.url(&format!("/api/v1/competitions/{}/entries", call.id)))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_rule_is_set_and_each_entry_keeps_it() {
    let app = spawn_app().await;
    // The rule is one of three; anything else is refused in words.
    let (_, org) = crate::invitations::organiser(&app, "org-ai-bad@example.org").await;
    let res = app
        .client
        .post(app.url("/api/v1/competitions"))
        .bearer_auth(&org)
        .json(&json!({ "title": "Bad rule", "slug": "ai-bad", "ai_rule": "sometimes" }))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await, (422, "competition.ai_rule_invalid".into()));

    // Allowed with disclosure: every entry says whether and what for.
    let call = open_call(&app, "ai-disclose", json!({ "ai_rule": "disclose" })).await;
    let (_, c) = get_json(&app, "x", &format!("/api/v1/competitions/{}", call.slug)).await;
    assert_eq!(c["ai_rule"], "disclose");
    let ana = musician(&app, "ai-ana@example.org").await;
    let res = enter(&app, &ana, &call, json!({})).await;
    assert_eq!(
        code(res).await,
        (422, "entry.ai_disclosure_required".into())
    );
    let res = enter(&app, &ana, &call, json!({ "ai_use": ["ghostwriter"] })).await;
    assert_eq!(code(res).await, (422, "entry.ai_use_invalid".into()));
    let res = enter(
        &app,
        &ana,
        &call,
        json!({ "ai_use": ["mixing", "lyrics", "mixing"] }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["ai_use"]["uses"], json!(["lyrics", "mixing"]));
    assert_eq!(e["ai_use"]["summary"], "Lyrics, Mixing / mastering");
    let id = e["id"].as_str().unwrap();
    // Read in Chinese, the same disclosure in Chinese.
    let zh: Value = app
        .client
        .get(app.url(&format!("/api/v1/entries/{id}")))
        .bearer_auth(&ana)
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zh["ai_use"]["summary"], "歌词、混音 / 母带");
    // An update that leaves the disclosure out keeps it; "no AI" is an answer.
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/entries/{id}")))
        .bearer_auth(&ana)
        .json(&json!({ "description": "misty" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/entries/{id}")))
        .bearer_auth(&ana)
        .json(&json!({ "ai_use": [] }))
        .send()
        .await
        .unwrap();
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["ai_use"]["uses"], json!([]));
    assert_eq!(e["ai_use"]["summary"], "No AI used");

    // Not allowed: a declared use is refused with a message the musician can act on,
    // in both languages; "no AI" is accepted.
    let strict = open_call(&app, "ai-forbidden", json!({ "ai_rule": "forbidden" })).await;
    let bo = musician(&app, "ai-bo@example.org").await;
    let res = enter(&app, &bo, &strict, json!({ "ai_use": ["full"] })).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "entry.ai_use_forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not allow AI"),
        "{body}"
    );
    let res = app
        .client
        .post(app.url(&format!("/api/v1/competitions/{}/entries", strict.id)))
        .bearer_auth(&bo)
        .header("Accept-Language", "zh-CN")
        .json(
            &json!({ "title": "x", "prompt_id": strict.prompt, "category_id": strict.category,
            "originality_declared": true, "ai_use": ["vocals"] }),
        )
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("不允许使用 AI"),
        "{body}"
    );
    let res = enter(&app, &bo, &strict, json!({ "ai_use": [] })).await;
    assert_eq!(res.status(), 201);
    // Nothing half-written: the refused entries do not exist.
    let (_, mine) = get_json(&app, &bo, "/api/v1/me/entries").await;
    let n = mine
        .as_array()
        .or_else(|| mine["items"].as_array())
        .map(|a| a.len())
        .unwrap_or(0);
    assert_eq!(n, 1, "{mine}");

    // Allowed (the default): saying nothing is fine, and shows as nothing.
    let open = open_call(&app, "ai-allowed", json!({})).await;
    let (_, c) = get_json(&app, "x", &format!("/api/v1/competitions/{}", open.slug)).await;
    assert_eq!(c["ai_rule"], "allowed");
    let res = enter(&app, &bo, &open, json!({})).await;
    assert_eq!(res.status(), 201);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["ai_use"], Value::Null);

    // The public page states the rule.
    let html = app
        .get(&format!("/c/{}", strict.slug))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("AI-made music is not allowed"), "rule shown");
}

#[tokio::test]
async fn judges_results_and_song_pages_show_the_disclosure_never_the_name() {
    let app = spawn_app().await;
    let s = setup(&app, "ai-judged", 2, 1).await;
    // Entry 0 declares AI vocals; entry 1 says no AI.
    for (i, uses) in [json!(["vocals"]), json!([])].into_iter().enumerate() {
        let res = app
            .client
            .patch(app.url(&format!("/api/v1/entries/{}", s.entries[i].2)))
            .bearer_auth(&s.entries[i].0)
            .json(&json!({ "ai_use": uses }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let r = round(
        &app,
        &s,
        json!({ "blind": true, "judges_per_entry": 1, "advancement": { "kind": "top_n", "n": 1 } }),
    )
    .await;
    let rid = r["id"].as_str().unwrap();
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/assign"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let j = &s.judges[0];
    let mut seen = Vec::new();
    for it in queue(&app, j, rid).await {
        let alias = it["alias"].as_str().unwrap();
        let (st, v) = get_json(
            &app,
            &j.token,
            &format!("/api/v1/judging/assignments/{alias}"),
        )
        .await;
        assert_eq!(st, 200);
        assert_eq!(v["title"], Value::Null, "blind: no title");
        assert_eq!(v["musician"], Value::Null, "blind: no name");
        seen.push(v["ai_use"].clone());
        // The judge's page says it in words.
        let html = app
            .client
            .get(app.url(&format!("/judge/a/{alias}")))
            .bearer_auth(&j.token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let words = if v["ai_use"] == json!(["vocals"]) {
            "Vocals"
        } else {
            "No AI used"
        };
        assert!(
            html.contains("data-ai-use") && html.contains(words),
            "judge page shows {words}"
        );
        let better = v["ai_use"] == json!(["vocals"]);
        let res = score(&app, j, alias, if better { 9 } else { 5 }, 8).await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(seen.len(), 2);
    assert!(
        seen.contains(&json!([])) && seen.contains(&json!(["vocals"])),
        "{seen:?}"
    );

    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/close"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = put(
        &app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results", s.call.id),
        json!({ "method": "eurovision", "jury_weight": 50, "public_weight": 50 }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results/publish", s.call.id),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (_, public) = get_json(
        &app,
        "x",
        &format!("/api/v1/competitions/{}/results", s.call.slug),
    )
    .await;
    let first = &public["standings"][0];
    assert_eq!(first["entry_id"], s.entries[0].2.as_str(), "{public}");
    assert_eq!(first["ai_use"], json!(["vocals"]));
    assert_eq!(public["standings"][1]["ai_use"], json!([]));
    let html = app
        .get(&format!("/c/{}/results", s.call.slug))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("AI use") && html.contains("Vocals"),
        "results page"
    );
    let song = app
        .get(&format!("/songs/{}", s.entries[0].2))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        song.contains("data-ai-use") && song.contains("Vocals"),
        "song page"
    );

    // The musician's export carries what they declared.
    let (st, export) = get_json(&app, &s.entries[0].0, "/api/v1/me/export").await;
    assert_eq!(st, 200);
    assert_eq!(
        export["entries"][0]["ai_use"],
        json!(["vocals"]),
        "{export}"
    );
}
