//! Listeners' time-synced comments (issue 26, part 4): only on public songs, only by
//! listeners signed in by email, pinned inside the song, checked against the word
//! lists, rate-limited per account; the musician's switch; a minor's songs off unless a
//! guardian allowed them; report-and-hide and the organisers' queue; the export.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::judging::{Setup, post, put, queue, round, score, setup};
use crate::submissions::{code, get_json};
use crate::voting::voter;

/// A competition whose results are computed: two songs (entries 0 and 1);
/// [`publish`] makes them public.
async fn published(app: &TestApp, slug: &str) -> Setup {
    ranked(app, setup(app, slug, 2, 1).await).await
}

/// Judge every entry of `s` (one judge, every entry a different score) and compute
/// the results.
pub async fn ranked(app: &TestApp, s: Setup) -> Setup {
    let n = s.entries.len() as i64;
    let r = round(
        app,
        &s,
        json!({ "judges_per_entry": 1, "advancement": { "kind": "top_n", "n": n } }),
    )
    .await;
    let rid = r["id"].as_str().unwrap();
    let ok = |res: reqwest::Response| async move {
        let st = res.status();
        assert!(st.is_success(), "{st}: {}", res.text().await.unwrap());
    };
    ok(post(
        app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/assign"),
        json!({}),
    )
    .await)
    .await;
    let j = &s.judges[0];
    for (i, it) in queue(app, j, rid).await.iter().enumerate() {
        let alias = it["alias"].as_str().unwrap();
        ok(score(app, j, alias, 9 - i as i64, 8).await).await;
    }
    ok(post(
        app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/close"),
        json!({}),
    )
    .await)
    .await;
    ok(put(
        app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results", s.call.id),
        json!({ "method": "borda", "jury_weight": 100, "public_weight": 0 }),
    )
    .await)
    .await;
    s
}

pub async fn publish(app: &TestApp, s: &Setup) {
    let res = post(
        app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results/publish", s.call.id),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
}

async fn comment(app: &TestApp, token: &str, song: &str, at: f64, body: &str) -> reqwest::Response {
    post(
        app,
        token,
        &format!("/api/v1/songs/{song}/comments"),
        json!({ "at_secs": at, "body": body }),
    )
    .await
}

async fn listed(app: &TestApp, token: &str, song: &str) -> Value {
    let (st, v) = get_json(app, token, &format!("/api/v1/songs/{song}/comments")).await;
    assert_eq!(st, 200, "{v}");
    v
}

fn bodies(v: &Value) -> Vec<String> {
    v["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn listeners_pin_comments_to_public_songs_within_the_rules() {
    let app = spawn_app().await;
    let s = published(&app, "cm-rules").await;
    let song = s.entries[0].2.clone();
    let mei = voter(&app, "cm-mei@example.org").await;

    // Not before the results are public.
    assert_eq!(
        comment(&app, &mei, &song, 1.0, "lovely").await.status(),
        404
    );
    publish(&app, &s).await;

    // Pinned inside the song (3 s long here), kind words only, short.
    let res = comment(&app, &mei, &song, 1.5, "  the  bridge\n gives me chills ").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let c: Value = res.json().await.unwrap();
    assert_eq!(
        (c["at"].as_str(), c["body"].as_str()),
        (Some("0:01"), Some("the bridge gives me chills"))
    );
    assert_eq!(
        code(comment(&app, &mei, &song, 99.0, "late").await).await,
        (422, "comment.time_invalid".into())
    );
    assert_eq!(
        code(comment(&app, &mei, &song, 1.0, &"a".repeat(141)).await).await,
        (422, "comment.body_invalid".into())
    );
    let res = app
        .client
        .post(app.url(&format!("/api/v1/songs/{song}/comments")))
        .bearer_auth(&mei)
        .header("Accept-Language", "zh-CN")
        .json(&json!({ "at_secs": 1.0, "body": "真是个白痴" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "comment.words_refused");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("友善"),
        "{body}"
    );

    // Signed in by email only: an account that never verified its address cannot.
    assert_eq!(
        app.register("cm-unverified@example.org", &crate::auth::adult_dob(), None)
            .await
            .status(),
        202
    );
    let t: Value = app
        .sign_in("cm-unverified@example.org", "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    let unverified = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        code(comment(&app, &unverified, &song, 1.0, "hi").await).await,
        (403, "comment.email_unverified".into())
    );
    assert_eq!(
        comment(&app, "nobody", &song, 1.0, "hi").await.status(),
        401
    );

    // The rate limit per account: at most 5 a minute (two windows at most here).
    let mut limited = 0;
    for i in 0..11 {
        let st = comment(&app, &mei, &s.entries[1].2, 0.5, &format!("again {i}"))
            .await
            .status();
        assert!(st == 201 || st == 429, "{st}");
        limited += (st == 429) as u32;
    }
    assert!(limited >= 1, "the sixth comment in a minute waits");

    // Anyone may read them, in song order, with the listener's stage name.
    let v = listed(&app, "x", &song).await;
    assert_eq!(v["enabled"], true);
    assert_eq!(v["can_post"], false, "signed out");
    assert_eq!(bodies(&v), ["the bridge gives me chills"]);
    assert!(v["comments"][0]["author"].as_str().is_some());
    assert_eq!(v["comments"][0]["reports"], 0);
    assert!(
        !v["waveform"].as_array().unwrap().is_empty(),
        "the lane's waveform"
    );

    // The listener's export holds what they wrote.
    let (_, export) = get_json(&app, &mei, "/api/v1/me/export").await;
    assert!(
        export["song_comments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["text"] == "the bridge gives me chills"),
        "{export}"
    );
}

/// A musician's date of birth and a guardian's permission, as the consent flow leaves them.
async fn set_minor(app: &TestApp, email: &str, dob: Option<String>, allow: bool) {
    let email = email.to_string();
    app.state
        .db
        .run(move |c| {
            use cadenza::db::schema::users::dsl as u;
            diesel::update(u::users.filter(u::email.eq(email)))
                .set((
                    u::date_of_birth.eq(dob),
                    u::guardian_allows_comments.eq(allow),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_musician_switches_off_and_a_minors_songs_wait_for_a_guardian() {
    let app = spawn_app().await;
    let s = published(&app, "cm-switch").await;
    publish(&app, &s).await;
    let (song, owner) = (s.entries[0].2.clone(), s.entries[0].0.clone());
    let kai = voter(&app, "cm-kai@example.org").await;

    // Only the musician switches; off means off.
    let path = format!("/api/v1/songs/{song}/comments/settings");
    assert_eq!(
        put(&app, &kai, &path, json!({ "enabled": false }))
            .await
            .status(),
        404
    );
    assert_eq!(
        put(&app, &owner, &path, json!({ "enabled": false }))
            .await
            .status(),
        204
    );
    let v = listed(&app, &kai, &song).await;
    assert_eq!(
        (v["enabled"].as_bool(), v["off_reason"].as_str()),
        (Some(false), Some("musician"))
    );
    assert_eq!(
        code(comment(&app, &kai, &song, 1.0, "hello").await).await,
        (409, "comment.off".into())
    );
    assert_eq!(
        put(&app, &owner, &path, json!({ "enabled": true }))
            .await
            .status(),
        204
    );
    assert_eq!(comment(&app, &kai, &song, 1.0, "hello").await.status(), 201);

    // A minor's song: off until a guardian allows comments, whatever the switch says.
    let email = s.entries[1].1.clone();
    let young = (chrono::Utc::now().date_naive() - chrono::Duration::days(15 * 366))
        .format("%Y-%m-%d")
        .to_string();
    set_minor(&app, &email, Some(young.clone()), false).await;
    let minor_song = s.entries[1].2.clone();
    let v = listed(&app, &kai, &minor_song).await;
    assert_eq!(
        (v["enabled"].as_bool(), v["off_reason"].as_str()),
        (Some(false), Some("guardian"))
    );
    assert_eq!(
        code(comment(&app, &kai, &minor_song, 1.0, "hi").await).await,
        (409, "comment.off".into())
    );
    // The young musician cannot turn them on alone (a fresh sign-in carries the age).
    let t: Value = app
        .sign_in(&email, "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    let teen = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        code(
            put(
                &app,
                &teen,
                &format!("/api/v1/songs/{minor_song}/comments/settings"),
                json!({ "enabled": true })
            )
            .await
        )
        .await,
        (409, "comment.guardian_needed".into())
    );
    // A guardian allowed them: on.
    set_minor(&app, &email, Some(young), true).await;
    assert_eq!(listed(&app, &kai, &minor_song).await["enabled"], true);
    assert_eq!(
        comment(&app, &kai, &minor_song, 1.0, "brave song")
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn reports_hide_and_organisers_decide() {
    let app = spawn_app().await;
    let s = published(&app, "cm-mod").await;
    publish(&app, &s).await;
    let (song, owner) = (s.entries[0].2.clone(), s.entries[0].0.clone());
    let author = voter(&app, "cm-author@example.org").await;
    let rude: Value = comment(&app, &author, &song, 1.0, "meh, boring")
        .await
        .json()
        .await
        .unwrap();
    let kind: Value = comment(&app, &author, &song, 2.0, "wonderful strings")
        .await
        .json()
        .await
        .unwrap();
    let (rude, kind) = (rude["id"].as_str().unwrap(), kind["id"].as_str().unwrap());

    // The author cannot report their own; each listener counts once; three hide it.
    assert_eq!(
        code(
            post(
                &app,
                &author,
                &format!("/api/v1/comments/{rude}/report"),
                json!({})
            )
            .await
        )
        .await,
        (422, "comment.own".into())
    );
    for i in 0..3 {
        let t = voter(&app, &format!("cm-reporter{i}@example.org")).await;
        for _ in 0..2 {
            let res = post(
                &app,
                &t,
                &format!("/api/v1/comments/{rude}/report"),
                json!({}),
            )
            .await;
            assert_eq!(res.status(), 204);
        }
        let hidden = !bodies(&listed(&app, "x", &song).await).contains(&"meh, boring".to_string());
        assert_eq!(
            hidden,
            i == 2,
            "hidden after the third listener, not before"
        );
    }

    // The organisers' queue has it; a stranger cannot see the queue.
    let qpath = format!("/api/v1/competitions/{}/comments", s.call.id);
    let (st, q) = get_json(&app, &s.call.org, &qpath).await;
    assert_eq!(st, 200);
    assert_eq!(q[0]["id"], rude);
    assert_eq!(q[0]["reports"], 3);
    assert_eq!(q[0]["hidden_by"], "reports");
    assert_eq!(get_json(&app, &author, &qpath).await.0, 404);

    // The organiser restores it: shown again, out of the queue, audited.
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/comments/{rude}/restore"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(bodies(&listed(&app, "x", &song).await).contains(&"meh, boring".to_string()));
    assert_eq!(get_json(&app, &s.call.org, &qpath).await.1, json!([]));

    // The musician hides one on their song: gone for listeners, marked for the musician.
    let res = post(
        &app,
        &owner,
        &format!("/api/v1/comments/{kind}/hide"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(bodies(&listed(&app, "x", &song).await), ["meh, boring"]);
    let mine = listed(&app, &owner, &song).await;
    let hidden = mine["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == kind)
        .unwrap();
    assert_eq!(
        (hidden["hidden"].as_bool(), hidden["hidden_by"].as_str()),
        (Some(true), Some("musician"))
    );
    // A listener cannot hide.
    assert_eq!(
        post(
            &app,
            &author,
            &format!("/api/v1/comments/{rude}/hide"),
            json!({})
        )
        .await
        .status(),
        404
    );
    // The musician's hiding waits in the organisers' queue too.
    let (_, q) = get_json(&app, &s.call.org, &qpath).await;
    assert_eq!(q[0]["id"], kind);
}
