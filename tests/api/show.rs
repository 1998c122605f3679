//! The live show (issue 26, part 1): the presenter screen's state and its live stream,
//! the QR code to vote (a counted poster link), and the reveal from the show control —
//! refused while the vote is open or the results are missing or stale, the jury's
//! points first (lowest first), then the public's, then the places in the results'
//! order — with the results unchanged by the show.

use std::time::Duration as StdDuration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::judging::{Setup, post, put, setup};
use crate::public_vote::decided_screening;
use crate::submissions::code;
use crate::voting::{app_with, vote, voter, voting_round};

async fn press(app: &TestApp, token: &str, vid: &str, action: &str) -> reqwest::Response {
    post(
        app,
        token,
        &format!("/api/v1/voting-rounds/{vid}/show/reveal"),
        json!({ "action": action }),
    )
    .await
}

async fn show(app: &TestApp, vid: &str) -> Value {
    let res = app.get(&format!("/api/v1/voting-rounds/{vid}/show")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn compute_results(app: &TestApp, s: &Setup) -> Value {
    let res = put(
        app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results", s.call.id),
        json!({ "method": "eurovision", "jury_weight": 50, "public_weight": 50 }),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn organiser_results(app: &TestApp, s: &Setup) -> Value {
    let res = app
        .get_with(
            &format!("/api/v1/competitions/{}/results", s.call.id),
            &s.call.org,
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The next `show` event's JSON from an SSE byte stream.
async fn next_event(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> Value {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(data) = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .filter(|_| block.contains("event: show"))
            {
                return serde_json::from_str(data).unwrap();
            }
            continue;
        }
        let chunk = tokio::time::timeout(StdDuration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn a_live_final_from_the_first_vote_to_the_winner_leaves_the_results_alone() {
    let app = app_with("voter_per_minute = 1000\n").await;
    let s = setup(&app, "show-final", 3, 1).await;
    decided_screening(&app, &s).await;
    // The vote over the two finalists (entries 0 and 1), counts hidden until the close.
    let v = voting_round(
        &app,
        &s,
        json!({ "entry_ids": null, "counts_visible": "after_close", "votes_per_voter": 1 }),
    )
    .await;
    let vid = v["id"].as_str().unwrap().to_string();

    // The presenter screen: open, no counts per song while hidden, but the total.
    let sh = show(&app, &vid).await;
    assert_eq!(sh["state"], "open");
    assert_eq!(sh["counts_visible"], false);
    assert_eq!(sh["total_votes"], 0);
    assert_eq!(sh["lines"].as_array().unwrap().len(), 2);
    assert!(
        sh["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["votes"].is_null())
    );
    assert!(sh["reveal"].is_null());

    // Its live stream: a first event at once, another when a vote arrives.
    let res = app
        .client
        .get(app.url(&format!("/api/v1/voting-rounds/{vid}/show/stream")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    let first = next_event(&mut stream, &mut buf).await;
    assert_eq!(first["total_votes"], 0);
    // Three voters: two for the jury's second (entry 1), one for entry 0.
    for (i, e) in [1, 1, 0].into_iter().enumerate() {
        let t = voter(&app, &format!("show-voter{i}@example.org")).await;
        let res = vote(&app, &t, &vid, &s.entries[e].2).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    let mut seen = first;
    while seen["total_votes"] != 3 {
        seen = next_event(&mut stream, &mut buf).await;
    }
    assert!(
        seen["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["votes"].is_null()),
        "still hidden"
    );
    drop(stream);

    // The QR code on the screen is a counted poster link to the vote.
    let page = app.get(&format!("/c/{}/show/{vid}", s.call.slug)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("/posters/vote/{vid}/qr.svg")),
        "QR image"
    );
    let scan = html
        .split("class=\"show__url\">")
        .nth(1)
        .and_then(|x| x.split('<').next())
        .unwrap()
        .to_string();
    assert!(scan.contains("/p/"), "{scan}");
    let code_path = &scan[scan.find("/p/").unwrap()..];
    let res = app.client.get(app.url(code_path)).send().await.unwrap();
    let to = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_else(|| res.url().to_string());
    assert!(
        to.contains(&format!("/c/{}/vote/{vid}", s.call.slug)),
        "a scan opens the vote: {to}"
    );
    let posters = app
        .get_with(
            &format!("/api/v1/competitions/{}/posters", s.call.id),
            &s.call.org,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let p = posters
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "vote")
        .expect("the show's poster is listed");
    assert_eq!(p["scans"], 1, "{p}");
    // In Chinese, for a Chinese audience.
    let zh = app
        .client
        .get(app.url(&format!("/c/{}/show/{vid}?lang=zh-CN", s.call.slug)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("扫码投票") && zh.contains("lang=\"zh-CN\""));

    // The reveal waits for the close, and only the organiser presses.
    let stranger = voter(&app, "show-stranger@example.org").await;
    assert_eq!(press(&app, &stranger, &vid, "next").await.status(), 404);
    assert_eq!(
        code(press(&app, &s.call.org, &vid, "next").await).await,
        (409, "show.vote_open".into())
    );
    assert_eq!(
        code(press(&app, &s.call.org, &vid, "sideways").await).await,
        (422, "show.action_invalid".into())
    );
    // Results computed while the vote was open miss the public's last votes.
    compute_results(&app, &s).await;
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/voting-rounds/{vid}/close-now"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        code(press(&app, &s.call.org, &vid, "next").await).await,
        (409, "show.results_stale".into())
    );
    compute_results(&app, &s).await;
    let before = organiser_results(&app, &s).await;
    let standings: Vec<String> = before["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["entry_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(standings.len(), 2);

    // Jury first, the jury's lowest (entry 1) first; then the public's in the same
    // order; then the places. 2 songs with a public vote: 5 presses.
    let mut stages = Vec::new();
    let mut currents = Vec::new();
    let mut last = Value::Null;
    for _ in 0..5 {
        let res = press(&app, &s.call.org, &vid, "next").await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let v: Value = res.json().await.unwrap();
        let r = &v["reveal"];
        assert_eq!(r["steps"], 5);
        stages.push(r["stage"].as_str().unwrap().to_string());
        currents.push(r["current"].as_str().unwrap().to_string());
        if r["stage"] != "final" {
            assert!(
                r["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|l| l["place"].is_null()),
                "no place before the end"
            );
        }
        last = v;
    }
    assert_eq!(stages, ["jury", "jury", "public", "public", "final"]);
    let (e0, e1) = (s.entries[0].2.clone(), s.entries[1].2.clone());
    assert_eq!(
        currents[..4],
        [e1.clone(), e0.clone(), e1.clone(), e0.clone()]
    );
    assert_eq!(currents[4], standings[0], "the winner last");
    let finale: Vec<String> = last["reveal"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["entry_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(finale, standings, "the final board is the results' order");
    for (l, st) in last["reveal"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .zip(before["standings"].as_array().unwrap())
    {
        assert_eq!(l["place"], st["place"]);
        assert_eq!(
            l["total"], st["points"],
            "the parts add up to the results' points"
        );
    }
    // Everyone's screen shows the same.
    assert_eq!(show(&app, &vid).await["reveal"], last["reveal"]);
    assert_eq!(
        code(press(&app, &s.call.org, &vid, "next").await).await,
        (409, "show.reveal_done".into())
    );
    let back: Value = press(&app, &s.call.org, &vid, "back")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["reveal"]["step"], 4);
    let again: Value = press(&app, &s.call.org, &vid, "restart")
        .await
        .json()
        .await
        .unwrap();
    assert!(again["reveal"].is_null(), "back to the live screen");

    // The show changed nothing in the results; publishing them shows the same.
    let after = organiser_results(&app, &s).await;
    assert_eq!(after["standings"], before["standings"]);
    assert_eq!(after["computed_at"], before["computed_at"]);
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/results/publish", s.call.id),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let public: Value = app
        .get(&format!("/api/v1/competitions/{}/results", s.call.slug))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["standings"], before["standings"]);
}
