//! What the features above accounts keep about a person. Accounts never names them: the
//! composition root (`startup`) lists them as a [`Holders`] part of the state, and
//! accounts asks each one, in that order, when a person exports their data, erases their
//! account, or loses their guardian's consent — inside the same transaction.

use chrono::NaiveDateTime;

use super::model::UserRow;
use crate::db::DbConnection;
use crate::error::AppError;

/// One feature's part of a person's data.
pub trait PersonalData: Send + Sync + 'static {
    /// Add this feature's keys to the top level of the data export, and return the
    /// stored files that go with them (archive path, object key).
    fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError>;

    /// The account is being erased: remove or anonymise what this feature holds.
    /// Returns the object keys to delete once the transaction commits.
    fn erase(
        &self,
        _conn: &mut DbConnection,
        _user_id: &str,
        _now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        Ok(Vec::new())
    }

    /// A guardian withdrew consent for `user`: stop what needed it. Returns the ids of
    /// the entries that stopped (each gets an audit line).
    fn consent_withdrawn(
        &self,
        _conn: &mut DbConnection,
        _user: &UserRow,
        _default_consent_age: u32,
        _now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        Ok(Vec::new())
    }
}

/// Every feature that holds personal data, in the order they are asked (a feature that
/// reads another's rows to erase its own comes before it).
pub struct Holders(pub Vec<Box<dyn PersonalData>>);

impl Holders {
    pub fn export(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, String)>, AppError> {
        let mut files = Vec::new();
        for h in &self.0 {
            files.extend(h.export(conn, user_id, out)?);
        }
        Ok(files)
    }

    pub fn erase(
        &self,
        conn: &mut DbConnection,
        user_id: &str,
        now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        let mut keys = Vec::new();
        for h in &self.0 {
            keys.extend(h.erase(conn, user_id, now)?);
        }
        Ok(keys)
    }

    pub fn consent_withdrawn(
        &self,
        conn: &mut DbConnection,
        user: &UserRow,
        default_consent_age: u32,
        now: NaiveDateTime,
    ) -> Result<Vec<String>, AppError> {
        let mut ids = Vec::new();
        for h in &self.0 {
            ids.extend(h.consent_withdrawn(conn, user, default_consent_age, now)?);
        }
        Ok(ids)
    }
}
