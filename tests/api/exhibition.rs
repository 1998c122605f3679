//! The exhibition end to end, on the leg's database: posters for a competition, a
//! prompt and an entry, their QR codes (read back as a phone would), the scan that
//! counts and opens the page in the poster's language, and the organiser's statistics.

use serde_json::{Value, json};

use crate::helpers::{TestApp, path_of, spawn_app};
use crate::judging::{post, setup};
use crate::submissions::code;
use crate::voting::voting_round;

/// Read a QR code in a PNG.
fn read_qr(png_bytes: &[u8]) -> String {
    let mut r = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; r.output_buffer_size().expect("size")];
    let info = r.next_frame(&mut buf).expect("a frame");
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("readable").1
}

async fn json_of(res: reqwest::Response) -> Value {
    let s = res.status();
    let t = res.text().await.unwrap();
    assert!(s.is_success(), "{s}: {t}");
    serde_json::from_str(&t).unwrap()
}

/// Scan: the QR code's address answers 303 to the page.
async fn scan(app: &TestApp, scan_url: &str) -> String {
    let res = app.get(&path_of(scan_url)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn posters_lead_from_the_wall_to_the_song_and_count_scans() {
    let app = spawn_app().await;
    let s = setup(&app, "expo", 2, 0).await;
    let (e, other) = (&s.entries[0].2, &s.entries[1].2);
    let r = voting_round(&app, &s, json!({ "entry_ids": [e] })).await;
    let rid = r["id"].as_str().unwrap();

    // An entry's poster in Chinese: made on first request, the same ever after.
    let p = json_of(
        app.get(&format!("/api/v1/posters/entry/{e}?lang=zh-CN"))
            .await,
    )
    .await;
    assert_eq!(p["kind"], "entry");
    assert_eq!(p["lang"], "zh-CN");
    assert_eq!(p["title"], s.entries[0].3);
    assert!(p.get("scans").is_none(), "scans are the organiser's");
    let pcode = p["code"].as_str().unwrap();
    assert_eq!(pcode.len(), 10);
    assert!(
        p["scan_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/p/{pcode}"))
    );
    let again = json_of(
        app.get(&format!("/api/v1/posters/entry/{e}?lang=zh-CN"))
            .await,
    )
    .await;
    assert_eq!(again["code"], pcode);
    let en = json_of(app.get(&format!("/api/v1/posters/entry/{e}?lang=en")).await).await;
    assert_ne!(en["code"], pcode, "one poster per language");

    // The QR code, as PNG and SVG, holds the scan address.
    let res = app.get(p["qr_png_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.unwrap();
    assert_eq!(read_qr(&png), p["scan_url"].as_str().unwrap());
    let res = app.get(p["qr_svg_url"].as_str().unwrap()).await;
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().contains("<svg"));

    // A scan opens the song's page in the poster's language: one tap to play, and the
    // vote button while voting is open.
    let to = scan(&app, p["scan_url"].as_str().unwrap()).await;
    assert_eq!(to, format!("/c/{}/vote/{rid}/{e}?lang=zh-CN", s.call.slug));
    let page = app.get(&to).await.text().await.unwrap();
    assert!(page.contains("<html lang=\"zh-CN\">"), "in Chinese");
    assert!(page.contains("data-play-button"));
    assert!(page.contains("data-vote-sign-in-button"));
    assert!(page.contains("data-vote-audio"));
    scan(&app, p["scan_url"].as_str().unwrap()).await;
    scan(&app, p["scan_url"].as_str().unwrap()).await;

    // The printable poster: in its language, with the QR code and the address.
    let page = app
        .get(&format!("/posters/entry/{e}?lang=zh-CN"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-poster-qr"));
    assert!(page.contains(p["scan_url"].as_str().unwrap()));
    assert!(page.contains("扫码收听并投票"));

    // The prompt's poster opens the prompt's page; the competition's, its page. (This
    // client scanned a Chinese poster, whose language it keeps for the visit: the
    // English poster is asked for by name.)
    let pp = json_of(
        app.get(&format!("/api/v1/posters/prompt/{}?lang=en", s.call.prompt))
            .await,
    )
    .await;
    let to = scan(&app, pp["scan_url"].as_str().unwrap()).await;
    assert_eq!(
        to,
        format!("/c/{}/prompts/{}?lang=en", s.call.slug, s.call.prompt)
    );
    let page = app.get(&to).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-prompt-page"));
    let cp = json_of(
        app.get(&format!("/api/v1/posters/competition/{}", s.call.slug))
            .await,
    )
    .await;
    assert_eq!(
        scan(&app, cp["scan_url"].as_str().unwrap()).await,
        format!("/c/{}?lang=en", s.call.slug)
    );

    // The organiser sees each poster's scans, per day; nobody else does.
    let list: Vec<Value> = json_of(
        app.get_with(
            &format!("/api/v1/competitions/{}/posters", s.call.id),
            &s.call.org,
        )
        .await,
    )
    .await
    .as_array()
    .unwrap()
    .clone();
    assert_eq!(list.len(), 4);
    let mine = list.iter().find(|x| x["code"] == pcode).unwrap();
    assert_eq!(mine["scans"], 3);
    assert_eq!(mine["scans_by_day"].as_array().unwrap().len(), 1);
    assert_eq!(mine["scans_by_day"][0]["scans"], 3);
    let en_row = list.iter().find(|x| x["code"] == en["code"]).unwrap();
    assert_eq!(en_row["scans"], 0);
    assert_eq!(
        app.get_with(
            &format!("/api/v1/competitions/{}/posters", s.call.id),
            &s.entries[0].0
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/competitions/{}/posters", s.call.id))
            .await
            .status(),
        401
    );
    let page = app
        .get_with(&format!("/organise/{}/exhibition", s.call.id), &s.call.org)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("data-poster-row=\"{pcode}\"")));

    // What is not public has no poster: an entry in no vote, an unknown kind or code, a
    // language we do not have.
    assert_eq!(
        app.get(&format!("/api/v1/posters/entry/{other}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/posters/painting/{e}"))
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/p/NoSuchCode").await.status(), 404);
    assert_eq!(
        code(app.get(&format!("/api/v1/posters/entry/{e}?lang=fr")).await).await,
        (422, "poster.lang_invalid".into())
    );
    // Once the competition is withdrawn from the public, its posters lead nowhere.
    let res = post(
        &app,
        &s.call.org,
        &format!("/api/v1/competitions/{}/unpublish", s.call.id),
        json!({}),
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        app.get(&path_of(p["scan_url"].as_str().unwrap()))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/posters/competition/{}", s.call.slug))
            .await
            .status(),
        404
    );
}
