//! Pictures at the size a page shows them: a prompt's painting uploaded large is served
//! narrower when asked (`?w=`), from a copy made once, kept by browsers for a year when
//! the address names its version; a picture too large to use is refused with a message
//! a musician or organiser can act on, and nothing is stored.

use serde_json::{Value, json};

use crate::helpers::{TestApp, picture_png, spawn_app};
use crate::invitations::organiser;

/// A photo-like PNG (noise compresses like a photo, not like a flat colour).
fn photo_png(w: u32, h: u32) -> Vec<u8> {
    let mut seed = 0x9e37_79b9u32;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (seed >> 24) as u8 / 32;
        image::Rgb([(x % 190) as u8 + n, (y % 190) as u8 + n, 90 + n])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn size_of(bytes: &[u8]) -> (u32, u32) {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_dimensions()
        .unwrap()
}

/// A 1 × 1 PNG whose header claims `w` × `h` (its checksum made right).
fn claims(w: u32, h: u32) -> Vec<u8> {
    let mut head = picture_png(1, 1);
    head[16..20].copy_from_slice(&w.to_be_bytes());
    head[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&head[12..29]);
    head[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    head
}

async fn competition_with_prompt(app: &TestApp, org: &str) -> Value {
    let res = app
        .client
        .post(app.url("/api/v1/competitions"))
        .bearer_auth(org)
        .json(&json!({
            "title": "Paintings that sing",
            "slug": "paintings",
            "time_zone": "Asia/Shanghai",
            "prompts": [{ "title": "Spring Dawn", "story": "Mist over the river." }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn put_picture(app: &TestApp, org: &str, prompt: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/prompts/{prompt}/image")))
        .bearer_auth(org)
        .header("Accept-Language", "zh-CN")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn image_url(app: &TestApp, org: &str, id: &str) -> Option<String> {
    let c: Value = app
        .client
        .get(app.url(&format!("/api/v1/competitions/{id}")))
        .bearer_auth(org)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c["prompts"][0]["image_url"].as_str().map(str::to_string)
}

#[tokio::test]
async fn a_painting_is_served_at_the_width_a_page_asks_for_and_cached_by_version() {
    let app = spawn_app().await;
    let (_, org) = organiser(&app, "mei@example.org").await;
    let c = competition_with_prompt(&app, &org).await;
    let (cid, pid) = (
        c["id"].as_str().unwrap(),
        c["prompts"][0]["id"].as_str().unwrap(),
    );
    let original = photo_png(1600, 1200);
    assert_eq!(
        put_picture(&app, &org, pid, original.clone())
            .await
            .status(),
        204
    );
    let url = image_url(&app, &org, cid).await.unwrap();
    assert!(
        url.starts_with(&format!("/images/prompts/{pid}?v=")),
        "{url}"
    );
    assert!(
        url.ends_with("-1600x1200"),
        "the address carries the size: {url}"
    );

    // A 390 px phone asks for its width: it gets the next rendition, a JPEG, for a year.
    let small = app.get(&format!("{url}&w=390")).await;
    assert_eq!(small.status(), 200);
    assert_eq!(small.headers()["content-type"], "image/jpeg");
    assert_eq!(
        small.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        small.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    let bytes = small.bytes().await.unwrap();
    assert_eq!(size_of(&bytes), (480, 360));
    assert!(bytes.len() < original.len() / 4, "{} bytes", bytes.len());
    // The copy is made once: asked again, the same bytes.
    let again = app
        .get(&format!("{url}&w=480"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, bytes);
    // Never wider than the original; the original as it was uploaded.
    let wide = app.get(&format!("{url}&w=4000")).await;
    assert_eq!(wide.headers()["content-type"], "image/png");
    assert_eq!(wide.bytes().await.unwrap().to_vec(), original);
    // Without the version (an old link) it is kept for minutes, not a year.
    let plain = app.get(&format!("/images/prompts/{pid}?w=320")).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["cache-control"], "public, max-age=300");
    assert_eq!(size_of(&plain.bytes().await.unwrap()), (320, 240));

    // A new picture gets a new address; the old version is no longer kept for a year.
    assert_eq!(
        put_picture(&app, &org, pid, picture_png(800, 600))
            .await
            .status(),
        204
    );
    let next = image_url(&app, &org, cid).await.unwrap();
    assert_ne!(next, url);
    assert!(next.ends_with("-800x600"));
    let stale = app.get(&format!("{url}&w=320")).await;
    assert_eq!(stale.headers()["cache-control"], "public, max-age=300");
    app.shutdown().await;
}

#[tokio::test]
async fn a_picture_too_large_to_use_is_refused_in_the_readers_language_and_nothing_is_kept() {
    let app = spawn_app().await;
    let (_, org) = organiser(&app, "mei@example.org").await;
    let c = competition_with_prompt(&app, &org).await;
    let (cid, pid) = (
        c["id"].as_str().unwrap(),
        c["prompts"][0]["id"].as_str().unwrap(),
    );
    let res = put_picture(&app, &org, pid, claims(12_000, 12_000)).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "competition.image_too_large");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("12000 × 12000") && message.contains("像素"),
        "{message}"
    );
    assert_eq!(image_url(&app, &org, cid).await, None, "nothing stored");
    // Bytes that only start like a picture are not a picture.
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.extend_from_slice(&[0u8; 200]);
    let res = put_picture(&app, &org, pid, fake).await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "competition.image_type"
    );

    // An avatar too: in English, what to do.
    let t = app.signed_in_musician("lin@example.org").await;
    let res = app
        .client
        .put(app.url("/api/v1/me/avatar"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .body(claims(30_000, 10))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "account.avatar_too_large");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 12,000 pixels"),
        "{body}"
    );
    app.shutdown().await;
}
