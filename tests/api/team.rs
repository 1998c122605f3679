//! A competition's team (co-organisers and moderators invited by email, pending
//! invitations resent and revoked), the site administration (roles, blocking) and the
//! audit log, read per competition and site-wide.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::invitations::organiser;
use crate::submissions::{Call, code, entry_id, musician, open_call};

async fn send(
    app: &TestApp,
    method: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// The link of the newest invitation emailed to `to`.
fn invitation_token(app: &TestApp, to: &str) -> String {
    let mail = app
        .emails()
        .into_iter()
        .rev()
        .find(|m| m.to == to && m.text.contains("/judge-invitation?token="))
        .unwrap_or_else(|| panic!("no invitation for {to}"));
    mail.text
        .split("/judge-invitation?token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

async fn invite(app: &TestApp, call: &Call, email: &str, role: &str) -> reqwest::Response {
    send(
        app,
        "POST",
        &call.org,
        &format!("/api/v1/competitions/{}/invitations", call.id),
        Some(json!({ "email": email, "role": role })),
    )
    .await
}

async fn accept(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/judge-invitations/accept",
        &json!({ "token": token, "stage_name": "Helper", "password": "bright lanterns 2026" }),
    )
    .await
}

/// Someone invited to `call`'s team as `role` who accepted; their access token.
pub async fn member(app: &TestApp, call: &Call, email: &str, role: &str) -> String {
    let res = invite(app, call, email, role).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    app.run_pending_jobs().await;
    let res = accept(app, &invitation_token(app, email)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A site admin (granted the way the first one is, from the command line's service).
pub async fn admin(app: &TestApp, email: &str) -> (String, String) {
    let (id, token) = organiser(app, email).await;
    cadenza::accounts::admin::grant(
        &app.state,
        None,
        &id,
        cadenza::accounts::admin::SiteRole::Admin,
    )
    .await
    .unwrap();
    (id, token)
}

#[tokio::test]
async fn a_moderator_moderates_entries_but_changes_neither_rules_nor_results() {
    let app = spawn_app().await;
    let call = open_call(&app, "team-mod", json!({})).await;
    let mia = musician(&app, "mia@example.org").await;
    let entry = entry_id(&app, &mia, &call, "River Song").await;
    let m = member(&app, &call, "mod@example.org", "moderator").await;
    let co = member(&app, &call, "co@example.org", "co_organiser").await;

    // Both see the competition among theirs.
    for t in [&m, &co] {
        let mine: Value = app
            .get_with("/api/v1/organiser/competitions", t)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(mine[0]["id"], call.id.as_str());
    }
    // The moderator lists and reviews entries…
    let list = app
        .get_with(&format!("/api/v1/competitions/{}/entries", call.id), &m)
        .await;
    assert_eq!(list.status(), 200);
    let res = send(
        &app,
        "POST",
        &m,
        &format!("/api/v1/entries/{entry}/review"),
        Some(json!({ "action": "request_changes", "reason": "Trim the silence" })),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // …but changes no rule, no round, no team, no result.
    let patch = json!({ "summary": "Changed" });
    let res = send(
        &app,
        "PATCH",
        &m,
        &format!("/api/v1/competitions/{}", call.id),
        Some(patch.clone()),
    )
    .await;
    assert_eq!(code(res).await, (403, "team.owner_only".to_string()));
    let res = send(
        &app,
        "GET",
        &m,
        &format!("/api/v1/competitions/{}/team", call.id),
        None,
    )
    .await;
    assert_eq!(res.status(), 404);
    // The co-organiser runs the team but cannot change the rules or the results either.
    let res = send(
        &app,
        "PATCH",
        &co,
        &format!("/api/v1/competitions/{}", call.id),
        Some(patch),
    )
    .await;
    assert_eq!(code(res).await, (403, "team.owner_only".to_string()));
    let res = send(
        &app,
        "PUT",
        &co,
        &format!("/api/v1/competitions/{}/results", call.id),
        Some(json!({ "jury_weight": 60, "public_weight": 40 })),
    )
    .await;
    assert_eq!(code(res).await, (403, "team.owner_only".to_string()));
    let team: Value = send(
        &app,
        "GET",
        &co,
        &format!("/api/v1/competitions/{}/team", call.id),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let roles: Vec<&str> = team
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "co_organiser", "moderator"], "{team}");

    // The organiser takes the moderator's role away: their access ends.
    let mod_id = team[2]["user_id"].as_str().unwrap();
    let res = send(
        &app,
        "DELETE",
        &call.org,
        &format!("/api/v1/competitions/{}/team/{mod_id}/moderator", call.id),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let list = app
        .get_with(&format!("/api/v1/competitions/{}/entries", call.id), &m)
        .await;
    assert_eq!(list.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn pending_invitations_are_listed_resent_and_revoked_and_a_revoked_link_is_refused() {
    let app = spawn_app().await;
    let call = open_call(&app, "team-inv", json!({})).await;
    let res = invite(&app, &call, "kai@example.org", "moderator").await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    app.run_pending_jobs().await;
    let old_link = invitation_token(&app, "kai@example.org");

    // Inviting again replaces the first invitation: one listed, the old link dead.
    let res = invite(&app, &call, "kai@example.org", "moderator").await;
    let second: Value = res.json().await.unwrap();
    assert_ne!(first["id"], second["id"]);
    app.run_pending_jobs().await;
    let path = format!("/api/v1/competitions/{}/invitations", call.id);
    let list: Value = send(&app, "GET", &call.org, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["email"], "kai@example.org");
    assert_eq!(list[0]["role"], "moderator");
    assert_eq!(
        code(accept(&app, &old_link).await).await,
        (422, "account.token_invalid".to_string())
    );

    // Sent again: a new link; the one before stops working.
    let before = invitation_token(&app, "kai@example.org");
    let res = send(
        &app,
        "POST",
        &call.org,
        &format!("{path}/{}/resend", second["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    app.run_pending_jobs().await;
    let resent = invitation_token(&app, "kai@example.org");
    assert_ne!(before, resent);
    assert_eq!(code(accept(&app, &before).await).await.0, 422);
    // The email is signed with the organiser's name.
    let mail = app
        .emails()
        .into_iter()
        .rev()
        .find(|m| m.to == "kai@example.org")
        .unwrap();
    assert!(
        mail.text.contains("moderator") || mail.text.contains("Moderator"),
        "{}",
        mail.text
    );

    // Revoked: gone from the list, and its link is refused.
    let res = send(
        &app,
        "DELETE",
        &call.org,
        &format!("{path}/{}", second["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let list: Value = send(&app, "GET", &call.org, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    assert_eq!(
        code(accept(&app, &resent).await).await,
        (422, "account.token_invalid".to_string())
    );
    // And a bad role is a clear refusal.
    assert_eq!(
        code(invite(&app, &call, "x@example.org", "boss").await).await,
        (422, "team.role_invalid".to_string())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn admins_grant_and_remove_roles_and_block_accounts() {
    let app = spawn_app().await;
    let (admin_id, admin) = admin(&app, "root@example.org").await;
    let lin = musician(&app, "lin@example.org").await;
    let me: Value = app.get_with("/api/v1/me", &lin).await.json().await.unwrap();
    let lin_id = me["id"].as_str().unwrap().to_string();

    // Find her, make her an organiser: she can create a competition.
    let page: Value = app
        .get_with("/api/v1/admin/accounts?q=LIN@", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["id"], lin_id.as_str());
    let res = send(
        &app,
        "POST",
        &admin,
        &format!("/api/v1/admin/accounts/{lin_id}/roles"),
        Some(json!({ "role": "organiser" })),
    )
    .await;
    let v: Value = res.json().await.unwrap();
    assert!(
        v["roles"].as_array().unwrap().contains(&json!("organiser")),
        "{v}"
    );
    let res = send(
        &app,
        "POST",
        &lin,
        "/api/v1/competitions",
        Some(json!({ "title": "Lin's call", "slug": "lins-call" })),
    )
    .await;
    assert_eq!(res.status(), 201);
    // Remove it again.
    let res = send(
        &app,
        "DELETE",
        &admin,
        &format!("/api/v1/admin/accounts/{lin_id}/roles/organiser"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    // The last admin stays one.
    let res = send(
        &app,
        "DELETE",
        &admin,
        &format!("/api/v1/admin/accounts/{admin_id}/roles/admin"),
        None,
    )
    .await;
    assert_eq!(code(res).await, (409, "admin.last_admin".to_string()));
    // Nobody else reaches the administration.
    assert_eq!(
        app.get_with("/api/v1/admin/accounts", &lin).await.status(),
        404
    );

    // Blocked: her sessions end and she cannot sign in again until unblocked.
    let res = send(
        &app,
        "POST",
        &admin,
        &format!("/api/v1/admin/accounts/{lin_id}/block"),
        Some(json!({ "reason": "" })),
    )
    .await;
    assert_eq!(code(res).await, (422, "admin.reason_required".to_string()));
    let res = send(
        &app,
        "POST",
        &admin,
        &format!("/api/v1/admin/accounts/{lin_id}/block"),
        Some(json!({ "reason": "Spam votes" })),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_with("/api/v1/me", &lin).await.status(), 401);
    let res = app.sign_in("lin@example.org", "violin sunrise 1987").await;
    assert_eq!(code(res).await, (403, "account.blocked".to_string()));
    let res = send(
        &app,
        "POST",
        &admin,
        &format!("/api/v1/admin/accounts/{admin_id}/block"),
        Some(json!({ "reason": "x" })),
    )
    .await;
    assert_eq!(code(res).await, (409, "admin.not_yourself".to_string()));
    let res = send(
        &app,
        "POST",
        &admin,
        &format!("/api/v1/admin/accounts/{lin_id}/unblock"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = app.sign_in("lin@example.org", "violin sunrise 1987").await;
    assert_eq!(res.status(), 200);

    // Every step is in the site's audit log, filterable and as CSV.
    let log: Value = app
        .get_with("/api/v1/admin/audit?action=admin.", &admin)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "admin.unblocked",
            "admin.blocked",
            "admin.role_removed",
            "admin.role_granted",
            "admin.role_granted"
        ],
        "{log}"
    );
    assert_eq!(log["items"][1]["details"]["reason"], "Spam votes");
    assert_eq!(log["items"][1]["actor"]["email"], "root@example.org");
    let csv = app
        .get_with("/api/v1/admin/audit.csv?action=admin.blocked", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("at,actor,actor_email,action,subject,details"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains("admin.blocked") && csv.contains("Spam votes"),
        "{csv}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_competitions_audit_log_is_read_by_its_organisers_filtered_by_who_what_and_when() {
    let app = spawn_app().await;
    let call = open_call(&app, "audit-log", json!({})).await;
    let other = open_call(&app, "audit-other", json!({})).await;
    let mia = musician(&app, "mia@example.org").await;
    let entry = entry_id(&app, &mia, &call, "River Song").await;
    let res = send(
        &app,
        "POST",
        &mia,
        &format!("/api/v1/entries/{entry}/withdraw"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let _ = invite(&app, &call, "judge@example.org", "judge").await;
    let _ = invite(&app, &other, "judge@example.org", "judge").await;

    let path = format!("/api/v1/competitions/{}/audit", call.id);
    let all: Value = app.get_with(&path, &call.org).await.json().await.unwrap();
    let actions: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"entry.withdrawn"), "{actions:?}");
    assert!(actions.contains(&"competition.created"), "{actions:?}");
    // Only this competition's: one invitation, not the other competition's.
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "team.invited" || **a == "judge.invited")
            .count(),
        1
    );
    // Organisers see names, not email addresses.
    let withdrawn = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "entry.withdrawn")
        .unwrap();
    assert!(withdrawn["actor"]["email"].is_null());
    assert!(withdrawn["actor"]["name"].is_string());

    // Who, what, when.
    let by_mia: Value = app
        .get_with(&format!("{path}?who=mia@"), &call.org)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        by_mia["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "entry.withdrawn"),
        "{by_mia}"
    );
    let entries: Value = app
        .get_with(&format!("{path}?action=entry."), &call.org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(entries["items"].as_array().unwrap().len(), 1);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
    let later: Value = app
        .get_with(&format!("{path}?from={tomorrow}"), &call.org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["items"], json!([]));
    let res = app
        .get_with(&format!("{path}?from=yesterday"), &call.org)
        .await;
    assert_eq!(code(res).await, (422, "audit.filter_invalid".to_string()));
    let csv = app
        .get_with(
            &format!("/api/v1/competitions/{}/audit.csv?action=entry.", call.id),
            &call.org,
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    // Not for musicians, nor for other organisers.
    assert_eq!(app.get_with(&path, &mia).await.status(), 404);
    assert_eq!(app.get_with(&path, &other.org).await.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn a_moderator_reviews_a_vote_on_its_page_but_sees_no_form_that_changes_it() {
    let app = spawn_app().await;
    let s = crate::judging::setup(&app, "team-vote", 2, 0).await;
    let round = crate::voting::voting_round(&app, &s, json!({})).await;
    let rid = round["id"].as_str().unwrap();
    let m = member(&app, &s.call, "mod-vote@example.org", "moderator").await;
    let co = member(&app, &s.call, "co-vote@example.org", "co_organiser").await;

    let page = app.get_with(&format!("/organise/voting/{rid}"), &m).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-review"), "the review section is there");
    assert!(html.contains("data-moderator-note"));
    for form in [
        "data-voting-settings",
        "data-line-up-form",
        "data-open-now",
        "data-close-now",
    ] {
        assert!(!html.contains(form), "a moderator's page has no {form}");
    }
    // The settings are refused to the moderator through the API as well…
    let res = send(
        &app,
        "PATCH",
        &m,
        &format!("/api/v1/voting-rounds/{rid}"),
        Some(json!({ "title": "Mine now" })),
    )
    .await;
    assert_eq!(res.status(), 404);
    // …and a co-organiser has them.
    let html = app
        .get_with(&format!("/organise/voting/{rid}"), &co)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-voting-settings"));
    app.shutdown().await;
}
