//! The SMTP mailer against a real SMTP server (aiosmtpd, started by the test script)
//! that writes what it receives to a maildir, which this test reads back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cadenza::config::{MailBackend, MailSettings, SmtpSecurity, SmtpSettings};
use cadenza::i18n::Locale;
use cadenza::mail::{MailAction, MailContent, Mailer};

use crate::helpers::require_env;

fn smtp_mailer() -> Option<(Mailer, PathBuf)> {
    let host = require_env("CADENZA_TEST_SMTP_HOST")?;
    let port: u16 = require_env("CADENZA_TEST_SMTP_PORT")?
        .parse()
        .expect("port number");
    let maildir = PathBuf::from(require_env("CADENZA_TEST_SMTP_MAILDIR")?);
    let settings = MailSettings {
        backend: MailBackend::Smtp,
        from: "Cadenza <no-reply@cadenza.test>".into(),
        smtp: SmtpSettings {
            host,
            port,
            security: SmtpSecurity::Plain,
            ..SmtpSettings::default()
        },
        ..MailSettings::default()
    };
    Some((
        Mailer::from_settings(&settings).expect("SMTP mailer"),
        maildir,
    ))
}

/// The delivered message whose raw text contains `needle`, parsed.
fn wait_for_message(maildir: &PathBuf, needle: &str) -> Vec<u8> {
    let start = Instant::now();
    loop {
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
                for e in entries.flatten() {
                    let raw = std::fs::read(e.path()).unwrap_or_default();
                    if String::from_utf8_lossy(&raw).contains(needle) {
                        return raw;
                    }
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "message {needle} not delivered to {maildir:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn parts(mail: &mailparse::ParsedMail) -> Vec<(String, String)> {
    if mail.subparts.is_empty() {
        vec![(
            mail.ctype.mimetype.clone(),
            mail.get_body().unwrap_or_default(),
        )]
    } else {
        mail.subparts.iter().flat_map(parts).collect()
    }
}

#[tokio::test]
async fn smtp_delivers_html_and_text_in_both_languages() {
    let Some((mailer, maildir)) = smtp_mailer() else {
        return;
    };
    mailer.check().await.expect("the SMTP server answers");
    for locale in Locale::ALL {
        let marker = uuid::Uuid::new_v4().simple().to_string();
        let content = MailContent {
            locale,
            to: format!("musician+{marker}@example.org"),
            subject: locale.t("mail.organiser_invite_subject").to_string(),
            paragraphs: vec![locale.tf(
                "mail.organiser_invite_body",
                &[
                    ("email", "musician@example.org"),
                    ("site", "https://cadenza.test"),
                    ("hours", "72"),
                ],
            )],
            action: Some(MailAction {
                label: locale.t("mail.organiser_invite_button").to_string(),
                url: format!("https://cadenza.test/account/set-password?token={marker}"),
            }),
        };
        let email = content.render().unwrap();
        mailer.send(&email).await.expect("delivered");

        let raw = wait_for_message(&maildir, &marker);
        let parsed = mailparse::parse_mail(&raw).unwrap();
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        assert_eq!(header("Subject"), locale.t("mail.organiser_invite_subject"));
        assert!(header("To").contains(&marker));
        assert!(header("From").contains("no-reply@cadenza.test"));
        assert!(header("Message-ID").contains("@cadenza"));
        assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
        let parts = parts(&parsed);
        let text = parts
            .iter()
            .find(|(t, _)| t == "text/plain")
            .expect("text part");
        let html = parts
            .iter()
            .find(|(t, _)| t == "text/html")
            .expect("html part");
        assert!(text.1.contains(locale.t("mail.greeting")));
        assert!(text.1.contains(&format!("token={marker}")));
        assert!(html.1.contains(&format!("lang=\"{}\"", locale.tag())));
        assert!(html.1.contains(locale.t("mail.organiser_invite_button")));
    }
}

#[tokio::test]
async fn smtp_server_down_is_a_retryable_delivery_error() {
    let Some(_) = smtp_mailer() else { return };
    let settings = MailSettings {
        backend: MailBackend::Smtp,
        smtp: SmtpSettings {
            host: "127.0.0.1".into(),
            port: 9,
            security: SmtpSecurity::Plain,
            timeout_secs: 2,
            ..SmtpSettings::default()
        },
        ..MailSettings::default()
    };
    let mailer = Mailer::from_settings(&settings).unwrap();
    let email = MailContent {
        locale: Locale::En,
        to: "a@example.org".into(),
        subject: "x".into(),
        paragraphs: vec![],
        action: None,
    }
    .render()
    .unwrap();
    assert!(matches!(
        mailer.send(&email).await,
        Err(cadenza::mail::MailError::Delivery(_))
    ));
}

/// A private SMTP sink (aiosmtpd writing a maildir) on `port`, killed when dropped.
fn start_sink(maildir: &std::path::Path, port: u16) -> Option<crate::contract::process::Killed> {
    let python = require_env("CADENZA_TEST_SMTP_PYTHON")?;
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let child = std::process::Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "aiosmtpd starts");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(crate::contract::process::Killed(child))
}

fn delivered_to(maildir: &std::path::Path, to: &str) -> usize {
    ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(maildir.join(sub)).ok())
        .flatten()
        .flatten()
        .filter(|e| {
            String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).contains(to)
        })
        .count()
}

/// Fault: the SMTP server is down when a musician registers. Registration still succeeds;
/// the verification email waits in the job queue and arrives exactly once after the
/// server is back.
#[tokio::test]
async fn smtp_stopped_registration_succeeds_and_the_email_arrives_once_it_returns() {
    use crate::helpers::{TestEnv, spawn_app_with};
    if require_env("CADENZA_TEST_SMTP_PYTHON").is_none() {
        return;
    }
    let maildir = tempfile::tempdir().unwrap();
    let port = crate::contract::process::free_port();
    let mut env = TestEnv::with_extra(&format!(
        "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\ntimeout_secs = 2\n"
    ));
    env.replace_in_config("backend = \"memory\"", "backend = \"smtp\"");
    env.replace_in_config("backoff_base_secs = 0", "backoff_base_secs = 1");
    let app = spawn_app_with(env, |b| b).await;

    // Down: registration answers at once; the email's job fails and waits to retry.
    let to = format!("late-mail-{}@example.org", uuid::Uuid::new_v4().simple());
    let res = app.register(&to, "2001-05-04", None).await;
    assert_eq!(res.status(), 202);
    assert!(app.run_pending_jobs().await >= 1);
    assert_eq!(delivered_to(maildir.path(), &to), 0);

    // Back: the retry delivers it, once.
    let _sink = start_sink(maildir.path(), port).expect("aiosmtpd starts");
    let start = Instant::now();
    while delivered_to(maildir.path(), &to) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the email arrives after the server returns"
        );
        app.run_pending_jobs().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "SMTP back: the email arrived {:?} after the sink started",
        start.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.run_pending_jobs().await;
    assert_eq!(delivered_to(maildir.path(), &to), 1, "exactly once");
}
