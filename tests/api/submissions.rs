//! Competitions and submissions end to end, on the leg's database and store: the
//! organiser's call, entries, streamed uploads with their rules, analysis, playback,
//! moderation, CSV, the sweeper, and direct-to-S3 uploads where the store is S3.

use std::f64::consts::PI;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::invitations::organiser;

/// A 16-bit stereo WAV: a little melody whose notes depend on `seed`.
pub fn wav(secs: f64, seed: u32, gain: f64) -> Vec<u8> {
    let rate = 44_100u32;
    let frames = (secs * rate as f64) as u32;
    let mut out = Vec::with_capacity(44 + frames as usize * 4);
    let data_len = frames * 4;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    let scale = [220.0, 247.0, 262.0, 294.0, 330.0, 349.0, 392.0, 440.0];
    let mut phase = 0.0f64;
    for i in 0..frames {
        let t = i as f64 / rate as f64;
        let note = ((t * 4.0) as u32)
            .wrapping_mul(2_654_435_761)
            .wrapping_add(seed.wrapping_mul(97))
            % 8;
        phase += 2.0 * PI * scale[note as usize] / rate as f64;
        let s = gain * (phase.sin() * 0.6 + (phase * 2.0).sin() * 0.3);
        let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

pub struct Call {
    pub org: String,
    pub id: String,
    pub slug: String,
    pub prompt: String,
    pub category: String,
}

/// An organiser's published, open competition with one prompt and one category and
/// a short minimum length (so test files stay small).
pub async fn open_call(app: &TestApp, slug: &str, extra: Value) -> Call {
    let (_, org) = organiser(app, &format!("org-{slug}@example.org")).await;
    let mut body = json!({
        "title": format!("Paintings that sing {slug}"), "slug": slug,
        "summary": "Songs for paintings", "description": "# Hello\n\n<script>alert(1)</script>",
        "time_zone": "Asia/Shanghai", "entries_per_musician": 2,
        "audio_policy": { "duration": { "min_secs": 2.0, "max_secs": 600.0, "severity": "reject" } },
        "prompts": [{ "title": "Spring Dawn", "story": "A painting of *mist*." }],
        "categories": [{ "name": "Song" }],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = app
        .client
        .post(app.url("/api/v1/competitions"))
        .bearer_auth(&org)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let c: Value = res.json().await.unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/competitions/{id}/publish")))
        .bearer_auth(&org)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    Call {
        org,
        slug: slug.into(),
        prompt: c["prompts"][0]["id"].as_str().unwrap().into(),
        category: c["categories"][0]["id"].as_str().unwrap().into(),
        id,
    }
}

pub async fn musician(app: &TestApp, email: &str) -> String {
    let t = app.signed_in_musician(email).await;
    t["access_token"].as_str().unwrap().to_string()
}

pub async fn new_entry(app: &TestApp, token: &str, call: &Call, title: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/competitions/{}/entries", call.id)))
        .bearer_auth(token)
        .json(&json!({
            "title": title, "prompt_id": call.prompt, "category_id": call.category,
            "lyrics": "la la", "credits": { "co_writers": ["Mei"], "producer": "Kai" },
            "samples": [{ "description": "rain", "source": "own recording" }],
            "samples_declared": true, "originality_declared": true,
        }))
        .send()
        .await
        .unwrap()
}

pub async fn entry_id(app: &TestApp, token: &str, call: &Call, title: &str) -> String {
    let res = new_entry(app, token, call, title).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn put_audio(
    app: &TestApp,
    token: &str,
    entry: &str,
    bytes: Vec<u8>,
    key: &str,
) -> reqwest::Response {
    app.client
        .put(app.url(&format!(
            "/api/v1/entries/{entry}/audio?file_name=..%2Fmy%20song.wav"
        )))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

pub async fn get_json(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let res = app.get_with(path, token).await;
    let s = res.status();
    (s, res.json().await.unwrap_or(Value::Null))
}

pub async fn code(res: reqwest::Response) -> (u16, String) {
    let s = res.status().as_u16();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    (s, v["error"]["code"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn upload_analyse_listen_moderate_export() {
    let app = spawn_app().await;
    let call = open_call(&app, "flow-one", json!({})).await;
    // The public sees it, with the description sanitised.
    let (s, c) = get_json(&app, "x", &format!("/api/v1/competitions/{}", call.slug)).await;
    assert_eq!(s, 200);
    assert!(!c["description_html"].as_str().unwrap().contains("<script"));
    assert_eq!(c["phase"], "open");

    let ana = musician(&app, "ana@example.org").await;
    let entry = entry_id(&app, &ana, &call, "Spring mist").await;
    let audio = wav(6.0, 1, 0.5);
    let res = put_audio(&app, &ana, &entry, audio.clone(), "key-1").await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["status"], "uploaded");
    assert_eq!(first["audio"]["file_name"], "my song.wav");
    assert_eq!(first["audio"]["size_bytes"], audio.len());
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&audio));
    assert_eq!(first["audio"]["sha256"], sha);

    // A retry with the same key answers the same, and makes nothing new.
    let res = put_audio(&app, &ana, &entry, audio.clone(), "key-1").await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap(), first);
    let jobs = app
        .state
        .db
        .run(|c| cadenza::jobs::store::list_kind(c, "entry.analyse"))
        .await
        .unwrap();
    assert_eq!(jobs, 1, "one analysis job for one upload");

    // The worker analyses it; the musician gets the report and an email.
    app.run_pending_jobs().await;
    let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{entry}")).await;
    assert!(
        matches!(v["status"].as_str(), Some("accepted" | "needs_attention")),
        "{v}"
    );
    assert!(v["report"]["waveform"]["max"].as_array().unwrap().len() > 10);
    assert!(
        v["report"]["loudness"]["integrated_lufs"]
            .as_f64()
            .is_some()
    );
    assert!(
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "duration" && r["outcome"] == "pass")
    );
    assert!(v["flags"].as_array().unwrap().is_empty());
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|m| m.to == "ana@example.org" && m.subject.contains("Spring mist"))
    );

    // Playback: whole, ranged, out of range; strangers get 404.
    let res = app
        .get_with(&format!("/api/v1/entries/{entry}/audio"), &ana)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    assert_eq!(res.headers()["accept-ranges"], "bytes");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''my%20song.wav")
    );
    assert_eq!(res.bytes().await.unwrap().len(), audio.len());
    let res = app
        .client
        .get(app.url(&format!("/api/v1/entries/{entry}/audio")))
        .bearer_auth(&ana)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"].to_str().unwrap(),
        format!("bytes 100-199/{}", audio.len())
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), &audio[100..200]);
    let res = app
        .client
        .get(app.url(&format!("/api/v1/entries/{entry}/audio")))
        .bearer_auth(&ana)
        .header("Range", format!("bytes={}-", audio.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    let ben = musician(&app, "ben@example.org").await;
    for path in [
        format!("/api/v1/entries/{entry}"),
        format!("/api/v1/entries/{entry}/audio"),
    ] {
        assert_eq!(app.get_with(&path, &ben).await.status(), 404, "{path}");
    }
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/entries/{entry}")))
        .bearer_auth(&ben)
        .json(&json!({"title": "mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        put_audio(&app, &ben, &entry, wav(3.0, 9, 0.5), "b-1")
            .await
            .status(),
        404
    );

    // The organiser moderates: filters, the report, a decision the musician is emailed.
    let (s, list) = get_json(
        &app,
        &call.org,
        &format!(
            "/api/v1/competitions/{}/entries?prompt={}",
            call.id, call.prompt
        ),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["musician"], "Lin Yue");
    let (_, none) = get_json(
        &app,
        &call.org,
        &format!("/api/v1/competitions/{}/entries?status=rejected", call.id),
    )
    .await;
    assert!(none["items"].as_array().unwrap().is_empty());
    assert_eq!(
        app.get_with(&format!("/api/v1/competitions/{}/entries", call.id), &ana)
            .await
            .status(),
        404
    );
    let res = app
        .client
        .post(app.url(&format!("/api/v1/entries/{entry}/review")))
        .bearer_auth(&call.org)
        .json(&json!({"action": "request_changes", "reason": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(res).await,
        (422, "entry.review_reason_required".into())
    );
    let res = app
        .client
        .post(app.url(&format!("/api/v1/entries/{entry}/review")))
        .bearer_auth(&call.org)
        .json(&json!({"action": "request_changes", "reason": "Trim the silence at the end"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.run_pending_jobs().await;
    let mail = app
        .emails()
        .into_iter()
        .rev()
        .find(|m| m.to == "ana@example.org")
        .unwrap();
    assert!(
        mail.subject.contains("Changes requested"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("Trim the silence at the end"));
    let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{entry}")).await;
    assert_eq!(v["review"], "changes_requested");

    // CSV.
    let res = app
        .get_with(
            &format!("/api/v1/competitions/{}/entries.csv", call.id),
            &call.org,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("entry_id,title,musician"));
    assert!(csv.contains("Spring mist") && csv.contains(&sha));
    app.shutdown().await;
}

#[tokio::test]
async fn rules_of_the_call_are_enforced() {
    let app = spawn_app().await;
    let call = open_call(&app, "rules-one", json!({ "entries_per_musician": 1 })).await;
    let ana = musician(&app, "rules-ana@example.org").await;

    // Quota: one entry; withdrawing frees the place.
    let first = entry_id(&app, &ana, &call, "One").await;
    let (s, c) = code(new_entry(&app, &ana, &call, "Two").await).await;
    assert_eq!((s, c.as_str()), (422, "entry.quota_reached"));
    let res = app
        .client
        .post(app.url(&format!("/api/v1/entries/{first}/withdraw")))
        .bearer_auth(&ana)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let entry = entry_id(&app, &ana, &call, "Two").await;

    // Declarations are needed.
    let dan = musician(&app, "rules-dan@example.org").await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/competitions/{}/entries", call.id)))
        .bearer_auth(&dan)
        .json(&json!({"title": "x", "prompt_id": call.prompt, "category_id": call.category}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await.1, "entry.originality_required");

    // Not audio, whatever the name says.
    let (s, c) = code(
        put_audio(
            &app,
            &ana,
            &entry,
            b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".to_vec(),
            "k-pdf",
        )
        .await,
    )
    .await;
    assert_eq!((s, c.as_str()), (415, "entry.not_audio"));
    // No key, no upload.
    let res = app
        .client
        .put(app.url(&format!("/api/v1/entries/{entry}/audio")))
        .bearer_auth(&ana)
        .body(wav(3.0, 2, 0.5))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await, (400, "idempotency.key_required".into()));
    // A key reused for a different body.
    assert_eq!(
        put_audio(&app, &ana, &entry, wav(20.0, 2, 0.5), "k-same")
            .await
            .status(),
        201
    );
    let (s, c) = code(put_audio(&app, &ana, &entry, wav(4.0, 3, 0.5), "k-same").await).await;
    assert_eq!((s, c.as_str()), (422, "idempotency.key_reused"));

    // The identical file on another musician's entry is refused at once.
    let ben = musician(&app, "rules-ben@example.org").await;
    let bens = entry_id(&app, &ben, &call, "Copy").await;
    let (s, c) = code(put_audio(&app, &ben, &bens, wav(20.0, 2, 0.5), "b-1").await).await;
    assert_eq!((s, c.as_str()), (409, "entry.duplicate_file"));
    let (_, v) = get_json(&app, &ben, &format!("/api/v1/entries/{bens}")).await;
    assert_eq!(v["status"], "draft");
    assert!(v["audio"].is_null());

    // A recording that is the same music with different bytes is flagged for the organiser.
    assert_eq!(
        put_audio(&app, &ben, &bens, wav(20.0, 2, 0.49), "b-2")
            .await
            .status(),
        201
    );
    app.run_pending_jobs().await;
    let (_, v) = get_json(&app, &call.org, &format!("/api/v1/entries/{bens}")).await;
    let flags = v["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{}", v["status"]);
    assert_eq!(flags[0]["other_entry_id"], entry.as_str());
    assert!(flags[0]["ranges"][0]["length_secs"].as_f64().unwrap() >= 2.0);
    let (_, own) = get_json(&app, &ben, &format!("/api/v1/entries/{bens}")).await;
    assert!(
        own["flags"].as_array().unwrap().is_empty(),
        "musicians do not see flags"
    );
    let (_, flagged) = get_json(
        &app,
        &call.org,
        &format!("/api/v1/competitions/{}/entries?flagged=true", call.id),
    )
    .await;
    assert_eq!(flagged["items"].as_array().unwrap().len(), 1);

    // Once the window closes nothing changes any more.
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/competitions/{}", call.id)))
        .bearer_auth(&call.org)
        .json(
            &json!({"submissions_open_at": (Utc::now() - Duration::days(2)).to_rfc3339(),
                      "submissions_close_at": (Utc::now() - Duration::seconds(1)).to_rfc3339()}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/entries/{entry}")))
        .bearer_auth(&ana)
        .json(&json!({"title": "Late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await, (422, "entry.window_closed".into()));
    let (s, c) = code(put_audio(&app, &ana, &entry, wav(3.0, 5, 0.5), "k-late").await).await;
    assert_eq!((s, c.as_str()), (422, "entry.window_closed"));
    let carl = musician(&app, "rules-carl@example.org").await;
    assert_eq!(
        code(new_entry(&app, &carl, &call, "Late").await).await.1,
        "entry.window_closed"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn unverified_accounts_cannot_enter() {
    let app = spawn_app().await;
    let call = open_call(&app, "verify-one", json!({})).await;
    let res = app.register("nov@example.org", "2000-01-01", None).await;
    assert_eq!(res.status(), 202);
    let t: Value = app
        .sign_in("nov@example.org", "violin sunrise 1987")
        .await
        .json()
        .await
        .unwrap();
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(
        code(new_entry(&app, token, &call, "x").await).await,
        (403, "entry.email_unverified".into())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn prompts_and_categories_follow_the_submitted_list() {
    let app = spawn_app().await;
    let call = open_call(&app, "lists-one", json!({})).await;
    let patch = |body: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/competitions/{}", call.id)))
            .bearer_auth(&call.org)
            .json(&body)
            .send()
    };
    let res = patch(json!({
        "prompts": [{ "title": "Autumn" }, { "id": call.prompt, "title": "Spring Dawn, again" }],
        "categories": [{ "name": "Instrumental" }],
    }))
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["prompts"][0]["title"], "Autumn");
    assert_eq!(
        c["prompts"][1]["id"],
        call.prompt.as_str(),
        "an item with its id keeps it"
    );
    assert_eq!(c["prompts"][1]["title"], "Spring Dawn, again");
    assert_eq!(
        c["categories"].as_array().unwrap().len(),
        1,
        "a category left out is removed"
    );
    assert_ne!(c["categories"][0]["id"], call.category.as_str());
    let res = patch(json!({ "prompts": [{ "id": "not-ours", "title": "x" }] }))
        .await
        .unwrap();
    assert_eq!(code(res).await, (422, "competition.prompt_invalid".into()));
    let res = patch(
        json!({ "submissions_open_at": "2026-03-08T02:30", "time_zone": "America/New_York" }),
    )
    .await
    .unwrap();
    assert_eq!(code(res).await, (422, "competition.time_invalid".into()));
    let res = patch(json!({ "slug": "Bad Slug" })).await.unwrap();
    assert_eq!(code(res).await, (422, "competition.slug_invalid".into()));
    // Another organiser cannot see or change it.
    let (_, other) = organiser(&app, "other-lists@example.org").await;
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/competitions/{}", call.id)))
        .bearer_auth(&other)
        .json(&json!({"title": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.shutdown().await;
}

/// The 44-byte header of a 16-bit PCM stereo WAV at 44.1 kHz holding `data_len` bytes.
pub fn wav_header_16_stereo(data_len: u32) -> Vec<u8> {
    let rate = 44_100u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out
}

/// A stereo WAV whose right channel is the left one upside down, with a DC offset.
fn inverted_wav(secs: f64) -> Vec<u8> {
    let rate = 44_100u32;
    let frames = (secs * rate as f64) as u32;
    let mut out = wav_header_16_stereo(frames * 4);
    for i in 0..frames {
        let t = i as f64 / rate as f64;
        let x = 0.3 * (2.0 * PI * 330.0 * t).sin() + 0.1 * (2.0 * PI * 495.0 * t).sin();
        let l = ((x + 0.05) * 32767.0) as i16;
        let r = ((-x + 0.05) * 32767.0) as i16;
        out.extend_from_slice(&l.to_le_bytes());
        out.extend_from_slice(&r.to_le_bytes());
    }
    out
}

#[tokio::test]
async fn phase_dc_offset_and_loudness_range_have_verdicts_on_the_entry() {
    let app = spawn_app().await;
    let call = open_call(&app, "rules-phase", json!({})).await;
    let t = musician(&app, "phase@example.org").await;
    let id = entry_id(&app, &t, &call, "Inside out").await;
    assert_eq!(
        put_audio(&app, &t, &id, inverted_wav(8.0), "k-ph")
            .await
            .status(),
        201
    );
    app.run_pending_jobs().await;
    let (_, v) = get_json(&app, &t, &format!("/api/v1/entries/{id}")).await;
    assert_eq!(v["status"], "needs_attention", "{v}");
    let rule = |name: &str| {
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} rule in {v}"))
    };
    assert_eq!(rule("phase")["code"], "audio.phase_cancels");
    assert!(
        rule("phase")["message"]
            .as_str()
            .unwrap()
            .contains("mono speaker")
    );
    assert_eq!(rule("dc_offset")["code"], "audio.dc_offset");
    assert_eq!(rule("loudness_range")["outcome"], "pass");
    // The entry page shows them, the ones to fix first.
    let html = app
        .client
        .get(app.url(&format!("/entries/{id}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let phase = html.find("data-rule=\"phase\"").expect("phase on the page");
    let fine = html
        .find("data-rule=\"formats\"")
        .expect("formats on the page");
    assert!(phase < fine, "what needs fixing comes first");
    app.shutdown().await;
}

#[tokio::test]
async fn silence_at_both_ends_is_reported_at_both_ends() {
    let app = spawn_app().await;
    let call = open_call(&app, "rules-silence", json!({})).await;
    let t = musician(&app, "quiet@example.org").await;
    let id = entry_id(&app, &t, &call, "Quiet at both ends").await;
    // 12 s of silence, 3 s of music, 21 s of silence (the limits are 2 s and 10 s).
    let rate = 44_100usize;
    let mut data = Vec::with_capacity(rate * 36 * 4);
    for i in 0..rate * 36 {
        let s = i as f64 / rate as f64;
        let v = if (12.0..15.0).contains(&s) {
            ((s * 440.0 * std::f64::consts::TAU).sin() * 0.3 * 32767.0) as i16
        } else {
            0
        };
        data.extend_from_slice(&v.to_le_bytes());
        data.extend_from_slice(&v.to_le_bytes());
    }
    let mut bytes = wav_header_16_stereo(data.len() as u32);
    bytes.extend_from_slice(&data);
    assert_eq!(
        put_audio(&app, &t, &id, bytes, "k-quiet").await.status(),
        201
    );
    app.run_pending_jobs().await;
    let (_, v) = get_json(&app, &t, &format!("/api/v1/entries/{id}")).await;
    let codes: Vec<String> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "silence" && r["outcome"] != "pass")
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "audio.leading_silence_too_long",
            "audio.trailing_silence_too_long"
        ],
        "one upload tells her about both ends: {v}"
    );
    app.shutdown().await;
}
