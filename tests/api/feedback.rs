//! Judges' feedback reaches musicians only as organisers allow (issue 20): per round
//! once decided, never from a judge who declared a conflict, never while held back;
//! organisers read all of it (page, JSON, CSV). And the data export holds everything:
//! entries with their audio, votes, a judge's scores and comments (a ZIP).

use std::io::Read;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};
use crate::judging::{Setup, post, queue, round, score, setup};
use crate::submissions::code;

async fn comment(app: &TestApp, token: &str, alias: &str, body: &str) {
    let res = post(
        app,
        token,
        &format!("/api/v1/judging/assignments/{alias}/comments"),
        json!({ "body": body, "visibility": "musician" }),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

async fn feedback_of(app: &TestApp, token: &str) -> Vec<String> {
    let v: Value = app
        .get_with("/api/v1/me/results", token)
        .await
        .json()
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["feedback"].as_array().unwrap().clone())
        .map(|f| f["body"].as_str().unwrap().to_string())
        .collect()
}

/// Everyone comments on everything in a decided round; returns the round id and the
/// comment text per (judge, entry).
async fn decided_round(app: &TestApp, s: &Setup, conflicted: Option<(usize, usize)>) -> String {
    let r = round(
        app,
        s,
        json!({ "judges_per_entry": 2, "advancement": { "kind": "top_n", "n": 1 } }),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(
        post(
            app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/assign"),
            json!({})
        )
        .await
        .status(),
        200
    );
    for (ji, j) in s.judges.iter().enumerate() {
        for it in queue(app, j, &rid).await {
            let al = it["alias"].as_str().unwrap().to_string();
            let e = crate::judging::entry_of(app, s, j, &al).await;
            let ei = s.entries.iter().position(|x| x.2 == e).unwrap();
            comment(app, &j.token, &al, &format!("J{ji} on E{ei}")).await;
            if conflicted == Some((ji, ei)) {
                let res = post(
                    app,
                    &j.token,
                    &format!("/api/v1/judging/assignments/{al}/conflict"),
                    json!({ "reason": "I taught this musician" }),
                )
                .await;
                assert!(res.status().is_success(), "{}", res.text().await.unwrap());
            } else {
                assert_eq!(score(app, j, &al, 5 + ei as i64, 5).await.status(), 200);
            }
        }
    }
    rid
}

#[tokio::test]
async fn feedback_is_released_per_round_and_never_from_a_conflicted_judge() {
    let app = spawn_app_with(crate::helpers::TestEnv::new(), |b| b).await;
    let s = setup(&app, "fb-round", 2, 2).await;
    let rid = decided_round(&app, &s, Some((1, 0))).await;
    let (m0, m1) = (&s.entries[0].0, &s.entries[1].0);
    // Nothing before the round is decided.
    assert!(feedback_of(&app, m0).await.is_empty());

    // The organiser reads every comment, and holds one back.
    let list: Value = app
        .get_with(
            &format!("/api/v1/competitions/{}/feedback", s.call.id),
            &s.call.org,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 4);
    let find = |b: &str| items.iter().find(|i| i["body"] == b).unwrap().clone();
    assert_eq!(find("J1 on E0")["status"], "never");
    assert_eq!(find("J0 on E1")["status"], "waiting");
    let held = find("J0 on E1")["comment_id"].as_str().unwrap().to_string();
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/judging/comments/{held}/hold"),
        json!({ "reason": " " }),
    )
    .await;
    assert_eq!(code(res).await, (422, "judging.hold_reason_invalid".into()));
    let res = post(
        &app,
        &s.judges[0].token,
        &format!("/api/v1/judging/comments/{held}/hold"),
        json!({ "reason": "x" }),
    )
    .await;
    assert_eq!(res.status(), 404, "only the competition's organisers");
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/judging/comments/{held}/hold"),
        json!({ "reason": "Too harsh for a first-time entrant" }),
    )
    .await;
    assert_eq!(res.status(), 204);

    for step in ["close", "advance"] {
        let res = post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/{step}"),
            json!({}),
        )
        .await;
        assert!(
            res.status().is_success(),
            "{step}: {}",
            res.text().await.unwrap()
        );
    }
    // Decided: released per round, before any final results.
    let f0 = feedback_of(&app, m0).await;
    assert!(f0.contains(&"J0 on E0".to_string()));
    assert!(
        !f0.contains(&"J1 on E0".to_string()),
        "a conflicted judge's comment never goes out"
    );
    let f1 = feedback_of(&app, m1).await;
    assert!(f1.contains(&"J1 on E1".to_string()));
    assert!(!f1.contains(&"J0 on E1".to_string()), "held back");

    let csv = app
        .get_with(
            &format!("/api/v1/competitions/{}/feedback.csv", s.call.id),
            &s.call.org,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("Too harsh for a first-time entrant") && csv.contains("never"));
    let page = app
        .get_with(&format!("/organise/{}/feedback", s.call.id), &s.call.org)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-status=\"held\"") && page.contains("J1 on E0"));

    let res = app
        .client
        .delete(app.url(&format!("/api/v1/judging/comments/{held}/hold")))
        .bearer_auth(&s.call.org)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(
        feedback_of(&app, m1)
            .await
            .contains(&"J0 on E1".to_string())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn feedback_can_wait_for_the_final_results() {
    let app = spawn_app_with(crate::helpers::TestEnv::new(), |b| b).await;
    let s = setup(&app, "fbfinal", 2, 2).await;
    let rid = decided_round(&app, &s, None).await;
    let res = crate::judging::patch(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}"),
        json!({ "feedback_release": "later" }),
    )
    .await;
    assert_eq!(
        code(res).await,
        (422, "judging.feedback_release_invalid".into())
    );
    let res = crate::judging::patch(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}"),
        json!({ "feedback_release": "final" }),
    )
    .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    for step in ["close", "advance"] {
        post(
            &app,
            &s.call.org,
            &format!("/api/v1/rounds/{rid}/{step}"),
            json!({}),
        )
        .await;
    }
    assert!(
        feedback_of(&app, &s.entries[0].0).await.is_empty(),
        "waits for the results"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_export_holds_entries_audio_votes_scores_and_comments() {
    use crate::voting::{cast, pow, voting_round};
    let app = spawn_app_with(
        crate::helpers::TestEnv::with_extra("[voting]\npow_cost = 10\npow_max_counter = 4\n"),
        |b| b,
    )
    .await;
    let s = setup(&app, "export-all", 2, 2).await;
    let rid = decided_round(&app, &s, None).await;
    let _ = rid;
    let v = voting_round(&app, &s, json!({})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    // The first musician votes for the other song.
    let m0 = &s.entries[0].0;
    let p = pow(&app, m0, &vid).await;
    let res = cast(&app, m0, &vid, &s.entries[1].2, "k-export", &p).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    let res = app.get_with("/api/v1/me/export.zip", m0).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut json = String::new();
    zip.by_name("data.json")
        .unwrap()
        .read_to_string(&mut json)
        .unwrap();
    let data: Value = serde_json::from_str(&json).unwrap();
    let entry = &data["entries"][0];
    assert_eq!(entry["title"], s.entries[0].3.as_str());
    assert_eq!(entry["lyrics"], "la la");
    assert!(entry["report"].is_object());
    let file = entry["audio"][0]["file"].as_str().unwrap();
    let mut audio = Vec::new();
    zip.by_name(file).unwrap().read_to_end(&mut audio).unwrap();
    assert_eq!(&audio[..4], b"RIFF", "the uploaded audio itself");
    assert_eq!(data["votes"][0]["entry_id"], s.entries[1].2.as_str());

    // A judge's export holds their scores and comments.
    let j = &s.judges[0];
    let v: Value = app
        .get_with("/api/v1/me/export", &j.token)
        .await
        .json()
        .await
        .unwrap();
    let judged = v["judging"].as_array().unwrap();
    assert_eq!(judged.len(), 2);
    assert!(
        judged
            .iter()
            .all(|a| a["score"]["total"].as_f64().is_some())
    );
    assert!(
        judged
            .iter()
            .any(|a| a["comments"][0]["body"] == "J0 on E0")
    );
    app.shutdown().await;
}
