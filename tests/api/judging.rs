//! Judging end to end, on the leg's database and store: rounds, assignment with
//! conflicts and affiliations, the judges' portal (blind views, clean audio, listening,
//! scores, comments, the panel's scores), progress, closing and ranking, advancement
//! with its emails, a second round, final results with an embargo, what musicians see,
//! calibration, reminders, and the authorization matrix.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::submissions::{Call, code, entry_id, get_json, musician, open_call, put_audio, wav};

pub struct Judge {
    pub token: String,
    pub id: String,
    pub email: String,
}

pub struct Setup {
    pub call: Call,
    /// (token, email, entry id, title)
    pub entries: Vec<(String, String, String, String)>,
    pub judges: Vec<Judge>,
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    send(app, reqwest::Method::POST, token, path, Some(body)).await
}

pub async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    send(app, reqwest::Method::PUT, token, path, Some(body)).await
}

pub async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    send(app, reqwest::Method::PATCH, token, path, Some(body)).await
}

async fn ok_json(res: reqwest::Response) -> Value {
    let s = res.status();
    let t = res.text().await.unwrap();
    assert!(s.is_success(), "{s}: {t}");
    serde_json::from_str(&t).unwrap_or(Value::Null)
}

/// A published competition with `entries` analysed entries (one musician each) and
/// `judges` judges who accepted their invitations.
pub async fn setup(app: &TestApp, slug: &str, entries: usize, judges: usize) -> Setup {
    setup_with(app, slug, entries, judges, |i| {
        wav(3.0, 10 + i as u32, 0.3 + 0.1 * i as f64)
    })
    .await
}

/// [`setup`] with each entry's audio from `audio(i)`.
pub async fn setup_with(
    app: &TestApp,
    slug: &str,
    entries: usize,
    judges: usize,
    audio: impl Fn(usize) -> Vec<u8>,
) -> Setup {
    let call = open_call(app, slug, json!({})).await;
    let mut list = Vec::new();
    for i in 0..entries {
        let email = format!("m{i}-{slug}@example.org");
        let t = musician(app, &email).await;
        let title = format!("Song {i} of {slug}");
        let id = entry_id(app, &t, &call, &title).await;
        let res = put_audio(app, &t, &id, audio(i), &format!("k-{slug}-{i}")).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        list.push((t, email, id, title));
    }
    app.run_pending_jobs().await;
    let mut js = Vec::new();
    for j in 0..judges {
        let email = format!("judge{j}-{slug}@example.org");
        let token = invited_judge(app, &call, &email, &format!("Judge {j}")).await;
        js.push(Judge {
            token,
            id: String::new(),
            email,
        });
    }
    let panel = ok_json(
        app.get_with(
            &format!("/api/v1/competitions/{}/panel", call.id),
            &call.org,
        )
        .await,
    )
    .await;
    for j in &mut js {
        j.id = panel
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["email"] == j.email.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .into();
    }
    Setup {
        call,
        entries: list,
        judges: js,
    }
}

/// Invite `email` to judge `call`; the judge accepts and signs in. Returns the access token.
pub async fn invited_judge(app: &TestApp, call: &Call, email: &str, name: &str) -> String {
    let res = post(
        app,
        &call.org,
        &format!("/api/v1/competitions/{}/judges/invitations", call.id),
        json!({ "email": email }),
    )
    .await;
    assert_eq!(res.status(), 202);
    let token = app.token_from_email(email, "/judge-invitation").await;
    let t = ok_json(
        app.post_json(
            "/api/v1/judge-invitations/accept",
            &json!({ "token": token, "stage_name": name, "password": "oboe at midnight 7" }),
        )
        .await,
    )
    .await;
    t["access_token"].as_str().unwrap().into()
}

fn rubric() -> Value {
    json!([
        { "name": "Originality", "weight": 60, "min": 1, "max": 10 },
        { "name": "Production", "weight": 40, "min": 1, "max": 10 },
    ])
}

pub async fn round(app: &TestApp, s: &Setup, body: Value) -> Value {
    let mut b = json!({ "name": "Screening", "rubric": rubric(), "judges_per_entry": 2,
        "advancement": { "kind": "top_n", "n": 2 } });
    for (k, v) in body.as_object().unwrap() {
        b[k] = v.clone();
    }
    let res = post(
        app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/rounds", s.call.id),
        b,
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

pub async fn queue(app: &TestApp, j: &Judge, round: &str) -> Vec<Value> {
    let q = ok_json(
        app.get_with(&format!("/api/v1/judging/rounds/{round}/queue"), &j.token)
            .await,
    )
    .await;
    q["items"].as_array().unwrap().clone()
}

pub async fn score(app: &TestApp, j: &Judge, alias: &str, a: i64, b: i64) -> reqwest::Response {
    put(
        app,
        &j.token,
        &format!("/api/v1/judging/assignments/{alias}/score"),
        json!({ "criteria": { "c1": a, "c2": b } }),
    )
    .await
}

/// The entry id behind a judge's alias (the organiser's scores CSV knows it).
pub async fn entry_of(app: &TestApp, s: &Setup, j: &Judge, alias: &str) -> String {
    let _ = (j, alias);
    let v = ok_json(
        app.get_with(&format!("/api/v1/judging/assignments/{alias}"), &j.token)
            .await,
    )
    .await;
    let code = v["code"].as_str().unwrap().to_string();
    let round = v["round"]["id"].as_str().unwrap();
    let p = ok_json(
        app.get_with(&format!("/api/v1/rounds/{round}/progress"), &s.call.org)
            .await,
    )
    .await;
    p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == code.as_str())
        .unwrap()["entry_id"]
        .as_str()
        .unwrap()
        .into()
}

#[tokio::test]
async fn a_blind_round_from_assignment_to_published_results() {
    let app = spawn_app().await;
    let s = setup(&app, "jflow", 4, 3).await;
    let r = round(&app, &s, json!({ "blind": true })).await;
    let rid = r["id"].as_str().unwrap();
    assert_eq!(r["status"], "draft");

    // Assignment: 4 entries × 2 judges over 3 judges, balanced; everyone is told.
    let a = ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/assign"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(a["assigned"], 8);
    assert_eq!(a["short"], json!([]));
    assert_eq!(a["round"]["status"], "open");
    let panel = ok_json(
        app.get_with(
            &format!("/api/v1/competitions/{}/panel", s.call.id),
            &s.call.org,
        )
        .await,
    )
    .await;
    let mut loads: Vec<i64> = panel
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["assignments"].as_i64().unwrap())
        .collect();
    loads.sort();
    assert_eq!(loads, [2, 3, 3]);
    app.run_pending_jobs().await;
    for j in &s.judges {
        assert!(
            app.emails()
                .iter()
                .any(|m| m.to == j.email && m.subject.contains("Screening")),
            "{} was emailed",
            j.email
        );
    }

    // The judge's queue and entry view say nothing about the musician.
    let j0 = &s.judges[0];
    let items = queue(&app, j0, rid).await;
    assert!(items.len() >= 2);
    let alias = items[0]["alias"].as_str().unwrap().to_string();
    let view_res = app
        .get_with(&format!("/api/v1/judging/assignments/{alias}"), &j0.token)
        .await;
    assert_eq!(view_res.status(), 200);
    let body = view_res.text().await.unwrap();
    let qbody = app
        .get_with(&format!("/api/v1/judging/rounds/{rid}/queue"), &j0.token)
        .await
        .text()
        .await
        .unwrap();
    for (_, email, id, title) in &s.entries {
        for text in [&body, &qbody] {
            assert!(
                !text.contains(email.as_str())
                    && !text.contains(id.as_str())
                    && !text.contains(title.as_str()),
                "blind view leaks {title}"
            );
            assert!(
                !text.contains("Lin Yue") && !text.contains("my song.wav"),
                "blind view leaks a name"
            );
        }
    }
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["title"].is_null() && v["musician"].is_null());
    assert_eq!(v["prompt"], "Spring Dawn", "the prompt is not identifying");
    assert!(
        v["audio"]["ready"].as_bool().unwrap(),
        "renditions were made by the worker"
    );
    assert!(v["audio"]["gain_db"].as_f64().is_some());
    assert!(v["audio"]["waveform"]["max"].as_array().unwrap().len() > 10);

    // The audio is a clean WAV rendition: no tags, no file name, served under the alias.
    let res = app
        .get_with(v["audio"]["url"].as_str().unwrap(), &j0.token)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    let cd = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains(&alias) && !cd.contains("my song"), "{cd}");
    let wav_bytes = res.bytes().await.unwrap();
    assert_eq!(&wav_bytes[0..4], b"RIFF");
    assert_eq!(&wav_bytes[12..16], b"fmt ");
    assert_eq!(
        &wav_bytes[36..40],
        b"data",
        "nothing but format and samples"
    );
    let ranged = app
        .client
        .get(app.url(v["audio"]["url"].as_str().unwrap()))
        .bearer_auth(&j0.token)
        .header("Range", "bytes=0-43")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);

    // Others' scores stay hidden until this judge has scored.
    let hidden = app
        .get_with(
            &format!("/api/v1/judging/assignments/{alias}/panel"),
            &j0.token,
        )
        .await;
    assert_eq!(code(hidden).await, (403, "judging.others_hidden".into()));

    // Every judge scores everything: entry i gets about (i+1) × 2 on both criteria.
    let mut feedback_entry = String::new();
    for j in &s.judges {
        for it in queue(&app, j, rid).await {
            let al = it["alias"].as_str().unwrap();
            let e = entry_of(&app, &s, j, al).await;
            let idx = s.entries.iter().position(|x| x.2 == e).unwrap() as i64;
            let res = score(&app, j, al, 2 + 2 * idx, 1 + 2 * idx).await;
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
            if idx == 3 && feedback_entry.is_empty() {
                feedback_entry = e.clone();
                let c = post(&app, &j.token, &format!("/api/v1/judging/assignments/{al}/comments"),
                    json!({ "body": "Lovely bridge at the end", "visibility": "musician", "at_secs": 2.5 })).await;
                assert_eq!(c.status(), 201);
                let c = post(
                    &app,
                    &j.token,
                    &format!("/api/v1/judging/assignments/{al}/comments"),
                    json!({ "body": "Secret panel note" }),
                )
                .await;
                assert_eq!(c.status(), 201);
            }
        }
    }
    let seen = ok_json(
        app.get_with(
            &format!("/api/v1/judging/assignments/{alias}/panel"),
            &j0.token,
        )
        .await,
    )
    .await;
    assert_eq!(seen.as_array().unwrap().len(), 1, "the other judge's score");

    // Re-scoring is allowed while open.
    assert_eq!(score(&app, j0, &alias, 10, 10).await.status(), 200);
    let e0 = entry_of(&app, &s, j0, &alias).await;
    let idx = s.entries.iter().position(|x| x.2 == e0).unwrap() as i64;
    assert_eq!(
        score(&app, j0, &alias, 2 + 2 * idx, 1 + 2 * idx)
            .await
            .status(),
        200
    );

    // Musicians see nothing before publication.
    let (_, mine) = get_json(&app, &s.entries[3].0, "/api/v1/me/results").await;
    assert_eq!(mine, json!([]));

    // Progress, then close: the ranking has raw, median and normalised side by side.
    let p = ok_json(
        app.get_with(&format!("/api/v1/rounds/{rid}/progress"), &s.call.org)
            .await,
    )
    .await;
    assert!(
        p["judges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["scored"] == j["assigned"])
    );
    assert!(
        p["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["judges"] == 2 && e["scored"] == 2)
    );
    let rk = ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/close"),
            json!({}),
        )
        .await,
    )
    .await;
    let ranked: Vec<&str> = rk["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ranked,
        [
            s.entries[3].2.as_str(),
            &s.entries[2].2,
            &s.entries[1].2,
            &s.entries[0].2
        ]
    );
    let top = &rk["entries"][0];
    assert!(
        top["mean"].as_f64().unwrap() > 70.0
            && top["median"].is_number()
            && top["normalised"].is_number()
    );
    assert_eq!(top["by_rule"], true);
    assert_eq!(rk["entries"][2]["by_rule"], false);
    assert!(
        rk["agreement"].as_f64().unwrap() > 0.9,
        "{}",
        rk["agreement"]
    );
    // Closed: no more scores.
    assert_eq!(
        code(score(&app, j0, &alias, 5, 5).await).await,
        (422, "judging.window_closed".into())
    );

    // A final round cannot start before the screening is decided.
    let fin = round(
        &app,
        &s,
        json!({ "name": "Final", "blind": false, "judges_per_entry": 3 }),
    )
    .await;
    let fid = fin["id"].as_str().unwrap();
    assert_eq!(
        code(
            post(
                &app,
                &s.call.org,
                &format!("/api/v1/rounds/{fid}/assign"),
                json!({})
            )
            .await
        )
        .await,
        (409, "judging.previous_round_undecided".into())
    );

    // Advance by the rule (top 2): musicians are told either way.
    let adv = ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/advance"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(adv["round"]["status"], "decided");
    app.run_pending_jobs().await;
    let to = |i: usize| {
        app.emails()
            .into_iter()
            .filter(|m| m.to == s.entries[i].1)
            .map(|m| m.subject)
            .collect::<Vec<_>>()
    };
    assert!(
        to(3).iter().any(|t| t.contains("goes on to Final")),
        "{:?}",
        to(3)
    );
    assert!(
        to(0).iter().any(|t| t.contains("Screening results")),
        "{:?}",
        to(0)
    );

    // The final has just the two who advanced; not blind, so judges see titles.
    let a = ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{fid}/assign"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(a["round"]["entries"], 2);
    assert_eq!(a["assigned"], 6);
    let items = queue(&app, j0, fid).await;
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&s.entries[3].3.as_str()) && titles.contains(&s.entries[2].3.as_str()));
    assert!(items.iter().all(|i| i["musician"] == "Lin Yue"));
    for j in &s.judges {
        for it in queue(&app, j, fid).await {
            let al = it["alias"].as_str().unwrap();
            let better = it["title"] == s.entries[2].3.as_str();
            let res = score(&app, j, al, if better { 9 } else { 7 }, 8).await;
            assert_eq!(res.status(), 200);
        }
    }
    ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{fid}/close"),
            json!({}),
        )
        .await,
    )
    .await;

    // Results with an embargo: computed, not public until the time comes.
    let later = (Utc::now() + Duration::days(2)).to_rfc3339();
    let res = ok_json(put(&app, &s.call.org, &format!("/api/v1/competitions/{}/results", s.call.id),
        json!({ "method": "eurovision", "jury_weight": 50, "public_weight": 50, "publish_at": later })).await).await;
    assert_eq!(res["published"], false);
    assert_eq!(res["standings"][0]["entry_id"], s.entries[2].2.as_str());
    assert_eq!(
        res["standings"][0]["points"], 12.0,
        "jury only until there are public votes"
    );
    let anon = app
        .client
        .get(app.url(&format!("/api/v1/competitions/{}/results", s.call.slug)))
        .send()
        .await
        .unwrap();
    assert_eq!(code(anon).await, (404, "results.not_published".into()));
    let page = app.get(&format!("/c/{}/results", s.call.slug)).await;
    assert_eq!(page.status(), 404);
    let (_, mine) = get_json(&app, &s.entries[2].0, "/api/v1/me/results").await;
    assert_eq!(mine, json!([]), "embargoed");
    app.run_pending_jobs().await;
    let announced = |app: &TestApp| {
        app.emails()
            .into_iter()
            .filter(|m| m.subject.contains("results are out"))
            .count()
    };
    assert_eq!(announced(&app), 0, "nobody is told before the embargo ends");

    // Publish: everyone sees it; musicians see placements and feedback (not panel notes).
    ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/competitions/{}/results/publish", s.call.id),
            json!({}),
        )
        .await,
    )
    .await;
    let public = ok_json(
        app.client
            .get(app.url(&format!("/api/v1/competitions/{}/results", s.call.slug)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(public["standings"][0]["title"], s.entries[2].3.as_str());
    let html = app
        .get(&format!("/c/{}/results", s.call.slug))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&s.entries[2].3) && html.contains("og:title"));
    let (_, mine) = get_json(&app, &s.entries[3].0, "/api/v1/me/results").await;
    let o = &mine[0];
    assert_eq!(o["place"], 2);
    assert_eq!(o["rounds"][0]["round"], "Screening");
    assert_eq!(o["rounds"][0]["placement"], 1);
    assert_eq!(o["rounds"][0]["advanced"], true);
    let fb: Vec<&str> = o["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(fb, ["Lovely bridge at the end"]);
    assert_eq!(o["feedback"][0]["at_secs"], 2.5);
    let entry_page = app
        .get_with(&format!("/entries/{}", s.entries[3].2), &s.entries[3].0)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        entry_page.contains("data-outcome")
            && entry_page.contains("Lovely bridge")
            && !entry_page.contains("Secret panel")
    );

    // CSV exports.
    let csv = app
        .get_with(
            &format!("/api/v1/competitions/{}/scores.csv", s.call.id),
            &s.call.org,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("round,code,entry_id") && csv.contains("Judge 0") && csv.contains("Final")
    );
    assert_eq!(csv.lines().count(), 1 + 8 + 6);
    let csv = app
        .get_with(
            &format!("/api/v1/competitions/{}/results.csv", s.call.id),
            &s.call.org,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().nth(1).unwrap().starts_with("1,"));

    // Everyone who was in a round hears that the results are out, once, with their place.
    app.run_pending_jobs().await;
    let mail = app
        .emails()
        .into_iter()
        .find(|m| m.to == s.entries[3].1 && m.subject.contains("results are out"))
        .expect("the announcement");
    assert!(mail.text.contains("placed 2"), "{}", mail.text);
    assert_eq!(announced(&app), 4);
    let cid = s.call.id.clone();
    let again = cadenza::results::service::announce(&app.state, &cid, Utc::now().naive_utc())
        .await
        .unwrap();
    assert_eq!(
        again, 0,
        "a publication time that is not the current one does nothing"
    );
    app.run_pending_jobs().await;
    assert_eq!(announced(&app), 4, "once");
}

#[tokio::test]
async fn who_may_see_and_do_what() {
    let app = spawn_app().await;
    let s = setup(&app, "jauth", 3, 2).await;
    let r = round(&app, &s, json!({ "judges_per_entry": 1 })).await;
    let rid = r["id"].as_str().unwrap().to_string();
    ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/assign"),
            json!({}),
        )
        .await,
    )
    .await;
    let (j0, j1) = (&s.judges[0], &s.judges[1]);
    let a0 = queue(&app, j0, &rid).await[0]["alias"]
        .as_str()
        .unwrap()
        .to_string();
    let musician = &s.entries[0].0;
    let other_org = crate::invitations::organiser(&app, "other-org@example.org")
        .await
        .1;

    // Judges: only their own assignments.
    for (who, path, want) in [
        (&j1.token, format!("/api/v1/judging/assignments/{a0}"), 404),
        (
            &j1.token,
            format!("/api/v1/judging/assignments/{a0}/audio"),
            404,
        ),
        (
            &j1.token,
            format!("/api/v1/judging/assignments/{a0}/panel"),
            404,
        ),
        (musician, format!("/api/v1/judging/assignments/{a0}"), 404),
        (musician, format!("/api/v1/judging/rounds/{rid}/queue"), 404),
        (
            &j0.token,
            "/api/v1/judging/assignments/00000000000000000000000000000000".to_string(),
            404,
        ),
        (
            &j0.token,
            "/api/v1/judging/assignments/..%2F..%2Fetc".to_string(),
            404,
        ),
        // Judges are not organisers.
        (&j0.token, format!("/api/v1/rounds/{rid}"), 404),
        (&j0.token, format!("/api/v1/rounds/{rid}/progress"), 404),
        (&j0.token, format!("/api/v1/rounds/{rid}/ranking"), 404),
        (
            &j0.token,
            format!("/api/v1/competitions/{}/scores.csv", s.call.id),
            404,
        ),
        (&other_org, format!("/api/v1/rounds/{rid}"), 404),
        (
            &other_org,
            format!("/api/v1/competitions/{}/rounds", s.call.id),
            404,
        ),
        (
            &other_org,
            format!("/api/v1/competitions/{}/panel", s.call.id),
            404,
        ),
        (musician, format!("/api/v1/rounds/{rid}/ranking"), 404),
    ] {
        let res = app.get_with(&path, who).await;
        assert_eq!(res.status().as_u16(), want, "GET {path}");
    }
    for (who, path) in [
        (&j1.token, format!("/api/v1/judging/assignments/{a0}/score")),
        (musician, format!("/api/v1/judging/assignments/{a0}/score")),
    ] {
        assert_eq!(
            put(
                &app,
                who,
                &path,
                json!({ "criteria": { "c1": 5, "c2": 5 } })
            )
            .await
            .status(),
            404,
            "PUT {path}"
        );
    }
    for (who, path, body) in [
        (&j0.token, format!("/api/v1/rounds/{rid}/close"), json!({})),
        (&other_org, format!("/api/v1/rounds/{rid}/close"), json!({})),
        (
            &other_org,
            format!("/api/v1/rounds/{rid}/assign"),
            json!({}),
        ),
        (
            musician,
            format!("/api/v1/competitions/{}/rounds", s.call.id),
            json!({ "name": "x" }),
        ),
        (
            &other_org,
            format!("/api/v1/competitions/{}/rounds", s.call.id),
            json!({ "name": "x" }),
        ),
        (
            &j1.token,
            format!("/api/v1/judging/assignments/{a0}/comments"),
            json!({ "body": "x" }),
        ),
        (
            &j1.token,
            format!("/api/v1/judging/assignments/{a0}/conflict"),
            json!({ "reason": "x" }),
        ),
        (
            &j1.token,
            format!("/api/v1/judging/assignments/{a0}/listened"),
            json!({ "from_secs": 0, "to_secs": 1 }),
        ),
    ] {
        let res = post(&app, who, &path, body).await;
        assert_eq!(res.status(), 404, "POST {path}");
    }
    let anon = app
        .client
        .get(app.url(&format!("/api/v1/judging/rounds/{rid}/queue")))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);

    // Bad scores get clear answers; nothing is written.
    let bad = put(
        &app,
        &j0.token,
        &format!("/api/v1/judging/assignments/{a0}/score"),
        json!({ "criteria": { "c1": 11, "c2": 5 } }),
    )
    .await;
    assert_eq!(code(bad).await, (422, "judging.score_out_of_range".into()));
    let bad = put(
        &app,
        &j0.token,
        &format!("/api/v1/judging/assignments/{a0}/score"),
        json!({ "criteria": { "c1": 5 } }),
    )
    .await;
    assert_eq!(code(bad).await, (422, "judging.score_missing".into()));
    let bad = put(
        &app,
        &j0.token,
        &format!("/api/v1/judging/assignments/{a0}/score"),
        json!({ "criteria": { "c1": 5, "c2": 5, "vibes": 3 } }),
    )
    .await;
    assert_eq!(code(bad).await, (422, "judging.unknown_criterion".into()));
    let zh = app
        .client
        .put(app.url(&format!("/api/v1/judging/assignments/{a0}/score")))
        .bearer_auth(&j0.token)
        .header("Accept-Language", "zh-CN")
        .json(&json!({ "criteria": { "c1": 0, "c2": 5 } }))
        .send()
        .await
        .unwrap();
    let msg: Value = zh.json().await.unwrap();
    assert!(
        msg["error"]["message"].as_str().unwrap().contains("整数"),
        "{msg}"
    );
    let mine = ok_json(
        app.get_with(&format!("/api/v1/judging/assignments/{a0}"), &j0.token)
            .await,
    )
    .await;
    assert!(mine["score"].is_null());

    // Outside the window: the organiser moves the close into the past.
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let earlier = (Utc::now() - Duration::hours(3)).to_rfc3339();
    ok_json(
        patch(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}"),
            json!({ "opens_at": earlier, "closes_at": past }),
        )
        .await,
    )
    .await;
    let res = score(&app, j0, &a0, 5, 5).await;
    assert_eq!(code(res).await, (422, "judging.window_closed".into()));
    let res = post(
        &app,
        &j0.token,
        &format!("/api/v1/judging/assignments/{a0}/comments"),
        json!({ "body": "late" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "judging.window_closed".into()));

    // Mass assignment: unknown fields in a round are refused, ids in a body are ignored.
    let res = patch(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}"),
        json!({ "competition_id": "x", "status": "closed" }),
    )
    .await;
    assert_eq!(res.status().as_u16() / 100, 4);
    let v = ok_json(
        app.get_with(&format!("/api/v1/rounds/{rid}"), &s.call.org)
            .await,
    )
    .await;
    assert_eq!(v["status"], "open");

    // Musicians see no scores before publication.
    let (st, mine) = get_json(&app, musician, "/api/v1/me/results").await;
    assert_eq!((st, mine), (StatusCode::OK, json!([])));
    let res = app
        .client
        .get(app.url(&format!("/api/v1/competitions/{}/results", s.call.id)))
        .bearer_auth(musician)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Nobody scored: closing is fine, deciding is not (it would fail every musician).
    ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/close"),
            json!({}),
        )
        .await,
    )
    .await;
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/advance"),
        json!({}),
    )
    .await;
    assert_eq!(code(res).await, (409, "judging.no_scores".into()));
}

#[tokio::test]
async fn conflicts_affiliations_top_up_and_listening() {
    let app = spawn_app().await;
    let s = setup(&app, "jconf", 3, 3).await;
    // Musician 0 and judge 0 share a school (spelled differently).
    ok_json(
        put(
            &app,
            &s.entries[0].0,
            "/api/v1/me/affiliations",
            json!({ "items": [{ "kind": "school", "value": "Central Conservatory" }] }),
        )
        .await,
    )
    .await;
    ok_json(
        put(
            &app,
            &s.judges[0].token,
            "/api/v1/me/affiliations",
            json!({ "items": [{ "kind": "school", "value": "central  conservatory." }] }),
        )
        .await,
    )
    .await;
    let bad = put(
        &app,
        &s.judges[0].token,
        "/api/v1/me/affiliations",
        json!({ "items": [{ "kind": "club", "value": "x" }] }),
    )
    .await;
    assert_eq!(
        code(bad).await,
        (422, "judging.affiliation_kind_invalid".into())
    );
    // Judge 1 declared a conflict with entry 1 through the organiser.
    ok_json(post(&app, &s.call.org, &format!("/api/v1/competitions/{}/conflicts", s.call.id),
        json!({ "judge_id": s.judges[1].id, "entry_id": s.entries[1].2, "reason": "Her teacher" })).await).await;

    let r = round(
        &app,
        &s,
        json!({ "judges_per_entry": 2, "min_listen_percent": 50 }),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    let a = ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/assign"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(a["assigned"], 6);
    let mut who_has: Vec<(usize, String)> = Vec::new();
    for (ji, j) in s.judges.iter().enumerate() {
        for it in queue(&app, j, &rid).await {
            who_has.push((
                ji,
                entry_of(&app, &s, j, it["alias"].as_str().unwrap()).await,
            ));
        }
    }
    assert!(
        !who_has.contains(&(0, s.entries[0].2.clone())),
        "shared school"
    );
    assert!(
        !who_has.contains(&(1, s.entries[1].2.clone())),
        "declared conflict"
    );
    let manual = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/assignments"),
        json!({ "judge_id": s.judges[0].id, "entry_id": s.entries[0].2 }),
    )
    .await;
    assert_eq!(
        code(manual).await,
        (409, "judging.conflict_of_interest".into())
    );

    // Listening first: the round wants half of each track heard.
    let j2 = &s.judges[2];
    let items = queue(&app, j2, &rid).await;
    let al = items[0]["alias"].as_str().unwrap().to_string();
    let res = score(&app, j2, &al, 5, 5).await;
    assert_eq!(code(res).await, (422, "judging.listen_more".into()));
    let listen = |from: f64, to: f64| {
        let (app, t, al) = (&app, j2.token.clone(), al.clone());
        async move {
            ok_json(
                post(
                    app,
                    &t,
                    &format!("/api/v1/judging/assignments/{al}/listened"),
                    json!({ "from_secs": from, "to_secs": to }),
                )
                .await,
            )
            .await["listened_percent"]
                .as_u64()
                .unwrap()
        }
    };
    // A forged claim of the whole track, with no audio streamed: nothing proved.
    assert_eq!(listen(0.0, 3.0).await, 0);
    // The audio is streamed; a claim of all of it at once is bounded by the time since.
    app.run_pending_jobs().await;
    let audio = app
        .get_with(
            &format!("/api/v1/judging/assignments/{al}/audio"),
            &j2.token,
        )
        .await;
    assert_eq!(audio.status(), 200);
    audio.bytes().await.unwrap();
    let early = listen(0.0, 3.0).await;
    assert!(early < 50, "{early}% after a moment of a 3 s track");
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let l = json!({ "listened_percent": listen(0.5, 2.2).await });
    assert!(l["listened_percent"].as_u64().unwrap() >= 70, "{l}");
    assert_eq!(score(&app, j2, &al, 5, 5).await.status(), 200);
    // The rubric is fixed once someone scored.
    let res = patch(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}"),
        json!({ "rubric": [{ "name": "All", "weight": 100, "min": 1, "max": 5 }] }),
    )
    .await;
    assert_eq!(code(res).await, (409, "judging.rubric_locked".into()));

    // Judge 2 declares a conflict on another entry: it goes to someone else, and judge 2 loses it.
    let other = items[1]["alias"].as_str().unwrap().to_string();
    let e_other = entry_of(&app, &s, j2, &other).await;
    let res = post(
        &app,
        &j2.token,
        &format!("/api/v1/judging/assignments/{other}/conflict"),
        json!({ "reason": "I produced it" }),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.get_with(&format!("/api/v1/judging/assignments/{other}"), &j2.token)
            .await
            .status(),
        404
    );
    let p = ok_json(
        app.get_with(&format!("/api/v1/rounds/{rid}/progress"), &s.call.org)
            .await,
    )
    .await;
    let line = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entry_id"] == e_other.as_str())
        .unwrap();
    assert_eq!(line["conflicts"], 1);
    // Top-up found another judge if one was free of conflicts.
    let j2p = p["judges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["judge_id"] == j2.id.as_str())
        .unwrap();
    assert_eq!(j2p["conflicts"], 1);
    assert!(
        p["judges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["listened_percent"].as_u64().unwrap() > 0)
    );

    // A judge drops out: their unscored entries go to the others.
    let before = p["judges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["judge_id"] == s.judges[0].id.as_str())
        .unwrap()["assigned"]
        .as_i64()
        .unwrap();
    assert!(before > 0);
    let res = app
        .client
        .delete(app.url(&format!(
            "/api/v1/competitions/{}/panel/{}",
            s.call.id, s.judges[0].id
        )))
        .bearer_auth(&s.call.org)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let p = ok_json(
        app.get_with(&format!("/api/v1/rounds/{rid}/progress"), &s.call.org)
            .await,
    )
    .await;
    let gone = p["judges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["judge_id"] == s.judges[0].id.as_str())
        .unwrap();
    assert_eq!(gone["assigned"], 0);
    assert!(queue_status(&app, &s.judges[0], &rid).await == 404);
}

async fn queue_status(app: &TestApp, j: &Judge, round: &str) -> u16 {
    app.get_with(&format!("/api/v1/judging/rounds/{round}/queue"), &j.token)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn manual_advancement_needs_a_reason_and_is_audited() {
    let app = spawn_app().await;
    let s = setup(&app, "jman", 3, 1).await;
    let r = round(
        &app,
        &s,
        json!({ "judges_per_entry": 1, "advancement": { "kind": "top_n", "n": 1 } }),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/assign"),
            json!({}),
        )
        .await,
    )
    .await;
    let j = &s.judges[0];
    for it in queue(&app, j, &rid).await {
        let al = it["alias"].as_str().unwrap();
        let e = entry_of(&app, &s, j, al).await;
        let idx = s.entries.iter().position(|x| x.2 == e).unwrap() as i64;
        assert_eq!(score(&app, j, al, 3 + idx, 3 + idx).await.status(), 200);
    }
    let early = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/advance"),
        json!({}),
    )
    .await;
    assert_eq!(code(early).await, (409, "judging.round_not_closed".into()));
    ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/close"),
            json!({}),
        )
        .await,
    )
    .await;
    // The top entry is disqualified after the close: it keeps its line but cannot advance.
    let dq = post(
        &app,
        &s.call.org,
        &format!("/api/v1/entries/{}/review", s.entries[2].2),
        json!({ "action": "disqualify", "reason": "Uses an uncleared sample" }),
    )
    .await;
    assert_eq!(dq.status(), 200);
    let rk = ok_json(
        app.get_with(&format!("/api/v1/rounds/{rid}/ranking"), &s.call.org)
            .await,
    )
    .await;
    assert_eq!(rk["entries"][0]["entry_id"], s.entries[2].2.as_str());
    assert_eq!(rk["entries"][0]["by_rule"], false);
    assert_eq!(rk["entries"][1]["by_rule"], true, "the next one moves up");
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/advance"),
        json!({ "entries": [s.entries[2].2], "reason": "x" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "judging.entry_not_eligible".into()));
    let choose = json!({ "entries": [s.entries[0].2] });
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/advance"),
        choose,
    )
    .await;
    assert_eq!(code(res).await, (422, "judging.reason_required".into()));
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/advance"),
        json!({ "entries": ["nope"], "reason": "x" }),
    )
    .await;
    assert_eq!(code(res).await, (422, "judging.entry_not_in_round".into()));
    let rk = ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/advance"),
            json!({ "entries": [s.entries[0].2], "reason": "The jury chair's casting vote" }),
        )
        .await,
    )
    .await;
    let adv: Vec<&str> = rk["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["advanced"] == true)
        .map(|e| e["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(adv, [s.entries[0].2.as_str()]);
    let rid2 = rid.clone();
    let audit: Vec<(String, String)> = app
        .state
        .db
        .run(move |c| {
            use cadenza::db::schema::audit_log;
            use diesel::prelude::*;
            Ok(audit_log::table
                .filter(audit_log::subject.eq(rid2))
                .select((audit_log::action, audit_log::details))
                .load(c)?)
        })
        .await
        .unwrap();
    let line = audit
        .iter()
        .find(|a| a.0 == "round.advanced_manually")
        .expect("audited");
    assert!(line.1.contains("casting vote"), "{}", line.1);
    let again = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/advance"),
        json!({}),
    )
    .await;
    assert_eq!(code(again).await, (409, "judging.already_decided".into()));
}

#[tokio::test]
async fn calibration_then_reminders() {
    let app = spawn_app().await;
    let s = setup(&app, "jcal", 2, 2).await;
    let anchors = json!([s.entries[0].2, s.entries[1].2]);
    let r = round(
        &app,
        &s,
        json!({ "name": "Calibration", "kind": "calibration", "anchors": anchors,
        "closes_at": (Utc::now() + Duration::hours(2)).to_rfc3339(), "reminder_hours": 24 }),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["entries"], 2);
    let a = ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/assign"),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(a["assigned"], 4, "every judge scores every anchor");
    let (j0, j1) = (&s.judges[0], &s.judges[1]);
    let cal = ok_json(
        app.get_with(
            &format!("/api/v1/judging/rounds/{rid}/calibration"),
            &j0.token,
        )
        .await,
    )
    .await;
    assert_eq!(cal["complete"], false);

    // Reminders go to judges with work left, once.
    app.run_pending_jobs().await;
    let n = cadenza::judging::service::remind(&app.state).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        cadenza::judging::service::remind(&app.state).await.unwrap(),
        0,
        "only once"
    );
    app.run_pending_jobs().await;
    assert!(
        app.emails()
            .iter()
            .any(|m| m.to == j0.email && m.subject.contains("closes soon"))
    );

    for it in queue(&app, j0, &rid).await {
        assert_eq!(
            score(&app, j0, it["alias"].as_str().unwrap(), 8, 8)
                .await
                .status(),
            200
        );
    }
    for it in queue(&app, j1, &rid).await {
        assert_eq!(
            score(&app, j1, it["alias"].as_str().unwrap(), 4, 4)
                .await
                .status(),
            200
        );
    }
    let cal = ok_json(
        app.get_with(
            &format!("/api/v1/judging/rounds/{rid}/calibration"),
            &j0.token,
        )
        .await,
    )
    .await;
    assert_eq!(cal["complete"], true);
    // j0: (8-1)/9·100 = 77.8; j1: 33.3; panel mean 55.6 → j0 is 22.2 more generous.
    let off = cal["offset"].as_f64().unwrap();
    assert!((off - 22.22).abs() < 0.1, "{off}");
    assert_eq!(cal["lines"].as_array().unwrap().len(), 2);
    // A calibration round advances nobody.
    ok_json(
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/close"),
            json!({}),
        )
        .await,
    )
    .await;
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/advance"),
        json!({}),
    )
    .await;
    assert_eq!(
        code(res).await,
        (409, "judging.calibration_has_no_advancement".into())
    );
}

#[tokio::test]
async fn round_settings_are_checked() {
    let app = spawn_app().await;
    let call = open_call(&app, "jset", json!({})).await;
    let path = format!("/api/v1/competitions/{}/rounds", call.id);
    for (body, want) in [
        (json!({ "name": "" }), "judging.round_name_missing"),
        (
            json!({ "name": "R", "rubric": [{ "name": "A", "weight": 50, "min": 1, "max": 10 }] }),
            "judging.weights_invalid",
        ),
        (
            json!({ "name": "R", "rubric": [{ "name": "A", "weight": 100, "min": 5, "max": 5 }] }),
            "judging.scale_invalid",
        ),
        (json!({ "name": "R", "rubric": [] }), "judging.rubric_size"),
        (
            json!({ "name": "R", "judges_per_entry": 0 }),
            "judging.judges_per_entry_invalid",
        ),
        (
            json!({ "name": "R", "advancement": { "kind": "top_n", "n": 0 } }),
            "judging.advancement_invalid",
        ),
        (
            json!({ "name": "R", "advancement": { "kind": "threshold", "min_score": 101 } }),
            "judging.advancement_invalid",
        ),
        (
            json!({ "name": "R", "ranking_basis": "vibes" }),
            "judging.basis_invalid",
        ),
        (
            json!({ "name": "R", "min_listen_percent": 120 }),
            "judging.listen_share_invalid",
        ),
        (
            json!({ "name": "R", "others_scores": "sometimes" }),
            "judging.others_scores_invalid",
        ),
        (
            json!({ "name": "R", "opens_at": "2026-12-02T10:00", "closes_at": "2026-12-01T10:00" }),
            "judging.window_invalid",
        ),
        (
            json!({ "name": "R", "kind": "final" }),
            "judging.kind_invalid",
        ),
        (
            json!({ "name": "R", "anchors": ["x"] }),
            "judging.anchors_invalid",
        ),
    ] {
        let res = post(&app, &call.org, &path, body.clone()).await;
        assert_eq!(code(res).await, (422, want.to_string()), "{body}");
    }
    let r = round_raw(&app, &call, json!({ "name": "Screening" })).await;
    assert_eq!(
        r["rubric"].as_array().unwrap().len(),
        4,
        "the default rubric"
    );
    assert_eq!(r["rubric"][3]["name"], "Fidelity to the prompt");
    let res = post(
        &app,
        &call.org,
        &format!("/api/v1/rounds/{}/assign", r["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(code(res).await, (422, "judging.no_entries".into()));
    let res = put(
        &app,
        &call.org,
        &format!("/api/v1/competitions/{}/results", call.id),
        json!({}),
    )
    .await;
    assert_eq!(code(res).await, (409, "judging.no_closed_round".into()));
    let res = put(
        &app,
        &call.org,
        &format!("/api/v1/competitions/{}/results", call.id),
        json!({ "jury_weight": 70, "public_weight": 20 }),
    )
    .await;
    assert_eq!(code(res).await, (422, "results.weights_invalid".into()));
}

async fn round_raw(app: &TestApp, call: &Call, body: Value) -> Value {
    let res = post(
        app,
        &call.org,
        &format!("/api/v1/competitions/{}/rounds", call.id),
        body,
    )
    .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}
