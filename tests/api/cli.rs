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
