//! Mail: one [`Mailer`] over lettre with three backends chosen by config — SMTP (TLS,
//! STARTTLS or plain for local sinks), an outbox folder of `.eml` files (the embedded
//! default) and memory (tests). Messages are rendered from templates in the
//! recipient's language, as HTML and plain text.
//!
//! Features do not call [`Mailer::send`] directly: they enqueue a `mail.send` job in
//! the same transaction as the change that causes the message (see [`enqueue`]), so a
//! mail server outage delays mail instead of losing it.

pub mod templates;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::{MailBackend, MailSettings, SmtpSecurity};

pub use templates::{MailAction, MailContent};

/// A rendered message, ready to send. Also the payload of a `mail.send` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Stable id so a retried delivery can be recognised by the receiving side.
    pub message_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
    /// Delivery failed; worth retrying later.
    #[error("delivery failed: {0}")]
    Delivery(String),
    #[error("mail configuration: {0}")]
    Config(String),
}

#[derive(Clone)]
enum Backend {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
    Memory(Arc<Mutex<Vec<Email>>>),
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    backend: Backend,
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> Result<Mailer, MailError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| MailError::Config(format!("mail.from: {e}")))?;
        let backend = match settings.backend {
            MailBackend::Memory => Backend::Memory(Arc::default()),
            MailBackend::Outbox => {
                std::fs::create_dir_all(&settings.outbox_dir).map_err(|e| {
                    MailError::Config(format!(
                        "cannot create {}: {e}",
                        settings.outbox_dir.display()
                    ))
                })?;
                Backend::Outbox(AsyncFileTransport::new(&settings.outbox_dir))
            }
            MailBackend::Smtp => Backend::Smtp(smtp_transport(settings)?),
        };
        Ok(Mailer { from, backend })
    }

    /// A memory mailer, for tests.
    pub fn memory(from: &str) -> Mailer {
        Mailer {
            from: from.parse().unwrap_or_else(|_| {
                "Cadenza <no-reply@localhost>"
                    .parse()
                    .expect("literal address")
            }),
            backend: Backend::Memory(Arc::default()),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Smtp(_) => "smtp",
            Backend::Outbox(_) => "outbox",
            Backend::Memory(_) => "memory",
        }
    }

    /// Messages the memory backend captured (empty for other backends).
    pub fn captured(&self) -> Vec<Email> {
        match &self.backend {
            Backend::Memory(m) => m.lock().map(|v| v.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    pub fn build_message(&self, email: &Email) -> Result<Message, MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| MailError::Address(format!("{}: {e}", email.to)))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .header(header::MIME_VERSION_1_0);
        if let Some(id) = &email.message_id {
            builder = builder.message_id(Some(id.clone()));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| MailError::Build(e.to_string()))
    }

    #[tracing::instrument(skip(self, email), fields(backend = self.backend_name()))]
    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = self.build_message(email)?;
        match &self.backend {
            Backend::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Delivery(e.to_string())),
            Backend::Outbox(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Delivery(e.to_string())),
            Backend::Memory(m) => {
                m.lock()
                    .map_err(|_| MailError::Delivery("memory mailer poisoned".into()))?
                    .push(email.clone());
                Ok(())
            }
        }
    }

    /// Check that the mail server answers (SMTP only; other backends always can).
    pub async fn check(&self) -> Result<(), MailError> {
        match &self.backend {
            Backend::Smtp(t) => match t.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(MailError::Delivery(
                    "SMTP server refused the connection".into(),
                )),
                Err(e) => Err(MailError::Delivery(e.to_string())),
            },
            _ => Ok(()),
        }
    }
}

fn smtp_transport(
    settings: &MailSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let s = &settings.smtp;
    let tls_params = || -> Result<TlsParameters, MailError> {
        let mut b = TlsParameters::builder(s.host.clone());
        if let Some(ca) = &s.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                MailError::Config(format!("mail.smtp.ca_file {}: {e}", ca.display()))
            })?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| MailError::Config(format!("mail.smtp.ca_file: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| MailError::Config(e.to_string()))
    };
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).port(s.port);
    let builder = match s.security {
        SmtpSecurity::Plain => builder.tls(Tls::None),
        SmtpSecurity::Starttls => builder.tls(Tls::Required(tls_params()?)),
        SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls_params()?)),
    };
    let builder = if s.username.is_empty() {
        builder
    } else {
        builder.credentials(Credentials::new(
            s.username.clone(),
            s.password.expose_secret().to_string(),
        ))
    };
    Ok(builder
        .timeout(Some(Duration::from_secs(s.timeout_secs.max(1))))
        .build())
}

/// The job kind that delivers one [`Email`].
pub const SEND_JOB: &str = "mail.send";

/// Queue `email` for delivery in the caller's transaction.
pub fn enqueue(
    conn: &mut crate::db::DbConnection,
    email: &Email,
    now: chrono::NaiveDateTime,
) -> Result<i64, crate::error::AppError> {
    let payload = serde_json::to_value(email).map_err(crate::error::AppError::internal)?;
    crate::db::queue::enqueue(conn, SEND_JOB, &payload, now, None)
}
