//! Attacks on the HTTP surface: cross-site requests to every state-changing route, and
//! an authorization matrix (role × object state × action).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::{SECURITY_HEADERS, spawn_app};

/// Every route declared with `#[post]`, `#[put]`, `#[patch]` or `#[delete]` in the
/// source: the list grows with the code, so a new route is covered the day it lands.
fn state_changing_routes() -> BTreeSet<(String, String)> {
    fn walk(dir: &Path, out: &mut BTreeSet<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    let line = line.trim();
                    let line = line.replacen("#[actix_web::", "#[", 1);
                    for method in ["post", "put", "patch", "delete"] {
                        let open = format!("#[{method}(\"");
                        if let Some(rest) = line.strip_prefix(&open)
                            && let Some(end) = rest.find('"')
                        {
                            out.insert((method.to_uppercase(), rest[..end].to_string()));
                        }
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

/// A path with its `{parameters}` filled with a made-up id.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("00000000000000000000000000");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn every_state_changing_route_refuses_cross_site_requests() {
    let app = spawn_app().await;
    let routes = state_changing_routes();
    assert!(routes.len() > 100, "found {} routes", routes.len());

    // The API document lists no state-changing operation the scan missed.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if method != "get" {
                assert!(
                    routes.contains(&(method.to_uppercase(), path.clone())),
                    "{method} {path} is in the API document but not found in the source"
                );
            }
        }
    }

    let attempts: [(&str, &str); 4] = [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
        ("origin", "null"),
    ];
    let mut refused = 0;
    for (method, template) in &routes {
        let path = concrete(template);
        for (name, value) in attempts {
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(&path))
                .header(name, value)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = res.status();
            for h in SECURITY_HEADERS {
                assert!(res.headers().contains_key(h), "{method} {path}: no {h}");
            }
            assert!(!res.headers().contains_key("set-cookie"), "{method} {path}");
            assert_eq!(status, 403, "{method} {path} with {name}: {value}");
            let body = res.text().await.unwrap();
            if path.starts_with("/api/") {
                let v: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["error"]["code"], "http.cross_site", "{method} {path}");
            } else {
                assert!(body.contains("another website"), "{method} {path}");
            }
            refused += 1;
        }
    }
    println!(
        "{} state-changing routes, {refused} cross-site requests refused",
        routes.len()
    );
    app.shutdown().await;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    Organiser,
    OtherOrganiser,
    Musician,
    OtherMusician,
    AssignedJudge,
    PanelJudge,
    /// Invited to run the competition with its organiser (not its rules or results).
    CoOrganiser,
    /// Invited to moderate entries and votes.
    Moderator,
    /// A site admin.
    Admin,
}

const ROLES: [Role; 10] = [
    Role::Anonymous,
    Role::Organiser,
    Role::OtherOrganiser,
    Role::Musician,
    Role::OtherMusician,
    Role::AssignedJudge,
    Role::PanelJudge,
    Role::CoOrganiser,
    Role::Moderator,
    Role::Admin,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Judging round assigned and open, public vote open, entries submitted.
    Open,
    /// Judging round closed, the musician's entry withdrawn.
    Closed,
}

/// One action: method, path (with `{c}` competition, `{r}` round, `{v}` voting round,
/// `{e}` entry, `{a}` the assigned judge's alias), body, who may do it, and whether an
/// allowed request may be sent without spoiling the fixture (reads, idempotent writes).
struct Action {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [Role],
    replayable: bool,
}

fn actions() -> Vec<Action> {
    use Role::*;
    use serde_json::json;
    // Rules and results: the organiser who created it, and site admins.
    const OWNER: &[Role] = &[Organiser, Admin];
    // Running it: with its co-organisers.
    const ORG: &[Role] = &[Organiser, CoOrganiser, Admin];
    // Moderating entries and votes: with its moderators.
    const MOD: &[Role] = &[Organiser, CoOrganiser, Moderator, Admin];
    const OWNER_AND_ORG: &[Role] = &[Organiser, Musician, CoOrganiser, Moderator, Admin];
    const ADMIN: &[Role] = &[Admin];
    const ASSIGNED: &[Role] = &[AssignedJudge];
    const PANEL: &[Role] = &[AssignedJudge, PanelJudge];
    let get = |path, allowed| Action {
        method: "GET",
        path,
        body: None,
        allowed,
        replayable: true,
    };
    let write = |method, path, body: Value, allowed, replayable| Action {
        method,
        path,
        body: Some(body),
        allowed,
        replayable,
    };
    vec![
        get("/api/v1/competitions/{c}/panel", ORG),
        get("/api/v1/competitions/{c}/entries", MOD),
        get("/api/v1/competitions/{c}/entries.csv", MOD),
        get("/api/v1/competitions/{c}/audit", ORG),
        get("/api/v1/competitions/{c}/audit.csv", ORG),
        get("/api/v1/competitions/{c}/team", ORG),
        get("/api/v1/competitions/{c}/invitations", ORG),
        get("/api/v1/admin/accounts", ADMIN),
        get("/api/v1/admin/audit", ADMIN),
        get("/api/v1/admin/audit.csv", ADMIN),
        get("/api/v1/competitions/{c}/scores.csv", ORG),
        get("/api/v1/competitions/{c}/rounds", ORG),
        get("/api/v1/rounds/{r}", ORG),
        get("/api/v1/rounds/{r}/progress", ORG),
        get("/api/v1/rounds/{r}/ranking", ORG),
        get("/api/v1/voting-rounds/{v}/audit.csv", MOD),
        // Public once the round has closed; the round here stays open.
        get("/api/v1/voting-rounds/{v}/log.csv", MOD),
        get("/api/v1/voting-rounds/{v}/review", MOD),
        get("/api/v1/entries/{e}", OWNER_AND_ORG),
        get("/api/v1/entries/{e}/audio", OWNER_AND_ORG),
        get("/api/v1/judging/assignments/{a}", ASSIGNED),
        get("/api/v1/judging/assignments/{a}/audio", ASSIGNED),
        // Only when the round lets judges see each other's scores: refused here.
        get("/api/v1/judging/assignments/{a}/panel", &[]),
        get("/api/v1/judging/rounds/{r}/queue", PANEL),
        write(
            "PATCH",
            "/api/v1/competitions/{c}",
            json!({ "summary": "Songs for paintings" }),
            OWNER,
            true,
        ),
        write(
            "POST",
            "/api/v1/competitions/{c}/invitations",
            json!({ "email": "new-moderator@example.org", "role": "moderator" }),
            ORG,
            true,
        ),
        write(
            "POST",
            "/api/v1/admin/accounts/{m}/roles",
            json!({ "role": "organiser" }),
            ADMIN,
            true,
        ),
        write(
            "POST",
            "/api/v1/admin/accounts/{m}/block",
            json!({ "reason": "spam" }),
            ADMIN,
            false,
        ),
        write(
            "POST",
            "/api/v1/competitions/{c}/judges/invitations",
            json!({ "email": "new-judge@example.org" }),
            ORG,
            false,
        ),
        write(
            "POST",
            "/api/v1/competitions/{c}/rounds",
            json!({ "name": "Another", "rubric": [{ "name": "Craft", "weight": 100, "min": 1, "max": 10 }],
                    "judges_per_entry": 1, "advancement": { "kind": "top_n", "n": 1 } }),
            ORG,
            false,
        ),
        write(
            "POST",
            "/api/v1/competitions/{c}/unpublish",
            json!({}),
            OWNER,
            false,
        ),
        write(
            "POST",
            "/api/v1/competitions/{c}/results/publish",
            json!({}),
            OWNER,
            false,
        ),
        write(
            "PUT",
            "/api/v1/competitions/{c}/results",
            json!({ "jury_weight": 60, "public_weight": 40 }),
            OWNER,
            false,
        ),
        write("POST", "/api/v1/rounds/{r}/assign", json!({}), ORG, false),
        write("POST", "/api/v1/rounds/{r}/close", json!({}), ORG, false),
        write(
            "POST",
            "/api/v1/voting-rounds/{v}/recompute",
            json!({}),
            MOD,
            false,
        ),
        write(
            "POST",
            "/api/v1/voting-rounds/{v}/audit",
            json!({}),
            MOD,
            false,
        ),
        write(
            "POST",
            "/api/v1/entries/{e}/review",
            json!({ "action": "accept" }),
            MOD,
            false,
        ),
        write(
            "PATCH",
            "/api/v1/entries/{e}",
            json!({ "title": "Song 0 of authz" }),
            &[Musician],
            false,
        ),
        write(
            "POST",
            "/api/v1/entries/{e}/withdraw",
            json!({}),
            &[Musician],
            false,
        ),
        write(
            "PUT",
            "/api/v1/judging/assignments/{a}/score",
            json!({ "criteria": { "c1": 5, "c2": 5 } }),
            ASSIGNED,
            false,
        ),
        write(
            "POST",
            "/api/v1/judging/assignments/{a}/comments",
            json!({ "body": "Lovely strings" }),
            ASSIGNED,
            false,
        ),
        write(
            "POST",
            "/api/v1/judging/assignments/{a}/listened",
            json!({ "from_secs": 0, "to_secs": 1 }),
            ASSIGNED,
            false,
        ),
    ]
}

#[tokio::test]
async fn authorization_matrix_has_no_unexpected_allows() {
    use crate::judging::{queue, round, setup};
    use crate::submissions::musician;
    use crate::voting::voting_round;
    use serde_json::json;

    let app = spawn_app().await;
    let s = setup(&app, "authz", 2, 2).await;
    let r = round(&app, &s, json!({ "judges_per_entry": 1 })).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let res = crate::judging::post(
        &app,
        &s.call.org,
        &format!("/api/v1/rounds/{rid}/assign"),
        json!({}),
    )
    .await;
    assert!(res.status().is_success());
    let v = voting_round(&app, &s, json!({})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let alias = queue(&app, &s.judges[0], &rid).await[0]["alias"]
        .as_str()
        .unwrap()
        .to_string();
    let other_org = crate::invitations::organiser(&app, "authz-other-org@example.org")
        .await
        .1;
    let other_musician = musician(&app, "authz-other@example.org").await;
    // The team: a co-organiser and a moderator invited by email, and a site admin.
    let co_org = crate::team::member(&app, &s.call, "authz-co@example.org", "co_organiser").await;
    let moderator = crate::team::member(&app, &s.call, "authz-mod@example.org", "moderator").await;
    let (admin_id, admin) = crate::team::admin(&app, "authz-admin@example.org").await;
    let _ = admin_id;
    let token = |role: Role| -> Option<String> {
        match role {
            Role::Anonymous => None,
            Role::Organiser => Some(s.call.org.clone()),
            Role::OtherOrganiser => Some(other_org.clone()),
            Role::Musician => Some(s.entries[0].0.clone()),
            Role::OtherMusician => Some(other_musician.clone()),
            Role::AssignedJudge => Some(s.judges[0].token.clone()),
            Role::PanelJudge => Some(s.judges[1].token.clone()),
            Role::CoOrganiser => Some(co_org.clone()),
            Role::Moderator => Some(moderator.clone()),
            Role::Admin => Some(admin.clone()),
        }
    };
    // An account the admin actions act on (not one of the roles above).
    let target = crate::submissions::musician(&app, "authz-target@example.org").await;
    let target_id: Value = app
        .get_with("/api/v1/me", &target)
        .await
        .json()
        .await
        .unwrap();
    let target_id = target_id["id"].as_str().unwrap().to_string();
    let fill = |p: &str| {
        p.replace("{c}", &s.call.id)
            .replace("{r}", &rid)
            .replace("{v}", &vid)
            .replace("{e}", &s.entries[0].2)
            .replace("{a}", &alias)
            .replace("{m}", &target_id)
    };

    let mut cases = 0;
    let mut denied = 0;
    let mut unexpected = Vec::new();
    for phase in [Phase::Open, Phase::Closed] {
        if phase == Phase::Closed {
            let o = &s.call.org;
            for (path, who) in [
                (format!("/api/v1/rounds/{rid}/close"), o),
                (
                    format!("/api/v1/entries/{}/withdraw", s.entries[0].2),
                    &s.entries[0].0,
                ),
            ] {
                let res = crate::judging::post(&app, who, &path, json!({})).await;
                assert!(
                    res.status().is_success(),
                    "{path}: {}",
                    res.text().await.unwrap()
                );
            }
        }
        for action in actions() {
            let path = fill(action.path);
            for role in ROLES {
                let allowed = action.allowed.contains(&role);
                if allowed && !action.replayable {
                    continue;
                }
                let mut req = app
                    .client
                    .request(action.method.parse().unwrap(), app.url(&path));
                if let Some(t) = token(role) {
                    req = req.bearer_auth(t);
                }
                if let Some(b) = &action.body {
                    req = req.json(b);
                }
                let status = req.send().await.unwrap().status().as_u16();
                cases += 1;
                let ok = if allowed {
                    // Reads stay possible for those allowed (after the close too).
                    (200..300).contains(&status)
                } else {
                    denied += 1;
                    // 409: what the object's state refuses to everyone but its organiser
                    // (a voting log before the close).
                    matches!(status, 401 | 403 | 404 | 409)
                };
                if !ok {
                    unexpected.push(format!(
                        "{phase:?} {role:?} {} {path}: {status} (allowed: {allowed})",
                        action.method
                    ));
                }
            }
        }
    }
    println!("authorization matrix: {cases} cases, {denied} expected refusals");
    assert!(cases >= 300, "{cases} cases");
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    app.shutdown().await;
}

/// Send `head` and then `body_bytes` bytes at one a second on a raw connection; return
/// what the server answered and when the connection closed.
async fn trickle(addr: &str, head: String, body_bytes: usize) -> (String, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr.trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let started = std::time::Instant::now();
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..body_bytes {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if wr.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    // When the answer (or the close) came; the connection closes a little later.
    let mut answer = Vec::new();
    let mut first = None;
    let read = tokio::time::timeout(std::time::Duration::from_secs(40), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = rd.read(&mut buf).await.unwrap_or(0);
            first.get_or_insert_with(|| started.elapsed());
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    writer.abort();
    assert!(
        read.is_ok(),
        "the server still holds the connection after 40 s"
    );
    (String::from_utf8_lossy(&answer).to_string(), first.unwrap())
}

/// Slowloris: a body trickled at one byte a second is cut off with 408 once it falls
/// behind the pace (here: 100 bytes/s after 2 s), on uploads and on JSON alike; request
/// headers trickled the same way are cut off after the head timeout.
#[tokio::test]
async fn trickled_bodies_and_headers_are_cut_off() {
    use crate::helpers::{TestEnv, spawn_app_with};
    use crate::submissions::{entry_id, musician, open_call};
    let mut env = TestEnv::new();
    env.replace_in_config(
        "http_workers = 2\n",
        "http_workers = 2\nhead_timeout_secs = 2\nbody_grace_secs = 2\nbody_min_bytes_per_sec = 100\n",
    );
    let app = spawn_app_with(env, |b| b).await;
    let call = open_call(&app, "slowloris", serde_json::json!({})).await;
    let t = musician(&app, "slow@example.org").await;
    let id = entry_id(&app, &t, &call, "Slow song").await;
    let host = app.address.trim_start_matches("http://").to_string();

    let upload = format!(
        "PUT /api/v1/entries/{id}/audio?file_name=a.wav HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Bearer {t}\r\nIdempotency-Key: slow-1\r\nContent-Type: audio/wav\r\n\
         Content-Length: 100000\r\n\r\nRIFF"
    );
    let json = format!(
        "POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: 5000\r\n\r\n{{\"email\":"
    );
    for (what, head) in [("upload", upload), ("json", json)] {
        let (answer, took) = trickle(&app.address, head, 30).await;
        println!("trickled {what}: cut off after {took:?}");
        assert!(answer.starts_with("HTTP/1.1 408"), "{what}: {answer}");
        assert!(answer.contains("http.too_slow"), "{what}: {answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-security-policy"),
            "{answer}"
        );
        assert!(
            took < std::time::Duration::from_secs(6),
            "{what} took {took:?}"
        );
    }
    let (what, head) = (
        "headers",
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nX-Slow: "),
    );
    let (answer, took) = trickle(&app.address, head, 30).await;
    println!(
        "trickled {what}: cut off after {took:?} ({})",
        answer.lines().next().unwrap_or("closed")
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(
        took < std::time::Duration::from_secs(6),
        "{what} took {took:?}"
    );

    // The entry was left as it was.
    let (_, e) = crate::submissions::get_json(&app, &t, &format!("/api/v1/entries/{id}")).await;
    assert!(e["audio"].is_null());
    app.shutdown().await;
}
