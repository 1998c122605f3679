//! The digital album (issue 26, part 2): assembled from the published results, a track
//! only with its musician's agreement (and a guardian's for a minor), release files at
//! the album's loudness or at the level the true-peak ceiling allows (measured by the
//! engine on the encoded FLAC and MP3, tags parsed back), and nothing of a track
//! without agreement on the page, in the player, in the files or in the ZIP.

use std::io::Read;

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::comments::{publish, ranked};
use crate::helpers::{TestApp, find_link, path_of, spawn_app};
use crate::judging::{Setup, post, put, setup_with};
use crate::submissions::{code, get_json, wav};

/// A quiet tone with short loud bursts: far below −14 LUFS, its true peak near −2
/// dBTP, so the gain stops at the ceiling.
fn spiky(secs: f64) -> Vec<u8> {
    let rate = 44_100u32;
    let frames = (secs * rate as f64) as u32;
    let mut out = crate::submissions::wav_header_16_stereo(frames * 4);
    for i in 0..frames {
        let t = i as f64 / rate as f64;
        let mut x = 0.05 * (2.0 * std::f64::consts::PI * 330.0 * t).sin();
        // 10 ms of 1 kHz twice a second (audible: what an MP3 keeps).
        if i % (rate / 2) < rate / 100 {
            x = 0.78 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin();
        }
        let v = ((x * 32767.0) as i16).to_le_bytes();
        out.extend_from_slice(&v);
        out.extend_from_slice(&v);
    }
    out
}

async fn album(app: &TestApp, s: &Setup) -> Value {
    let (st, v) = get_json(
        app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/album", s.call.id),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    v
}

fn track<'a>(v: &'a Value, entry: &str) -> &'a Value {
    v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["entry_id"] == entry)
        .unwrap_or_else(|| panic!("{entry} not in {v}"))
}

async fn set_birth_date(app: &TestApp, email: &str, years: i64) {
    let email = email.to_string();
    let dob = (chrono::Utc::now().date_naive() - chrono::Duration::days(years * 366))
        .format("%Y-%m-%d")
        .to_string();
    app.state
        .db
        .run(move |c| {
            use cadenza::db::schema::users::dsl as u;
            diesel::update(u::users.filter(u::email.eq(email)))
                .set((
                    u::date_of_birth.eq(Some(dob)),
                    u::guardian_email.eq(None::<String>),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap()
}

async fn agree(
    app: &TestApp,
    token: &str,
    cid: &str,
    version: i64,
    guardian: Option<&str>,
) -> reqwest::Response {
    post(
        app,
        token,
        &format!("/api/v1/albums/{cid}/agreement"),
        json!({ "terms_version": version, "guardian_email": guardian }),
    )
    .await
}

/// A request with no account at all (a fresh client: no cookies, no token).
async fn anon_post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The files of a ZIP by name.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().unwrap().to_string(), b)
        })
        .collect()
}

#[tokio::test]
async fn only_agreed_tracks_are_released_at_the_albums_loudness() {
    let app = spawn_app().await;
    let s = setup_with(&app, "alb", 3, 1, |i| match i {
        1 => spiky(6.0),
        _ => wav(6.0, 20 + i as u32, 0.3),
    })
    .await;
    let s = ranked(&app, s).await;
    let cid = s.call.id.clone();
    let base = format!("/api/v1/competitions/{cid}/album");
    let (m0, m1, m2) = (&s.entries[0], &s.entries[1], &s.entries[2]);

    // Only from published results, only by its organisers.
    assert_eq!(
        code(put(&app, &s.call.org, &base, json!({})).await).await,
        (409, "album.results_not_published".into())
    );
    publish(&app, &s).await;
    assert_eq!(put(&app, &m0.0, &base, json!({})).await.status(), 404);
    let res = put(
        &app,
        &s.call.org,
        &base,
        json!({ "title": "Paintings into Songs", "year": 2026 }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let v = album(&app, &s).await;
    assert_eq!(v["tracks"].as_array().unwrap().len(), 3);
    assert_eq!(
        (v["waiting"].as_u64(), v["target_lufs"].as_f64()),
        (Some(3), Some(-14.0))
    );
    let version = v["terms_version"].as_i64().unwrap();
    // The results' order, the stage name credited, the musician among the composers.
    let results: Value = app
        .get(&format!("/api/v1/competitions/{}/results", s.call.slug))
        .await
        .json()
        .await
        .unwrap();
    let order: Vec<&str> = results["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["entry_id"].as_str().unwrap())
        .collect();
    let tracks: Vec<&str> = v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(tracks, order);
    assert_eq!(track(&v, &m0.2)["composers"][0], track(&v, &m0.2)["artist"]);

    // Bad settings get their own codes.
    for (body, want) in [
        (json!({ "target_lufs": -30 }), "album.target_invalid"),
        (json!({ "title": "  " }), "album.title_invalid"),
        (
            json!({ "tracks": [{ "entry_id": "nope" }] }),
            "album.track_not_in_results",
        ),
        (
            json!({ "tracks": [{ "entry_id": m0.2 }, { "entry_id": m0.2 }] }),
            "album.track_twice",
        ),
    ] {
        assert_eq!(
            code(put(&app, &s.call.org, &base, body).await).await,
            (422, want.into())
        );
    }

    // Nothing to release before anyone agrees; nothing public before publishing.
    assert_eq!(
        code(post(&app, &s.call.org, &format!("{base}/release"), json!({})).await).await,
        (409, "album.nothing_agreed".into())
    );
    assert_eq!(
        app.get(&format!("/api/v1/albums/{}", s.call.slug))
            .await
            .status(),
        404
    );

    // An adult agrees to the terms they read.
    assert_eq!(
        code(agree(&app, &m0.0, &cid, version + 1, None).await).await,
        (409, "album.terms_changed".into())
    );
    assert_eq!(agree(&app, &m0.0, &cid, version, None).await.status(), 200);
    // A minor agrees, and a guardian is asked (an address is needed for that).
    set_birth_date(&app, &m1.1, 15).await;
    assert_eq!(
        code(agree(&app, &m1.0, &cid, version, None).await).await,
        (422, "album.guardian_email_needed".into())
    );
    let res = agree(&app, &m1.0, &cid, version, Some("parent-alb@example.org")).await;
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["agreement"], "waiting_for_guardian");
    // The third musician never agrees.
    let (_, other) = get_json(&app, &m2.0, &format!("/api/v1/albums/{cid}/terms")).await;
    assert_eq!(other["agreement"], "waiting_for_musician");
    let v = album(&app, &s).await;
    assert_eq!(track(&v, &m1.2)["agreement"], "waiting_for_guardian");
    assert_eq!(v["waiting"], 2);

    // The guardian's link, from the email; a wrong token is refused.
    app.run_pending_jobs().await;
    let mail = app
        .emails()
        .into_iter()
        .rev()
        .find(|e| e.to == "parent-alb@example.org")
        .expect("the guardian is asked");
    let link = path_of(&find_link(&mail.text, "/albums/guardian").unwrap());
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert_eq!(app.get(&link).await.status(), 200);
    let g =
        |token: &str, name: &str| json!({ "token": token, "terms_version": version, "name": name });
    assert_eq!(
        code(anon_post(&app, "/api/v1/album-guardian/agreement", g("forged", "Ann")).await).await,
        (422, "album.link_invalid".into())
    );
    assert_eq!(
        code(anon_post(&app, "/api/v1/album-guardian/agreement", g(&token, " ")).await).await,
        (422, "album.guardian_name_invalid".into())
    );
    assert_eq!(
        anon_post(
            &app,
            "/api/v1/album-guardian/agreement",
            g(&token, "Ann Lee")
        )
        .await
        .status(),
        204
    );
    let v = album(&app, &s).await;
    assert_eq!(track(&v, &m1.2)["agreement"], "agreed");
    // The young musician's export holds the agreement, and who agreed for them.
    let (_, export) = get_json(&app, &m1.0, "/api/v1/me/export").await;
    assert_eq!(
        export["album_agreements"][0]["guardian_name"], "Ann Lee",
        "{export}"
    );
    assert_eq!(track(&v, &m2.2)["agreement"], "waiting_for_musician");

    // The release: publishing waits for it.
    assert_eq!(
        code(
            post(
                &app,
                &s.call.org,
                &format!("{base}/publish"),
                json!({ "published": true })
            )
            .await
        )
        .await,
        (409, "album.release_not_ready".into())
    );
    let res = post(&app, &s.call.org, &format!("{base}/release"), json!({})).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    app.run_pending_jobs().await;
    let v = album(&app, &s).await;
    assert_eq!(
        (v["release_state"].as_str(), v["release_fresh"].as_bool()),
        (Some("ready"), Some(true)),
        "{v}"
    );
    assert!(track(&v, &m2.2)["release"].is_null());
    let r0 = &track(&v, &m0.2)["release"];
    let r1 = &track(&v, &m1.2)["release"];
    assert_eq!(
        (r0["peak_limited"].as_bool(), r1["peak_limited"].as_bool()),
        (Some(false), Some(true))
    );

    // Published: the page has the agreed tracks only, each playable.
    let res = post(
        &app,
        &s.call.org,
        &format!("{base}/publish"),
        json!({ "published": true }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let public: Value = app
        .get(&format!("/api/v1/albums/{}", s.call.slug))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = public["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&m2.2.as_str()));
    assert_eq!(public["downloadable"], false);
    let audio = app
        .get(&format!("/api/v1/albums/{cid}/tracks/{}/audio", m0.2))
        .await;
    assert_eq!(audio.status(), 200);
    assert_eq!(audio.headers()["content-type"], "audio/mpeg");
    for e in [&m2.2, &"missing".to_string()] {
        let res = app
            .get(&format!("/api/v1/albums/{cid}/tracks/{e}/audio"))
            .await;
        assert_eq!(res.status(), 404);
    }
    let page = app
        .get(&format!("/c/{}/album", s.call.slug))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("og:type\" content=\"music.album"), "{page}");
    assert!(page.contains(&m0.3) && !page.contains(&m2.3));

    // The ZIP: not for the public unless allowed; the organiser's link works, counted.
    assert_eq!(
        code(
            anon_post(
                &app,
                &format!("/api/v1/albums/{cid}/download-link"),
                json!({})
            )
            .await
        )
        .await,
        (403, "album.download_not_allowed".into())
    );
    let (st, l) = {
        let res = post(
            &app,
            &s.call.org,
            &format!("/api/v1/albums/{cid}/download-link"),
            json!({}),
        )
        .await;
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(st, 200, "{l}");
    let url = l["url"].as_str().unwrap().to_string();
    let forged = url.replace("&s=", "&s=00");
    // (An HTML error page: the link is opened by a browser.)
    assert_eq!(app.get(&forged).await.status(), 403);
    let res = app.get(&url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let zip_bytes = res.bytes().await.unwrap();
    // A resumed download (from a later byte) is not counted again.
    let part = reqwest::Client::new()
        .get(app.url(&url))
        .header("Range", "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(album(&app, &s).await["downloads"], 1);

    // Inside: both tracks in both formats, the credits; nothing of the third song.
    let files = unzip(&zip_bytes);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("FLAC/")).count(),
        2,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.starts_with("MP3/")).count(),
        2,
        "{names:?}"
    );
    let credits = String::from_utf8(
        files
            .iter()
            .find(|(n, _)| n == "credits.txt")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(
        credits.contains(&m0.3) && credits.contains(&m1.3),
        "{credits}"
    );
    for (n, b) in &files {
        assert!(!n.contains(&m2.3));
        assert!(!String::from_utf8_lossy(b).contains(&m2.3), "{n}");
    }

    // Each file measured again here by the engine, and its tags parsed back.
    let dir = tempfile::tempdir().unwrap();
    let stated: std::collections::HashMap<String, f64> = public["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_string(),
                t["integrated_lufs"].as_f64().unwrap(),
            )
        })
        .collect();
    for (name, bytes) in files
        .iter()
        .filter(|(n, _)| n.ends_with(".flac") || n.ends_with(".mp3"))
    {
        let path = dir.path().join(name.replace('/', "_"));
        std::fs::write(&path, bytes).unwrap();
        let m = cadenza::audio::release::measure(&path, cadenza::audio::Limits::default()).unwrap();
        let (tags, _) = cadenza::audio::release::read_tags(&path).unwrap();
        let lufs = m.integrated_lufs.unwrap();
        let peak = m.true_peak_dbtp.unwrap();
        assert!(peak <= -1.0, "{name}: true peak {peak}");
        if tags.title == m0.3 {
            assert!((lufs - -14.0).abs() <= 0.2, "{name}: {lufs} LUFS");
        } else {
            assert_eq!(tags.title, m1.3);
            // Brought only as far as the ceiling allows, and stated so.
            assert!(lufs < -15.0, "{name}: {lufs}");
            assert!(
                (lufs - stated[&tags.title]).abs() <= 0.2,
                "{name}: {lufs} vs {stated:?}"
            );
        }
        assert_eq!(tags.album, "Paintings into Songs");
        assert_eq!((tags.track_total, tags.year), (2, 2026));
        assert!(tags.track == 1 || tags.track == 2);
        assert!(
            !tags.artist.is_empty() && tags.composers.contains(&tags.artist),
            "{tags:?}"
        );
        assert!(name.contains(&format!("{:02} ", tags.track)), "{name}");
    }

    // New terms: every agreement is void until given again; nothing is public meanwhile.
    let res = put(
        &app,
        &s.call.org,
        &base,
        json!({ "terms": "New terms for the album." }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (v["terms_version"].as_i64(), v["waiting"].as_u64()),
        (Some(version + 1), Some(3))
    );
    let public: Value = app
        .get(&format!("/api/v1/albums/{}", s.call.slug))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["tracks"], json!([]));
    let res = app
        .get(&format!("/api/v1/albums/{cid}/tracks/{}/audio", m0.2))
        .await;
    assert_eq!(res.status(), 404);
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/albums/{cid}/download-link"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 403);
}
