//! Uploads: the size cap while streaming, a file the engine rejects, the sweeper, and
//! direct-to-S3 uploads, on the leg's database and store.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestEnv, spawn_app, spawn_app_with, test_store_is_s3};
use crate::submissions::{code, entry_id, get_json, musician, open_call, put_audio, wav};

#[tokio::test]
async fn oversize_uploads_are_cut_off_and_leave_nothing() {
    let mut env = TestEnv::new();
    env.replace_in_config("max_bytes = 209715200", "max_bytes = 200000");
    let app = spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "size-one", json!({})).await;
    let ana = musician(&app, "size@example.org").await;
    let entry = entry_id(&app, &ana, &call, "Big").await;
    // Declared too large: refused before the body is read.
    let (s, c) = code(put_audio(&app, &ana, &entry, wav(5.0, 1, 0.5), "k-1").await).await;
    assert_eq!((s, c.as_str()), (413, "payload_too_large"));
    // Streamed without a length: cut off as soon as it passes the limit.
    let body = wav(5.0, 1, 0.5);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let res = app
        .client
        .put(app.url(&format!("/api/v1/entries/{entry}/audio")))
        .bearer_auth(&ana)
        .header("Idempotency-Key", "k-2")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    if let Ok(res) = res {
        assert_eq!(code(res).await, (413, "payload_too_large".into()));
    }
    let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{entry}")).await;
    assert_eq!(v["status"], "draft");
    let objects = app.state.storage.list("entries/").await.unwrap();
    assert!(objects.is_empty(), "{objects:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_sweeper_removes_stale_uploads_and_orphans() {
    let mut env = TestEnv::new();
    env.replace_in_config("pending_ttl_secs = 3600", "pending_ttl_secs = 0");
    env.replace_in_config("orphan_grace_secs = 86400", "orphan_grace_secs = 0");
    let app = spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "sweep-one", json!({})).await;
    let ana = musician(&app, "sweep@example.org").await;
    let kept = entry_id(&app, &ana, &call, "Kept").await;
    assert_eq!(
        put_audio(&app, &ana, &kept, wav(3.0, 7, 0.5), "k-1")
            .await
            .status(),
        201
    );
    let stuck = entry_id(&app, &ana, &call, "Stuck").await;
    // An upload the server died in the middle of: a pending row and a partial object.
    let row = cadenza::submissions::model::UploadRow {
        id: "stuck-upload".into(),
        entry_id: stuck.clone(),
        object_key: "entries/stuckobject".into(),
        state: "pending".into(),
        size_bytes: None,
        sha256: None,
        original_name: "x.wav".into(),
        content_type: "audio/wav".into(),
        created_at: Utc::now().naive_utc() - Duration::hours(2),
        stored_at: None,
    };
    let s2 = stuck.clone();
    app.state
        .db
        .run(move |c| {
            cadenza::submissions::store::insert_upload(c, &row)?;
            let mut e = cadenza::submissions::store::find_entry(c, &s2)?.unwrap();
            e.status = "uploading".into();
            cadenza::submissions::store::save_entry(c, &e)
        })
        .await
        .unwrap();
    app.state
        .storage
        .put_bytes(
            "entries/stuckobject",
            bytes::Bytes::from_static(b"RIFF"),
            "audio/wav",
        )
        .await
        .unwrap();
    app.state
        .storage
        .put_bytes(
            "entries/orphan",
            bytes::Bytes::from_static(b"lost"),
            "audio/wav",
        )
        .await
        .unwrap();
    let report = cadenza::submissions::sweeper::sweep(&app.state)
        .await
        .unwrap();
    assert_eq!(report.stale_uploads, 1);
    assert_eq!(report.orphan_objects, 1, "{report:?}");
    let keys: Vec<String> = app
        .state
        .storage
        .list("entries/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "only the kept entry's audio remains: {keys:?}"
    );
    let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{stuck}")).await;
    assert_eq!(v["status"], "draft");
    let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{kept}")).await;
    assert_eq!(v["status"], "uploaded");
    app.shutdown().await;
}

#[tokio::test]
async fn direct_to_s3_uploads_get_the_same_checks() {
    let app = spawn_app().await;
    let call = open_call(&app, "presign-one", json!({})).await;
    let ana = musician(&app, "presign@example.org").await;
    let entry = entry_id(&app, &ana, &call, "Direct").await;
    let res = app
        .client
        .post(app.url(&format!("/api/v1/entries/{entry}/audio/presign")))
        .bearer_auth(&ana)
        .json(&json!({"file_name": "direct.wav", "size_bytes": 1000}))
        .send()
        .await
        .unwrap();
    if !test_store_is_s3() {
        assert_eq!(code(res).await, (409, "entry.presign_unavailable".into()));
        app.shutdown().await;
        return;
    }
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    let audio = wav(3.0, 11, 0.5);
    let put = reqwest::Client::new()
        .put(p["url"].as_str().unwrap())
        .body(audio.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let res = app
        .client
        .post(app.url(&format!("/api/v1/entries/{entry}/audio/complete")))
        .bearer_auth(&ana)
        .header("Idempotency-Key", "c-1")
        .json(&json!({"upload_id": p["upload_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v["audio"]["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&audio))
    );
    // Something that is not audio, uploaded directly, is refused and removed.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/entries/{entry}/audio/presign")))
        .bearer_auth(&ana)
        .json(&json!({"file_name": "fake.mp3", "size_bytes": 100}))
        .send()
        .await
        .unwrap();
    let p: Value = res.json().await.unwrap();
    reqwest::Client::new()
        .put(p["url"].as_str().unwrap())
        .body("%PDF-1.4 not audio")
        .send()
        .await
        .unwrap();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/entries/{entry}/audio/complete")))
        .bearer_auth(&ana)
        .header("Idempotency-Key", "c-2")
        .json(&json!({"upload_id": p["upload_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(res).await, (415, "entry.not_audio".into()));
    app.shutdown().await;
}

#[tokio::test]
async fn a_file_the_engine_rejects_says_why() {
    let app = spawn_app().await;
    let call = open_call(&app, "reject-one", json!({})).await;
    let ana = musician(&app, "reject@example.org").await;
    let short = entry_id(&app, &ana, &call, "Too short").await;
    assert_eq!(
        put_audio(&app, &ana, &short, wav(1.0, 4, 0.5), "s-1")
            .await
            .status(),
        201
    );
    let broken = entry_id(&app, &ana, &call, "Broken").await;
    let mut bytes = b"RIFF\xff\xff\xff\xffWAVEfmt ".to_vec();
    bytes.extend(std::iter::repeat_n(0x5a, 4000));
    assert_eq!(
        put_audio(&app, &ana, &broken, bytes, "b-1").await.status(),
        201
    );
    app.run_pending_jobs().await;
    let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{short}")).await;
    assert_eq!(v["status"], "rejected");
    let rule = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "duration")
        .unwrap()
        .clone();
    assert_eq!(rule["outcome"], "reject");
    assert!(rule["message"].as_str().unwrap().len() > 20);
    let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{broken}")).await;
    assert_eq!(v["status"], "rejected");
    assert!(
        v["analysis_error_code"]
            .as_str()
            .unwrap()
            .starts_with("audio."),
        "{v}"
    );
    assert!(!v["analysis_error"].as_str().unwrap().is_empty());
    // The musician reads the reason in their email too.
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|m| m.subject.contains("Too short") && m.text.contains("•"))
    );
    app.shutdown().await;
}
