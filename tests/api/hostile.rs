//! Hostile input through the real paths (issue 21): a float WAV with NaN and infinite
//! samples gets a typed finding (never `audio.analysis_crashed`), a session that
//! signed out cannot vote a second later, tiny files announcing hours of many-channel
//! audio are refused from their header, expensive ones go to the heavy lane, and
//! silent recordings are never compared (nor lock anything).

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

/// A 16-bit stereo WAV of a random melody (a new note every quarter second, chosen by
/// `seed` from two octaves), followed by `silence` seconds of digital silence.
fn tune(secs: f64, seed: u64, silence: f64) -> Vec<u8> {
    let rate = 44_100u32;
    let frames = (secs * rate as f64) as usize;
    let quiet = (silence * rate as f64) as usize;
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut freq = 220.0f64;
    let mut phase = 0.0f64;
    let mut pcm = Vec::with_capacity((frames + quiet) * 4);
    for i in 0..frames {
        if i % (rate as usize / 4) == 0 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            freq = 220.0 * 2f64.powf((x % 24) as f64 / 12.0);
        }
        phase += 2.0 * std::f64::consts::PI * freq / rate as f64;
        let v = ((phase.sin() * 0.5 + (phase * 3.0).sin() * 0.2) * 32767.0 * 0.6) as i16;
        pcm.extend_from_slice(&v.to_le_bytes());
        pcm.extend_from_slice(&v.to_le_bytes());
    }
    pcm.extend(std::iter::repeat_n(0u8, quiet * 4));
    let mut out = crate::submissions::wav_header_16_stereo(pcm.len() as u32);
    out.extend(pcm);
    out
}

/// CRC-8 (polynomial 0x07) of a FLAC frame header.
fn crc8(data: &[u8]) -> u8 {
    let mut c = 0u8;
    for &b in data {
        c ^= b;
        for _ in 0..8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
        }
    }
    c
}

/// CRC-16 (polynomial 0x8005) of a FLAC frame.
fn crc16(data: &[u8]) -> u16 {
    let mut c = 0u16;
    for &b in data {
        c ^= (b as u16) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x8005
            } else {
                c << 1
            };
        }
    }
    c
}

/// FLAC's UTF-8-like coding of a frame number.
fn utf8_number(n: u32) -> Vec<u8> {
    match n {
        0..=0x7F => vec![n as u8],
        0x80..=0x7FF => vec![0xC0 | (n >> 6) as u8, 0x80 | (n & 0x3F) as u8],
        0x800..=0xFFFF => vec![
            0xE0 | (n >> 12) as u8,
            0x80 | ((n >> 6) & 0x3F) as u8,
            0x80 | (n & 0x3F) as u8,
        ],
        _ => vec![
            0xF0 | (n >> 18) as u8,
            0x80 | ((n >> 12) & 0x3F) as u8,
            0x80 | ((n >> 6) & 0x3F) as u8,
            0x80 | (n & 0x3F) as u8,
        ],
    }
}

/// A 16-bit FLAC of `secs` of digital silence (every subframe CONSTANT 0): a few bytes
/// per 4,096 frames, so an hour of 192 kHz, 8-channel audio is a few megabytes, as the
/// attack files were.
pub fn silent_flac(rate: u32, channels: u8, secs: f64) -> Vec<u8> {
    const BLOCK: u64 = 4096;
    let total = ((secs * rate as f64) as u64 / BLOCK).max(1) * BLOCK;
    let mut out = b"fLaC".to_vec();
    out.push(0x80); // last metadata block, STREAMINFO
    out.extend_from_slice(&[0, 0, 34]);
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&(BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&[0; 6]); // frame sizes unknown
    // rate (20 bits) | channels-1 (3) | bps-1 (5) | total samples (36)
    let packed: u64 =
        ((rate as u64) << 44) | (((channels - 1) as u64) << 41) | (15u64 << 36) | total;
    out.extend_from_slice(&packed.to_be_bytes());
    out.extend_from_slice(&[0; 16]); // MD5 unknown
    for n in 0..(total / BLOCK) as u32 {
        let start = out.len();
        out.extend_from_slice(&[0xFF, 0xF8]);
        out.push(0xC0); // 4096-sample block, rate from STREAMINFO
        out.push(((channels - 1) << 4) | 0x08); // independent channels, 16 bits
        out.extend(utf8_number(n));
        let c = crc8(&out[start..]);
        out.push(c);
        for _ in 0..channels {
            out.extend_from_slice(&[0x00, 0x00, 0x00]); // CONSTANT subframe, value 0
        }
        let c = crc16(&out[start..]);
        out.extend_from_slice(&c.to_be_bytes());
    }
    out
}

async fn analysis_error(app: &crate::helpers::TestApp, t: &str, id: &str) -> Value {
    app.run_pending_jobs().await;
    let (_, v) = get_json(app, t, &format!("/api/v1/entries/{id}")).await;
    v
}

#[tokio::test]
async fn a_tiny_file_announcing_an_hour_of_8_channel_192_khz_audio_is_refused_from_its_header() {
    let app = spawn_app().await;
    let call = open_call(&app, "hostile-bomb", json!({})).await;
    let t = musician(&app, "bomb@example.org").await;
    let id = entry_id(&app, &t, &call, "Bomb").await;
    let bomb = silent_flac(192_000, 8, 59.0 * 60.0);
    assert!(bomb.len() < 8 * 1024 * 1024, "{} bytes", bomb.len());
    let res = put_audio(&app, &t, &id, bomb, "k-bomb").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v = analysis_error(&app, &t, &id).await;
    assert_eq!(v["status"], "rejected", "{v}");
    assert_eq!(v["analysis_error_code"], "audio.too_costly", "{v}");
    let msg = v["analysis_error"].as_str().unwrap();
    assert!(
        msg.contains("59 minutes") && msg.contains("192 kHz"),
        "{msg}"
    );

    // Longer than the competition accepts (10 minutes here): refused at once too,
    // in the musician's own words.
    let id = entry_id(&app, &t, &call, "Long one").await;
    let res = put_audio(&app, &t, &id, silent_flac(44_100, 2, 20.0 * 60.0), "k-long").await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v = analysis_error(&app, &t, &id).await;
    assert_eq!(v["analysis_error_code"], "audio.longer_than_allowed", "{v}");
    assert!(
        v["analysis_error"]
            .as_str()
            .unwrap()
            .contains("20 minutes long; this competition accepts up to 10 minutes"),
        "{v}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_expensive_analysis_runs_in_the_heavy_lane_and_one_musician_runs_one_at_a_time() {
    let mut env = crate::helpers::TestEnv::new();
    env.replace_in_config("[analysis]\n", "[analysis]\nheavy_samples = 100000\n");
    let app = crate::helpers::spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "hostile-heavy", json!({})).await;
    let t = musician(&app, "heavy@example.org").await;
    let id = entry_id(&app, &t, &call, "Big").await;
    let res = put_audio(&app, &t, &id, crate::submissions::wav(31.0, 2, 0.5), "k-h").await;
    assert_eq!(res.status(), 201);
    let v = analysis_error(&app, &t, &id).await;
    assert!(
        v["report"].is_object(),
        "the report arrives from the heavy lane: {v}"
    );
    let lanes = app
        .state
        .db
        .run(|c| {
            use cadenza::db::schema::jobs::dsl as j;
            use diesel::prelude::*;
            Ok(j::jobs
                .filter(j::kind.eq("entry.analyse"))
                .order(j::id.asc())
                .select((j::lane, j::concurrency_key, j::status))
                .load::<(Option<String>, Option<String>, String)>(c)?)
        })
        .await
        .unwrap();
    assert_eq!(lanes.len(), 2, "{lanes:?}");
    assert_eq!(lanes[0].0, None);
    assert_eq!(lanes[1].0.as_deref(), Some("heavy"));
    assert!(lanes.iter().all(|l| l.2 == "done"), "{lanes:?}");
    let key = lanes[0].1.clone().unwrap();
    assert!(key.starts_with("analysis:"), "{key}");
    assert_eq!(lanes[1].1.as_deref(), Some(key.as_str()));
    app.shutdown().await;
}

#[tokio::test]
async fn silent_recordings_are_never_compared_and_lock_nothing() {
    let app = spawn_app().await;
    let call = open_call(&app, "hostile-silence", json!({})).await;
    // Everyone signs up first (signing up runs the queue); then the uploads.
    let mut quiet = Vec::new();
    for n in 0..3 {
        let t = musician(&app, &format!("quiet{n}@example.org")).await;
        let id = entry_id(&app, &t, &call, &format!("Quiet {n}")).await;
        quiet.push((t, id));
    }
    let ben = musician(&app, "ben-tail@example.org").await;
    let a = entry_id(&app, &ben, &call, "Tail A").await;
    let cleo = musician(&app, "cleo-tail@example.org").await;
    let b = entry_id(&app, &cleo, &call, "Tail B").await;
    let other = musician(&app, "busy@example.org").await;
    let mut ids = Vec::new();
    for (n, (t, id)) in quiet.iter().enumerate() {
        let flac = silent_flac(44_100, 2, 180.0 + 10.0 * n as f64);
        let res = put_audio(&app, t, id, flac, &format!("k-q{n}")).await;
        assert_eq!(res.status(), 201);
        ids.push(id.clone());
    }
    // Two different songs that each end in 12 s of silence.
    let with_tail = |seed: u64| tune(40.0, seed, 12.0);
    assert_eq!(
        put_audio(&app, &ben, &a, with_tail(1), "k-ta")
            .await
            .status(),
        201
    );
    assert_eq!(
        put_audio(&app, &cleo, &b, with_tail(5), "k-tb")
            .await
            .status(),
        201
    );

    // The analyses run while another person saves her profile again and again.
    let (state, registry) = (app.state.clone(), app.registry.clone());
    let jobs = tokio::spawn(async move {
        // The inline runner stops when a claim meets a busy database; go on until the
        // queue is empty.
        let mut total = 0;
        loop {
            total += cadenza::jobs::run_pending_jobs(&state, registry.clone()).await;
            let left = state
                .db
                .run(|c| cadenza::jobs::store::has_unfinished(c, "entry.analyse"))
                .await;
            if let Ok(false) = left {
                return total;
            }
        }
    });
    let mut saves = 0;
    while !jobs.is_finished() {
        let res = app
            .client
            .put(app.url("/api/v1/me/profile"))
            .bearer_auth(&other)
            .json(&json!({ "stage_name": "Busy", "bio": format!("Saved {saves} times"), "language": "en" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        saves += 1;
    }
    let ran = jobs.await.unwrap();
    assert!(ran >= 5, "{ran} jobs ran");
    assert!(saves > 0);
    for id in &ids {
        let (_, v) = get_json(&app, &call.org, &format!("/api/v1/entries/{id}")).await;
        assert!(v["flags"].as_array().unwrap().is_empty(), "{v}");
    }
    let (_, v) = get_json(&app, &call.org, &format!("/api/v1/entries/{b}")).await;
    assert!(v["report"].is_object(), "{v}");
    assert!(
        v["flags"].as_array().unwrap().is_empty(),
        "a shared silent ending is not a duplicate: {v}"
    );
    let silent_keys = {
        let ids = ids.clone();
        app.state
            .db
            .run(move |c| {
                use cadenza::db::schema::fingerprint_keys::dsl as k;
                use diesel::prelude::*;
                Ok(k::fingerprint_keys
                    .filter(k::entry_id.eq_any(&ids))
                    .count()
                    .get_result::<i64>(c)?)
            })
            .await
            .unwrap()
    };
    assert_eq!(silent_keys, 0, "silence is never indexed");
    app.shutdown().await;
}

/// The fair-analysis benchmark (not part of the suite; `docs/benchmarks.md`): how long an
/// ordinary 4-minute WAV waits for its report while four expensive files (55 minutes of
/// 96 kHz stereo each, accepted by the policy) are queued before it, with two workers.
/// `BENCH_BOMB_ACCOUNTS` (1 or 4) sets how many accounts send the bombs;
/// `BENCH_LANES=off` puts every analysis in the ordinary lane (the reference).
///
/// `cargo test --release --test api -- --ignored fair_analysis_bench --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn fair_analysis_bench() {
    let accounts: usize = std::env::var("BENCH_BOMB_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let lanes = std::env::var("BENCH_LANES").as_deref() != Ok("off");
    let mut env = crate::helpers::TestEnv::new();
    env.replace_in_config(
        "[analysis]\n",
        &format!(
            "[analysis]\nduplicate_min_secs = 10\n{}",
            if lanes {
                ""
            } else {
                "heavy_samples = 100000000000\n"
            }
        ),
    );
    let app = crate::helpers::spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "bench-fair", json!({})).await;
    let mut bombers = Vec::new();
    for n in 0..4 {
        let who = n % accounts;
        if bombers.len() <= who {
            bombers.push(musician(&app, &format!("bomber{who}@example.org")).await);
        }
    }
    // One competition per bomb (a musician has at most two entries in each).
    let mut bomb_entries = Vec::new();
    for n in 0..4 {
        let t = bombers[n % accounts].clone();
        let c = open_call(&app, &format!("bench-bomb-{n}"), json!({ "audio_policy": { "duration": { "min_secs": 30, "max_secs": 3600, "severity": "reject" } } })).await;
        let id = entry_id(&app, &t, &c, &format!("Bomb {n}")).await;
        bomb_entries.push((t, id));
    }
    let ana = musician(&app, "ordinary@example.org").await;
    let ordinary = entry_id(&app, &ana, &call, "Four minutes").await;
    app.run_pending_jobs().await;
    for (n, (t, id)) in bomb_entries.iter().enumerate() {
        let bomb = silent_flac(96_000, 2, 55.0 * 60.0 + n as f64);
        assert_eq!(
            put_audio(&app, t, id, bomb, &format!("b{n}"))
                .await
                .status(),
            201
        );
    }
    let song = tune(240.0, 42, 0.0);
    let started = std::time::Instant::now();
    assert_eq!(
        put_audio(&app, &ana, &ordinary, song, "o").await.status(),
        201
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let workers = cadenza::jobs::spawn_workers(&app.state, app.registry.clone(), 2, &shutdown);
    let report_after = loop {
        let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{ordinary}")).await;
        if v["analysed_at"].is_string() {
            break started.elapsed();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // Its own cost, alone: the same file analysed again with nothing else queued.
    let all_bombs = loop {
        let mut done = 0;
        for (t, id) in &bomb_entries {
            let (_, v) = get_json(&app, t, &format!("/api/v1/entries/{id}")).await;
            if v["analysed_at"].is_string() {
                done += 1;
            }
        }
        if done == 4 {
            break started.elapsed();
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let alone_started = std::time::Instant::now();
    let again = entry_id(&app, &ana, &call, "Four minutes again").await;
    let alone = loop {
        let (_, v) = get_json(&app, &ana, &format!("/api/v1/entries/{again}")).await;
        if v["audio"].is_null() {
            assert_eq!(
                put_audio(&app, &ana, &again, tune(240.0, 43, 0.0), "o2")
                    .await
                    .status(),
                201
            );
        } else if v["analysed_at"].is_string() {
            break alone_started.elapsed();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    println!(
        "fair analysis: bomb accounts {accounts}, lanes {}: ordinary report after {:.1} s \
         (alone {:.1} s); all four bombs done after {:.1} s",
        if lanes { "on" } else { "off" },
        report_after.as_secs_f64(),
        alone.as_secs_f64(),
        all_bombs.as_secs_f64()
    );
    shutdown.cancel();
    for w in workers {
        let _ = w.await;
    }
    app.shutdown().await;
}
