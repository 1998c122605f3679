//! Sections that the features above submissions add to an entry's page — the outcome
//! once results are out (results), the remix panel (remix) — so this feature never
//! names them. The composition root lists them as an [`EntrySections`] part of the
//! state; each renders its own HTML (its own template) or nothing.

use futures_util::future::LocalBoxFuture;

use super::model::EntryView;
use crate::accounts::model::AuthUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::PageCtx;

/// Where on the entry's page a section goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Under the entry's title and status, before the report.
    AfterHeader,
    /// At the end of the page.
    End,
}

/// What an entry's page shows, for a section to render.
pub struct EntryPageView<'a> {
    pub state: &'a AppState,
    pub ctx: &'a PageCtx,
    pub who: &'a AuthUser,
    pub entry: &'a EntryView,
    /// The reader moderates the competition (not the entry's musician).
    pub organiser: bool,
}

pub trait EntrySection: Send + Sync + 'static {
    fn place(&self) -> Place;
    /// The section's HTML (safe to embed), or "" for none.
    fn render<'a>(
        &'a self,
        page: EntryPageView<'a>,
    ) -> LocalBoxFuture<'a, Result<String, AppError>>;
}

/// Every section, in page order within each place.
pub struct EntrySections(pub Vec<Box<dyn EntrySection>>);

impl EntrySections {
    /// The HTML of every section at `place`.
    pub async fn render(
        &self,
        place: Place,
        state: &AppState,
        ctx: &PageCtx,
        who: &AuthUser,
        entry: &EntryView,
        organiser: bool,
    ) -> Result<String, AppError> {
        let mut html = String::new();
        for s in self.0.iter().filter(|s| s.place() == place) {
            html.push_str(
                &s.render(EntryPageView {
                    state,
                    ctx,
                    who,
                    entry,
                    organiser,
                })
                .await?,
            );
        }
        Ok(html)
    }
}
