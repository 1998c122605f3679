//! Hostile input through the real paths (issue 21): a float WAV with NaN and infinite
//! samples gets a typed finding (never `audio.analysis_crashed`), and a session that
//! signed out cannot vote a second later.

use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::submissions::{code, entry_id, get_json, musician, open_call, put_audio};

/// A 32-bit float stereo WAV of `secs` seconds of a quiet tone, with `bad` bytes of
/// 0xFF (NaN) in the middle.
fn float_wav_with_nans(secs: f64, bad: usize) -> Vec<u8> {
    let rate = 44_100u32;
    let frames = (secs * rate as f64) as u32;
    let data_len = frames * 8;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 8).to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let v = 0.25 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin();
        out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mid = 44 + (data_len as usize / 2 / 8) * 8;
    for b in &mut out[mid..mid + bad] {
        *b = 0xFF;
    }
    // And one +infinity.
    out[mid + bad..mid + bad + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
    out
}

#[tokio::test]
async fn a_float_wav_with_nan_samples_gets_a_typed_finding() {
    let app = spawn_app().await;
    let call = open_call(&app, "hostile-nan", json!({})).await;
    let t = musician(&app, "nan@example.org").await;
    let id = entry_id(&app, &t, &call, "Damaged export").await;
    let res = put_audio(&app, &t, &id, float_wav_with_nans(4.0, 64), "k-nan").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    app.run_pending_jobs().await;
    let (_, v) = get_json(&app, &t, &format!("/api/v1/entries/{id}")).await;
    assert_eq!(v["status"], "rejected", "{v}");
    let rules = v["rules"].as_array().unwrap();
    let bad: Vec<&Value> = rules.iter().filter(|r| r["rule"] == "samples").collect();
    assert_eq!(bad.len(), 1, "{rules:?}");
    assert_eq!(bad[0]["code"], "audio.invalid_samples");
    // 64 bytes of 0xFF are 16 NaN samples, and one infinity.
    assert_eq!(bad[0]["measured"], "17");
    assert!(
        bad[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not numbers")
            || rules.iter().all(|r| r["code"] != "audio.analysis_crashed"),
        "{bad:?}"
    );
    assert_eq!(v["report"]["format"]["invalid_samples"], 17);
    // The rest is measured as what it is: finite numbers.
    assert!(
        v["report"]["loudness"]["integrated_lufs"]
            .as_f64()
            .is_some()
    );
    assert!(v["report"]["peaks"]["true_peak_dbtp"].as_f64().unwrap() < 0.0);
}

#[tokio::test]
async fn a_vote_one_second_after_sign_out_is_refused() {
    use crate::judging::setup;
    use crate::voting::{pow, voting_round};
    let app = crate::helpers::spawn_app_with(
        crate::helpers::TestEnv::with_extra(
            "[voting]\npow_cost = 10\npow_max_counter = 4\nvoter_per_minute = 1000\n",
        ),
        |b| b,
    )
    .await;
    let s = setup(&app, "hostile-signout", 1, 0).await;
    let v = voting_round(&app, &s, json!({})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    // Sign in by magic link.
    let email = "leaving@example.org";
    let res = app
        .post_json("/api/v1/auth/magic-link", &json!({ "email": email }))
        .await;
    assert_eq!(res.status(), 202);
    let token = app.token_from_email(email, "/magic-link/sign-in").await;
    let t: Value = app
        .post_json(
            "/api/v1/auth/magic-link/sign-in",
            &json!({ "token": token }),
        )
        .await
        .json()
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap().to_string();
    // A first vote: counted (the vote path has now cached this voter).
    let p = pow(&app, &access, &vid).await;
    let res = crate::voting::cast(&app, &access, &vid, &s.entries[0].2, "k-before", &p).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // A proof of work solved before signing out, as a script would keep one.
    let p2 = pow(&app, &access, &vid).await;
    // Sign out; a second later the same access token cannot vote.
    let res = crate::judging::post(&app, &access, "/api/v1/auth/sign-out", json!({})).await;
    assert_eq!(res.status(), 204);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let res = crate::voting::cast(&app, &access, &vid, &s.entries[0].2, "k-after", &p2).await;
    assert_eq!(code(res).await.0, 401);
    // Signing out everywhere ends the other sessions at once too.
    let email = "leaving2@example.org";
    let a = crate::voting::voter(&app, email).await;
    let b = crate::voting::voter(&app, email).await;
    let p = pow(&app, &a, &vid).await;
    let res = crate::voting::cast(&app, &a, &vid, &s.entries[0].2, "k-a", &p).await;
    assert_eq!(res.status(), 201);
    let pa = pow(&app, &a, &vid).await;
    let res = crate::judging::post(&app, &b, "/api/v1/auth/sign-out-everywhere", json!({})).await;
    assert!(res.status().is_success(), "{}", res.status());
    let res = crate::voting::cast(&app, &a, &vid, &s.entries[0].2, "k-a2", &pa).await;
    assert_eq!(code(res).await.0, 401);
}

#[tokio::test]
async fn small_things_are_refused_plainly() {
    let app = spawn_app().await;
    // 401 names its scheme.
    let res = app.get("/api/v1/me").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"cadenza\""
    );
    // An address the mailer could never send to is refused at registration.
    let res = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "\u{1f3b5}@example.org", "password": "violin sunrise 1987",
                     "stage_name": "Note", "date_of_birth": "2000-01-01", "country": "CN", "language": "en" }),
        )
        .await;
    assert_eq!(code(res).await, (422, "account.email_invalid".into()));
    // Titles are one line, without direction marks; file names lose them.
    let call = open_call(&app, "hostile-small", json!({})).await;
    let t = musician(&app, "small@example.org").await;
    let id = entry_id(&app, &t, &call, "Fine title").await;
    for bad in ["Two\nlines", "song\u{202e}3pm.exe"] {
        let res = crate::judging::patch(
            &app,
            &t,
            &format!("/api/v1/entries/{id}"),
            json!({ "title": bad }),
        )
        .await;
        assert_eq!(
            code(res).await,
            (422, "entry.title_one_line".into()),
            "{bad:?}"
        );
    }
}
