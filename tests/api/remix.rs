//! Remix rounds end to end, on the leg's database and store: stem packs with their
//! versioned licence, acceptance before download, signed links that expire and are
//! counted, sources (required in a remix competition; a song only while its musician
//! allows remixes), lineage over two generations with credits, and the stem-usage check
//! finding the stems a remix really uses.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestEnv, spawn_app, spawn_app_with};
use crate::judging::{post, put};
use crate::submissions::{Call, code, get_json, musician, open_call, put_audio, wav};

async fn ok(res: reqwest::Response) -> Value {
    let s = res.status();
    let t = res.text().await.unwrap();
    assert!(s.is_success(), "{s}: {t}");
    serde_json::from_str(&t).unwrap_or(Value::Null)
}

/// A 16-bit mono WAV of `samples` at 44.1 kHz.
fn wav_of(samples: &[f32]) -> Vec<u8> {
    let rate = 44_100u32;
    let data_len = samples.len() as u32 * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    out
}

/// `secs` of notes with random pitches between `lo` and `hi` Hz (harmonics, decaying
/// envelopes), from a fixed seed.
fn melody(seed: u64, secs: f64, lo: f64, hi: f64) -> Vec<f32> {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let rate = 44_100.0;
    let n = (secs * rate) as usize;
    let mut out = vec![0f32; n];
    let mut t = 0;
    while t < n {
        let dur = ((0.12 + 0.3 * next()) * rate) as usize;
        let f = lo * (hi / lo).powf(next());
        for i in 0..dur.min(n - t) {
            let x = i as f64 / rate;
            let env = (-x * 6.0).exp() * (1.0 - (-x * 400.0).exp());
            let v: f64 = [(1.0, 1.0), (2.0, 0.5), (3.0, 0.25)]
                .iter()
                .map(|(k, a)| a * (2.0 * std::f64::consts::PI * f * k * x).sin())
                .sum();
            out[t + i] += (0.3 * env * v) as f32;
        }
        t += dur;
    }
    out
}

fn mix_in(into: &mut [f32], what: &[f32], at_secs: f64, gain: f32) {
    let at = (at_secs * 44_100.0) as usize;
    for (i, v) in what.iter().enumerate() {
        if let Some(x) = into.get_mut(at + i) {
            *x += v * gain;
        }
    }
}

/// A musician's new entry in `call` with `extra` fields; returns the response.
async fn enter(
    app: &TestApp,
    token: &str,
    call: &Call,
    title: &str,
    extra: Value,
) -> reqwest::Response {
    let mut body = json!({
        "title": title, "prompt_id": call.prompt, "category_id": call.category,
        "originality_declared": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    post(
        app,
        token,
        &format!("/api/v1/competitions/{}/entries", call.id),
        body,
    )
    .await
}

async fn entered(
    app: &TestApp,
    token: &str,
    call: &Call,
    title: &str,
    extra: Value,
    audio: Vec<u8>,
) -> String {
    let v = ok(enter(app, token, call, title, extra).await).await;
    let id = v["id"].as_str().unwrap().to_string();
    let res = put_audio(app, token, &id, audio, &format!("k-{id}")).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    id
}

/// Judge a competition's entries (one judge, one round) and publish its results.
async fn publish(app: &TestApp, call: &Call) {
    app.run_pending_jobs().await;
    let email = format!("judge-{}@example.org", call.slug);
    let judge = crate::judging::invited_judge(app, call, &email, "Judge").await;
    let r = ok(post(
        app,
        &call.org,
        &format!("/api/v1/competitions/{}/rounds", call.id),
        json!({ "name": "Final", "judges_per_entry": 1,
            "rubric": [{ "name": "Overall", "weight": 100, "min": 1, "max": 10 }],
            "advancement": { "kind": "top_n", "n": 1 } }),
    )
    .await)
    .await;
    let rid = r["id"].as_str().unwrap();
    ok(post(
        app,
        &call.org,
        &format!("/api/v1/rounds/{rid}/assign"),
        json!({}),
    )
    .await)
    .await;
    let q = ok(app
        .get_with(&format!("/api/v1/judging/rounds/{rid}/queue"), &judge)
        .await)
    .await;
    for (i, it) in q["items"].as_array().unwrap().iter().enumerate() {
        let alias = it["alias"].as_str().unwrap();
        let scores = json!({ "c1": 9 - i as i64 });
        let res = put(
            app,
            &judge,
            &format!("/api/v1/judging/assignments/{alias}/score"),
            json!({ "criteria": scores }),
        )
        .await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    ok(post(
        app,
        &call.org,
        &format!("/api/v1/rounds/{rid}/close"),
        json!({}),
    )
    .await)
    .await;
    ok(put(
        app,
        &call.org,
        &format!("/api/v1/competitions/{}/results", call.id),
        json!({}),
    )
    .await)
    .await;
    ok(post(
        app,
        &call.org,
        &format!("/api/v1/competitions/{}/results/publish", call.id),
        json!({}),
    )
    .await)
    .await;
}

async fn put_file(
    app: &TestApp,
    org: &str,
    pack: &str,
    kind: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.client
        .put(app.url(&format!(
            "/api/v1/stem-packs/{pack}/files?kind={kind}&name={name}&file_name={name}.bin"
        )))
        .bearer_auth(org)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// Follow a download link as an API client would (errors as JSON).
async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    app.client
        .get(app.url(url))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
}

fn licence() -> Value {
    json!("Use these stems in your entry to this competition. Credit the band. No sale.")
}

#[tokio::test]
async fn stem_packs_licences_signed_links_sources_permissions_lineage_and_credits() {
    let app = spawn_app_with(
        TestEnv::with_extra("[remix]\ndownload_link_secs = 2\n"),
        |b| b,
    )
    .await;

    // Generation 0: an original song, judged and published.
    let a = open_call(&app, "rmx-a", json!({})).await;
    let lin = musician(&app, "lin@example.org").await;
    let original = entered(&app, &lin, &a, "Spring Dawn", json!({}), wav(3.0, 1, 0.4)).await;
    publish(&app, &a).await;

    // A remix competition with a stem pack made from the original.
    let b = open_call(&app, "rmx-b", json!({})).await;
    let s = ok(put(
        &app,
        &b.org,
        &format!("/api/v1/competitions/{}/remix", b.id),
        json!({ "sources_required": true }),
    )
    .await)
    .await;
    assert_eq!(s["sources_required"], true);
    let res = post(
        &app,
        &b.org,
        &format!("/api/v1/competitions/{}/stem-packs", b.id),
        json!({ "title": "Spring Dawn stems", "tempo_bpm": 92, "licence_name": "Remix licence" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "remix.licence_required".into()));
    let pack = ok(post(
        &app,
        &b.org,
        &format!("/api/v1/competitions/{}/stem-packs", b.id),
        json!({ "title": "Spring Dawn stems", "prompt_id": b.prompt, "source_entry_id": original,
            "credit": "The Dawn Band", "tempo_bpm": 92, "musical_key": "A minor",
            "licence_name": "Remix licence", "licence_text": licence() }),
    )
    .await)
    .await;
    assert_eq!(pack["licence_version"], 1);
    assert_eq!(pack["source_entry"]["title"], "Spring Dawn");
    let pid = pack["id"].as_str().unwrap().to_string();
    let other = musician(&app, "mallory@example.org").await;
    let res = post(
        &app,
        &other,
        &format!("/api/v1/competitions/{}/stem-packs", b.id),
        json!({ "title": "x", "licence_name": "x", "licence_text": "x" }),
    )
    .await;
    assert_eq!(res.status(), 404, "only the organiser attaches packs");

    // Files: a stem (analysed), MIDI, lyrics; bad kinds and contents refused.
    let stem_bytes = wav(3.0, 7, 0.3);
    let stem = ok(put_file(&app, &b.org, &pid, "stem", "Bass", stem_bytes.clone()).await).await;
    assert_eq!(stem["status"], "pending");
    let stem_id = stem["id"].as_str().unwrap().to_string();
    ok(put_file(
        &app,
        &b.org,
        &pid,
        "midi",
        "Melody",
        b"MThd\0\0\0\x06\0\x01\0\x01\x01\xe0".to_vec(),
    )
    .await)
    .await;
    ok(put_file(
        &app,
        &b.org,
        &pid,
        "lyrics",
        "Lyrics",
        "春眠不觉晓\nSpring sleep".as_bytes().to_vec(),
    )
    .await)
    .await;
    assert_eq!(
        code(put_file(&app, &b.org, &pid, "midi", "x", b"not midi".to_vec()).await).await,
        (415, "remix.midi_invalid".into())
    );
    assert_eq!(
        code(
            put_file(
                &app,
                &b.org,
                &pid,
                "stem",
                "x",
                b"not audio at all, just words".to_vec()
            )
            .await
        )
        .await
        .0,
        415
    );
    assert_eq!(
        code(put_file(&app, &b.org, &pid, "video", "x", vec![1, 2]).await).await,
        (422, "remix.file_kind_invalid".into())
    );
    app.run_pending_jobs().await;
    let (_, p) = get_json(&app, &b.org, &format!("/api/v1/stem-packs/{pid}")).await;
    let files = p["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let s = files.iter().find(|f| f["id"] == stem_id.as_str()).unwrap();
    assert_eq!(s["status"], "analysed");
    assert!((s["duration_secs"].as_f64().unwrap() - 3.0).abs() < 0.05);
    assert!(s["integrated_lufs"].as_f64().is_some());

    // A musician must accept the licence before downloading, and before naming the pack.
    let mei = musician(&app, "mei@example.org").await;
    let (_, p) = get_json(&app, &mei, &format!("/api/v1/stem-packs/{pid}")).await;
    assert_eq!(p["licence_accepted"], false);
    assert!(
        p["acceptances"].is_null() && p["files"][0]["downloads"].is_null(),
        "counts are the organiser's"
    );
    let res = post(
        &app,
        &mei,
        &format!("/api/v1/stem-files/{stem_id}/link"),
        json!({}),
    )
    .await;
    assert_eq!(code(res).await, (403, "remix.licence_not_accepted".into()));
    let res = enter(&app, &mei, &b, "No source", json!({})).await;
    assert_eq!(code(res).await, (422, "remix.source_required".into()));
    let res = enter(
        &app,
        &mei,
        &b,
        "Too soon",
        json!({ "remix_of": { "stem_pack_id": pid } }),
    )
    .await;
    assert_eq!(code(res).await, (403, "remix.licence_not_accepted".into()));
    let res = post(
        &app,
        &mei,
        &format!("/api/v1/stem-packs/{pid}/licence"),
        json!({ "version": 2 }),
    )
    .await;
    assert_eq!(code(res).await, (409, "remix.licence_changed".into()));
    let p = ok(post(
        &app,
        &mei,
        &format!("/api/v1/stem-packs/{pid}/licence"),
        json!({ "version": 1 }),
    )
    .await)
    .await;
    assert_eq!(p["licence_accepted"], true);

    // Signed links: the file, as an attachment, counted; a forged one refused; an
    // expired one gone.
    let link = ok(post(
        &app,
        &mei,
        &format!("/api/v1/stem-files/{stem_id}/link"),
        json!({}),
    )
    .await)
    .await;
    let url = link["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("/downloads/stem/{stem_id}?")));
    let res = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), stem_bytes);
    let forged = format!("{}0", &url[..url.len() - 1]).replace("s=", "s=0");
    assert_eq!(
        code(fetch(&app, &forged).await).await,
        (403, "remix.link_invalid".into())
    );
    let other_file = url.replace(&stem_id, p["files"][1]["id"].as_str().unwrap());
    assert_eq!(
        fetch(&app, &other_file).await.status(),
        403,
        "a link opens one file"
    );
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(
        code(fetch(&app, &url).await).await,
        (410, "remix.link_expired".into())
    );
    let (_, p) = get_json(&app, &b.org, &format!("/api/v1/stem-packs/{pid}")).await;
    let s = p["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == stem_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        s["downloads"], 1,
        "one download; refused links do not count"
    );
    assert_eq!(p["acceptances"], 1);

    // A changed licence is a new version: accepted again before the next download.
    let p = ok(crate::judging::patch(
        &app,
        &b.org,
        &format!("/api/v1/stem-packs/{pid}"),
        json!({ "licence_text": "New terms: credit the band and the painter." }),
    )
    .await)
    .await;
    assert_eq!(p["licence_version"], 2);
    let res = post(
        &app,
        &mei,
        &format!("/api/v1/stem-files/{stem_id}/link"),
        json!({}),
    )
    .await;
    assert_eq!(code(res).await, (403, "remix.licence_not_accepted".into()));
    ok(post(
        &app,
        &mei,
        &format!("/api/v1/stem-packs/{pid}/licence"),
        json!({ "version": 2 }),
    )
    .await)
    .await;

    // The pages: the competition lists its packs and says sources are needed; the pack's
    // page shows the licence; the entry form asks for the source.
    let page = app.get("/c/rmx-b").await.text().await.unwrap();
    assert!(
        page.contains("data-remix-competition")
            && page.contains(&format!("href=\"/stem-packs/{pid}\""))
    );
    let page = app
        .get(&format!("/stem-packs/{pid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("New terms: credit the band")
            && page.contains("92 BPM")
            && page.contains("A minor")
    );
    let page = app
        .get_with("/c/rmx-b/enter", &mei)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-remix-source") && page.contains(&format!("value=\"pack:{pid}\"")));

    // The acceptances are part of the musician's data export.
    let (_, export) = get_json(&app, &mei, "/api/v1/me/export").await;
    let accepted: Vec<&str> = export["licence_acceptances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["licence"].as_str().unwrap())
        .collect();
    assert_eq!(accepted, ["v1", "v2"]);

    // Generation 1 from the pack: its credits come from the pack and the song it was made from.
    let from_pack = entered(
        &app,
        &mei,
        &b,
        "Dawn (stems remix)",
        json!({ "remix_of": { "stem_pack_id": pid } }),
        wav(3.0, 21, 0.4),
    )
    .await;
    let (_, e) = get_json(&app, &mei, &format!("/api/v1/entries/{from_pack}")).await;
    assert_eq!(e["remix_of"]["kind"], "stem_pack");
    assert_eq!(e["remix_of"]["stem_pack"]["id"], pid.as_str());
    let (_, l) = get_json(&app, &mei, &format!("/api/v1/entries/{from_pack}/lineage")).await;
    let credits: Vec<(String, String)> = l["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["role"].as_str().unwrap().into(),
                c["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        credits,
        [
            ("original".to_string(), "Lin Yue".to_string()),
            ("stems".into(), "The Dawn Band".into())
        ]
    );

    let page = app
        .get_with(&format!("/entries/{from_pack}"), &mei)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-remix-of")
            && page.contains("data-credit=\"original\"")
            && page.contains("data-source-form")
    );
    let page = app
        .get_with(&format!("/entries/{from_pack}"), &b.org)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-stem-check"),
        "the organiser sees the check"
    );

    // Remix permission: only after results, only a known licence, and it is respected.
    let res = put(
        &app,
        &mei,
        &format!("/api/v1/entries/{from_pack}/remix-permission"),
        json!({ "allowed": true, "licence": "CC-BY-4.0" }),
    )
    .await;
    assert_eq!(code(res).await, (409, "remix.results_not_published".into()));
    let kai = musician(&app, "kai@example.org").await;
    let res = enter(
        &app,
        &kai,
        &b,
        "Kai's remix",
        json!({ "remix_of": { "entry_id": original } }),
    )
    .await;
    assert_eq!(
        code(res).await,
        (403, "remix.not_allowed".into()),
        "not open to remixes yet"
    );
    let res = put(
        &app,
        &lin,
        &format!("/api/v1/entries/{original}/remix-permission"),
        json!({ "allowed": true, "licence": "MIT" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "remix.licence_invalid".into()));
    let res = put(
        &app,
        &kai,
        &format!("/api/v1/entries/{original}/remix-permission"),
        json!({ "allowed": true, "licence": "CC-BY-NC-4.0" }),
    )
    .await;
    assert_eq!(res.status(), 404, "only its musician");
    let perm = ok(put(
        &app,
        &lin,
        &format!("/api/v1/entries/{original}/remix-permission"),
        json!({ "allowed": true, "licence": "CC-BY-NC-4.0" }),
    )
    .await)
    .await;
    assert_eq!(
        perm["licence_url"],
        "https://creativecommons.org/licenses/by-nc/4.0/"
    );
    let res = enter(
        &app,
        &kai,
        &b,
        "Kai's remix",
        json!({ "remix_of": { "entry_id": original } }),
    )
    .await;
    assert_eq!(code(res).await, (403, "remix.licence_not_accepted".into()));
    let res = post(
        &app,
        &kai,
        &format!("/api/v1/entries/{original}/remix-link"),
        json!({ "licence": "CC-BY-4.0" }),
    )
    .await;
    assert_eq!(code(res).await, (409, "remix.licence_changed".into()));
    let link = ok(post(
        &app,
        &kai,
        &format!("/api/v1/entries/{original}/remix-link"),
        json!({ "licence": "CC-BY-NC-4.0" }),
    )
    .await)
    .await;
    let res = app
        .client
        .get(app.url(link["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let gen1 = entered(
        &app,
        &kai,
        &b,
        "Dawn, again",
        json!({ "remix_of": { "entry_id": original } }),
        wav(3.0, 31, 0.5),
    )
    .await;
    let res = enter(
        &app,
        &kai,
        &b,
        "Both",
        json!({ "remix_of": { "entry_id": original, "stem_pack_id": pid } }),
    )
    .await;
    assert_eq!(code(res).await, (422, "remix.source_ambiguous".into()));
    let res = enter(
        &app,
        &kai,
        &b,
        "Unpublished source",
        json!({ "remix_of": { "entry_id": from_pack } }),
    )
    .await;
    assert_eq!(code(res).await, (422, "remix.source_entry_invalid".into()));
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/entries/{gen1}/source")))
        .bearer_auth(&kai)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(res).await,
        (422, "remix.source_required".into()),
        "a remix competition keeps sources"
    );
    // Closing the song to remixes stops new remixes of it (those made stay).
    ok(put(
        &app,
        &lin,
        &format!("/api/v1/entries/{original}/remix-permission"),
        json!({ "allowed": false }),
    )
    .await)
    .await;
    let zoe = musician(&app, "zoe@example.org").await;
    let res = enter(
        &app,
        &zoe,
        &b,
        "Late",
        json!({ "remix_of": { "entry_id": original } }),
    )
    .await;
    assert_eq!(code(res).await, (403, "remix.not_allowed".into()));
    ok(put(
        &app,
        &lin,
        &format!("/api/v1/entries/{original}/remix-permission"),
        json!({ "allowed": true, "licence": "CC-BY-NC-4.0" }),
    )
    .await)
    .await;
    publish(&app, &b).await;

    // Generation 2, in a third competition (not a remix competition: the source is optional).
    ok(put(
        &app,
        &kai,
        &format!("/api/v1/entries/{gen1}/remix-permission"),
        json!({ "allowed": true, "licence": "CC-BY-4.0" }),
    )
    .await)
    .await;
    let c = open_call(&app, "rmx-c", json!({})).await;
    let ana = musician(&app, "ana@example.org").await;
    ok(post(
        &app,
        &ana,
        &format!("/api/v1/entries/{gen1}/remix-link"),
        json!({ "licence": "CC-BY-4.0" }),
    )
    .await)
    .await;
    let gen2 = entered(
        &app,
        &ana,
        &c,
        "Dawn, third time",
        json!({ "remix_of": { "entry_id": gen1 } }),
        wav(3.0, 41, 0.5),
    )
    .await;
    entered(&app, &ana, &c, "An original", json!({}), wav(3.0, 42, 0.5)).await;
    publish(&app, &c).await;

    // Lineage: up from generation 2 to the original, down from the original as a tree.
    let l = ok(app
        .client
        .get(app.url(&format!("/api/v1/entries/{gen2}/lineage")))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(l["remix_of"]["entry"]["id"], gen1.as_str());
    let up: Vec<&str> = l["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["entry"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(up, [gen1.as_str(), original.as_str()]);
    let credits: Vec<(&str, &str)> = l["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["role"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(credits.len(), 2);
    assert_eq!(credits[0].0, "original");
    assert_eq!(credits[1].0, "remix");
    let l = ok(app
        .client
        .get(app.url(&format!("/api/v1/entries/{original}/lineage")))
        .send()
        .await
        .unwrap())
    .await;
    assert!(l["remix_of"].is_null() && l["credits"] == json!([]));
    let tree = l["remixed_by"].as_array().unwrap();
    let kids: Vec<&str> = tree
        .iter()
        .map(|n| n["song"]["id"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&gen1.as_str()) && kids.contains(&from_pack.as_str()),
        "{kids:?}"
    );
    let g1 = tree
        .iter()
        .find(|n| n["song"]["id"] == gen1.as_str())
        .unwrap();
    assert_eq!(g1["remixed_by"][0]["song"]["id"], gen2.as_str());
    assert_eq!(g1["remix_licence"], "CC-BY-4.0");

    // The public song pages show it all, in both languages.
    let page = app
        .get(&format!("/songs/{gen2}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-remix-of")
            && page.contains("Dawn, again")
            && page.contains("data-credit=\"original\"")
    );
    let page = app
        .client
        .get(app.url(&format!("/songs/{original}")))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("被二次创作为") && page.contains(&format!("data-remix-node=\"{gen2}\"")));
    assert!(
        page.contains("data-song-licence=\"CC-BY-NC-4.0\"")
            && page.contains(&format!("/sign-in?next=/songs/{original}"))
    );
    assert_eq!(app.get("/songs/0123456789abcdef").await.status(), 404);
}

#[tokio::test]
async fn the_stem_usage_check_finds_the_stems_a_remix_uses_and_where() {
    let app = spawn_app().await;
    let b = open_call(&app, "rmx-check", json!({})).await;
    let pack = ok(post(&app, &b.org, &format!("/api/v1/competitions/{}/stem-packs", b.id),
        json!({ "title": "Three stems", "licence_name": "L", "licence_text": "Use freely in this competition." })).await).await;
    let pid = pack["id"].as_str().unwrap().to_string();
    let bass = melody(1, 20.0, 60.0, 250.0);
    let lead = melody(2, 20.0, 400.0, 1600.0);
    let pad = melody(3, 20.0, 200.0, 900.0);
    let mut ids = Vec::new();
    for (name, s) in [("Bass", &bass), ("Lead", &lead), ("Pad", &pad)] {
        let f = ok(put_file(&app, &b.org, &pid, "stem", name, wav_of(s)).await).await;
        ids.push(f["id"].as_str().unwrap().to_string());
    }
    app.run_pending_jobs().await;

    // A remix: 40 s of new material, the bass from 5 s, the lead's first 15 s from 18 s.
    let mut remix = melody(10, 40.0, 150.0, 3000.0);
    mix_in(&mut remix, &bass, 5.0, 0.9);
    mix_in(&mut remix, &lead[..15 * 44_100], 18.0, 0.8);
    let peak = remix.iter().fold(0f32, |m, x| m.max(x.abs()));
    remix.iter_mut().for_each(|x| *x *= 0.8 / peak);
    let mei = musician(&app, "mei@example.org").await;
    ok(post(
        &app,
        &mei,
        &format!("/api/v1/stem-packs/{pid}/licence"),
        json!({ "version": 1 }),
    )
    .await)
    .await;
    let used = entered(
        &app,
        &mei,
        &b,
        "Uses two",
        json!({ "remix_of": { "stem_pack_id": pid } }),
        wav_of(&remix),
    )
    .await;
    let unrelated = entered(
        &app,
        &mei,
        &b,
        "Uses none",
        json!({ "remix_of": { "stem_pack_id": pid } }),
        wav_of(&melody(77, 30.0, 100.0, 2500.0)),
    )
    .await;
    app.run_pending_jobs().await;

    let (s, chk) = get_json(&app, &b.org, &format!("/api/v1/entries/{used}/stem-check")).await;
    assert_eq!(s, 200, "{chk}");
    assert_eq!(chk["status"], "done");
    assert_eq!(chk["none_detected"], false);
    let stem = |id: &str| {
        chk["stems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stem_id"] == id)
            .unwrap()
            .clone()
    };
    let (b_use, l_use, p_use) = (stem(&ids[0]), stem(&ids[1]), stem(&ids[2]));
    assert_eq!(b_use["detected"], true, "{chk}");
    assert_eq!(l_use["detected"], true, "{chk}");
    assert_eq!(p_use["detected"], false, "{chk}");
    let span = |u: &Value| {
        let r = u["ranges"].as_array().unwrap();
        (
            r[0]["start_secs"].as_f64().unwrap(),
            r[r.len() - 1]["end_secs"].as_f64().unwrap(),
        )
    };
    let (s0, e0) = span(&b_use);
    assert!(
        (s0 - 5.0).abs() < 2.0 && (e0 - 25.0).abs() < 2.5,
        "bass at {s0}–{e0}"
    );
    let (s1, e1) = span(&l_use);
    assert!(
        (s1 - 18.0).abs() < 2.0 && (e1 - 33.0).abs() < 2.5,
        "lead at {s1}–{e1}"
    );

    let (_, chk) = get_json(
        &app,
        &b.org,
        &format!("/api/v1/entries/{unrelated}/stem-check"),
    )
    .await;
    assert_eq!(chk["status"], "done");
    assert_eq!(chk["none_detected"], true, "{chk}");

    // Only organisers see it; the page flags the remix that uses none.
    let (s, _) = get_json(&app, &mei, &format!("/api/v1/entries/{used}/stem-check")).await;
    assert_eq!(s, 404);
    let page = app
        .get_with(&format!("/organise/{}/remix", b.id), &b.org)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!(
        "data-remix=\"{unrelated}\" data-check-status=\"done\" data-none-detected"
    )));
    assert!(page.contains(&format!(
        "data-stem-use=\"{}\" data-detected=\"true\"",
        ids[0]
    )));
}

/// A public song is one placed in the public results: an entry that is accepted but
/// not placed (here: entered after the results) has no public page and no public audio,
/// so nobody is offered a song they cannot hear.
#[tokio::test]
async fn only_songs_placed_in_the_public_results_are_public() {
    let app = spawn_app_with(TestEnv::new(), |b| b).await;
    let a = open_call(&app, "rmx-placed", json!({})).await;
    let lin = musician(&app, "lin-placed@example.org").await;
    let placed = entered(&app, &lin, &a, "Placed", json!({}), wav(3.0, 1, 0.4)).await;
    publish(&app, &a).await;
    let mei = musician(&app, "mei-late@example.org").await;
    let late = entered(&app, &mei, &a, "Not placed", json!({}), wav(3.0, 1, 0.5)).await;
    app.run_pending_jobs().await;
    assert_eq!(app.get(&format!("/songs/{placed}")).await.status(), 200);
    assert_eq!(app.get(&format!("/songs/{late}")).await.status(), 404);
    assert_eq!(
        app.get(&format!("/api/v1/songs/{late}/audio"))
            .await
            .status(),
        404
    );
}
