use cadenza::config::DatabaseSettings;
use cadenza::db::{Db, describe_schema};
use secrecy::SecretString;

use crate::helpers::{PgDatabase, require_env};

fn describe(url: &str) -> Vec<(String, String, bool, String)> {
    let settings = DatabaseSettings {
        url: SecretString::from(url.to_string()),
        ..DatabaseSettings::default()
    };
    let db = Db::connect(&settings).unwrap();
    db.migrate().unwrap();
    let mut conn = db.pool().get().unwrap();
    describe_schema(&mut conn).unwrap()
}

#[test]
fn both_backends_end_with_the_same_tables_and_columns() {
    if require_env("CADENZA_TEST_PG_URL").is_none() {
        return;
    }
    let pg = PgDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("parity.db").display());
    let on_pg = describe(&pg.url);
    let on_sqlite = describe(&sqlite_url);
    assert!(
        on_pg
            .iter()
            .any(|(t, c, _, _)| t == "jobs" && c == "locked_until")
    );
    let only_pg: Vec<_> = on_pg.iter().filter(|c| !on_sqlite.contains(c)).collect();
    let only_sqlite: Vec<_> = on_sqlite.iter().filter(|c| !on_pg.contains(c)).collect();
    assert!(
        only_pg.is_empty() && only_sqlite.is_empty(),
        "only on PostgreSQL: {only_pg:#?}\nonly on SQLite: {only_sqlite:#?}"
    );
}

#[test]
fn migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("twice.db").display());
    let first = describe(&url);
    let second = describe(&url);
    assert_eq!(first, second);
}
