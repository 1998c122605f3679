use std::process::Command;

fn cadenza(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cadenza"));
    c.current_dir(dir).env_remove("CADENZA_CONFIG");
    c
}

#[test]
fn production_refuses_to_start_with_unsafe_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = cadenza(dir.path())
        .env("CADENZA__PROFILE", "production")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("production profile refuses to start"), "{err}");
    assert!(err.contains("mail.backend"), "{err}");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[test]
fn unknown_configuration_is_an_error_that_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cadenza.toml"), "[server]\nprot = 80\n").unwrap();
    let out = cadenza(dir.path()).arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("prot"));
}

#[test]
fn migrate_creates_the_embedded_defaults_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = cadenza(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date (sqlite)"));
    for p in ["data/cadenza.db", "data/objects", "data/outbox"] {
        assert!(dir.path().join(p).exists(), "{p} missing");
    }
}

/// The restore drill on the leg's database and store: a deployment with entries, audio,
/// votes and a leaderboard is backed up, restored into scratch targets, and its census
/// (rows per table, objects, tally hashes) matches. A census that differs fails the check.
#[tokio::test]
async fn the_restore_drill_restores_counts_objects_and_tally_hashes() {
    use crate::helpers::{TestEnv, spawn_app_with};
    use crate::judging::setup;
    use crate::voting::{vote, voter, voting_round};
    let env = TestEnv::with_extra("[voting]\npow_cost = 10\npow_max_counter = 4\n");
    let app = spawn_app_with(env, |b| b).await;
    let s = setup(&app, "drill", 2, 0).await;
    let r = voting_round(&app, &s, serde_json::json!({})).await;
    let rid = r["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        let t = voter(&app, &format!("drill-voter-{i}@example.org")).await;
        let res = vote(&app, &t, &rid, &s.entries[i % 2].2).await;
        assert_eq!(res.status(), 201);
    }
    app.run_pending_jobs().await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/restore-drill.sh");
    let config = app.env.config_path.clone();
    let out = tokio::process::Command::new(&script)
        .args(["--config"])
        .arg(&config)
        .env("CADENZA_BIN", env!("CARGO_BIN_EXE_cadenza"))
        .env_remove("CADENZA_CONFIG")
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("restore drill passed"), "{text}");
    assert!(text.contains("1 tally hash(es)"), "{text}");

    // The check can fail: a census that expects one vote more does not match the copy.
    let out = Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("--config")
        .arg(&config)
        .args(["admin", "census", "--json"])
        .output()
        .unwrap();
    let mut census: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(census["tables"]["votes"], 3);
    assert!(census["objects"].as_u64().unwrap() >= 2, "{census}");
    census["tables"]["votes"] = 4.into();
    let tampered = app.env.dir.path().join("tampered.json");
    std::fs::write(&tampered, census.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cadenza"))
        .arg("--config")
        .arg(&config)
        .args(["admin", "census", "--compare"])
        .arg(&tampered)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("table votes: expected 4 rows, found 3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.shutdown().await;
}
