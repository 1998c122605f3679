//! Message templates: every email is a subject, a few paragraphs and an optional
//! action link, rendered in the recipient's language as HTML and plain text from
//! `web/templates/mail/message.{html,txt}`.

use askama::Template;

use super::Email;
use crate::i18n::Locale;

#[derive(Debug, Clone)]
pub struct MailAction {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct MailContent {
    pub locale: Locale,
    pub to: String,
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub action: Option<MailAction>,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlMessage<'a> {
    l: Locale,
    subject: &'a str,
    paragraphs: &'a [String],
    action: Option<&'a MailAction>,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextMessage<'a> {
    l: Locale,
    paragraphs: &'a [String],
    action: Option<&'a MailAction>,
}

impl MailContent {
    pub fn render(&self) -> Result<Email, askama::Error> {
        let html = HtmlMessage {
            l: self.locale,
            subject: &self.subject,
            paragraphs: &self.paragraphs,
            action: self.action.as_ref(),
        }
        .render()?;
        let text = TextMessage {
            l: self.locale,
            paragraphs: &self.paragraphs,
            action: self.action.as_ref(),
        }
        .render()?;
        Ok(Email {
            to: self.to.clone(),
            subject: self.subject.clone(),
            text,
            html,
            message_id: Some(format!("<{}@cadenza>", uuid::Uuid::now_v7())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(locale: Locale) -> MailContent {
        MailContent {
            locale,
            to: "a@example.org".into(),
            subject: "Subject <b>".into(),
            paragraphs: vec!["First <script>alert(1)</script>".into(), "Second".into()],
            action: Some(MailAction {
                label: "Go".into(),
                url: "https://example.org/x?token=a&b=c".into(),
            }),
        }
    }

    #[test]
    fn renders_html_and_text_in_both_languages() {
        for l in Locale::ALL {
            let email = sample(l).render().unwrap();
            assert!(email.html.contains(l.t("mail.greeting")));
            assert!(email.text.contains(l.t("mail.greeting")));
            assert!(email.text.contains("https://example.org/x?token=a&b=c"));
            assert!(email.html.contains("https://example.org/x?token=a&#38;b=c"));
            assert!(email.html.contains(&format!("lang=\"{}\"", l.tag())));
        }
    }

    #[test]
    fn html_is_escaped() {
        let email = sample(Locale::En).render().unwrap();
        assert!(!email.html.contains("<script>"));
        assert!(email.html.contains("&#60;script&#62;"));
        assert!(
            email.text.contains("<script>"),
            "plain text is not HTML-escaped"
        );
    }
}
