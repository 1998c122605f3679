//! Inputs parsed into types at the edge; past it, values are trusted.

use crate::error::AppError;

/// A normalised email address (trimmed, lower-case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<EmailAddress, AppError> {
        let s = raw.trim().to_lowercase();
        let bad = || AppError::invalid("account.email_invalid");
        if s.len() > 254
            || s.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
            })
        {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(bad());
        }
        // Only addresses the mailer can send to: an account whose confirmation email
        // can never leave would never be confirmed (`🎵@example.org`).
        if s.parse::<lettre::Address>().is_err() {
            return Err(bad());
        }
        Ok(EmailAddress(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use crate::auth::password::Password;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Ana@Example.ORG ").unwrap().as_str(),
            "ana@example.org"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "ana@example",
            "a b@example.org",
            "ana@exa..mple.org",
            "ana@-x.org",
            "<a@b.org>",
            "a@b.\norg",
            "a@b@c.org",
            "🎵@example.org",
            "l\u{202e}in@example.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.org", "a".repeat(65))).is_err());
        for good in [
            "lin.yue+vote@example.org",
            "o'brien@museum.ie",
            "a_b@sub.example.cn",
        ] {
            assert!(EmailAddress::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn password_lengths() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(256)).is_ok());
        assert!(Password::parse(&"é".repeat(257)).is_err());
        assert!(Password::parse("密码密码密码密码").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("secret-secret").unwrap()),
            "Password(…)"
        );
    }
}

/// Whether `password` is, as a whole, one of the most common passwords (zxcvbn's
/// password frequency list, top 3,000, including capitalised and l33t variants).
pub fn is_common_password(password: &str) -> bool {
    use zxcvbn::matching::patterns::MatchPattern;
    let entropy = zxcvbn::zxcvbn(password, &[]);
    let n = password.chars().count();
    entropy.sequence().iter().any(|m| {
        m.i == 0
            && m.j + 1 == n
            // The dictionary type is not nameable outside the crate; its Debug name is stable.
            && matches!(&m.pattern, MatchPattern::Dictionary(d)
                if format!("{:?}", d.dictionary_name) == "Passwords" && d.rank <= 3000)
    })
}

impl Password {
    /// A new password: the length rules, and not one of the most common passwords.
    pub fn parse_new(raw: &str) -> Result<Password, AppError> {
        let p = Password::parse(raw)?;
        if is_common_password(raw) {
            return Err(AppError::invalid("account.password_common"));
        }
        Ok(p)
    }
}

/// The name shown to everyone: 1 to 40 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageName(String);

impl StageName {
    pub fn parse(raw: &str) -> Result<StageName, AppError> {
        let s = raw.trim();
        let n = s.chars().count();
        if n == 0 || n > 40 || s.chars().any(|c| c.is_control() || matches!(c, '<' | '>')) {
            return Err(AppError::invalid_with(
                "account.stage_name_invalid",
                vec![("max", "40".into())],
            ));
        }
        Ok(StageName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date of birth in the past, at most 120 years ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOfBirth(pub chrono::NaiveDate);

impl DateOfBirth {
    pub fn parse(raw: &str, today: chrono::NaiveDate) -> Result<DateOfBirth, AppError> {
        let d = chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("account.birth_date_invalid"))?;
        if d > today || today.years_since(d).is_none_or(|y| y > 120) {
            return Err(AppError::invalid("account.birth_date_invalid"));
        }
        Ok(DateOfBirth(d))
    }

    pub fn age_on(&self, today: chrono::NaiveDate) -> u32 {
        today.years_since(self.0).unwrap_or(0)
    }
}

/// Whether `user` may enter a competition whose age of digital consent is
/// `consent_age`: the age must be known, and under that age a guardian must have agreed.
/// Each refusal says what to do (on the account page).
pub fn consent_check(
    user: &super::model::UserRow,
    consent_age: u32,
    today: chrono::NaiveDate,
) -> Result<(), AppError> {
    use actix_web::http::StatusCode;
    let Some(dob) = user
        .date_of_birth
        .as_deref()
        .and_then(|d| DateOfBirth::parse(d, today).ok())
    else {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "entry.birth_date_needed",
        ));
    };
    if dob.age_on(today) >= consent_age || user.guardian_consent_at.is_some() {
        return Ok(());
    }
    if user.guardian_email.is_none() {
        return Err(AppError::refused_with(
            StatusCode::FORBIDDEN,
            "entry.guardian_needed",
            vec![("age", consent_age.to_string())],
        ));
    }
    Err(AppError::refused(
        StatusCode::FORBIDDEN,
        "entry.guardian_consent_needed",
    ))
}

/// An ISO 3166-1 alpha-2 country code, upper-case.
pub fn parse_country(raw: &str) -> Result<String, AppError> {
    let s = raw.trim().to_ascii_uppercase();
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(s)
    } else {
        Err(AppError::invalid("account.country_invalid"))
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn common_passwords_are_refused_and_good_ones_pass() {
        for p in [
            "password",
            "Password1",
            "iloveyou",
            "qwerty123",
            "12345678",
            "football",
        ] {
            assert!(is_common_password(p), "{p}");
            assert!(Password::parse_new(p).is_err(), "{p}");
        }
        for p in [
            "violin sunrise 1987",
            "my cat plays cello",
            "紫禁城的夜晚很安静",
        ] {
            assert!(!is_common_password(p), "{p}");
            assert!(Password::parse_new(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn birth_dates_and_ages() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let d = DateOfBirth::parse("2013-11-24", today).unwrap();
        assert_eq!(d.age_on(today), 12);
        assert_eq!(
            DateOfBirth::parse("2012-11-23", today)
                .unwrap()
                .age_on(today),
            14
        );
        for bad in ["2030-01-01", "1890-01-01", "23/11/2010", "2010-02-30", ""] {
            assert!(DateOfBirth::parse(bad, today).is_err(), "{bad}");
        }
    }

    #[test]
    fn stage_names_and_countries() {
        assert_eq!(StageName::parse("  Lin Yue ").unwrap().as_str(), "Lin Yue");
        assert!(StageName::parse("").is_err());
        assert!(StageName::parse(&"x".repeat(41)).is_err());
        assert!(StageName::parse("<script>").is_err());
        assert_eq!(parse_country("cn").unwrap(), "CN");
        assert!(parse_country("China").is_err());
    }
}
