//! The outcome section of a musician's entry page, once the competition's results are
//! public or a round's feedback is released: the final place, each round's placement
//! and whether the entry went on, and the judges' feedback. A section of
//! `submissions::sections`, installed by the composition root.

use askama::Template;
use futures_util::future::LocalBoxFuture;

use super::model::EntryOutcome;
use crate::error::AppError;
use crate::submissions::service::{EntryPageView, EntrySection, Place};
use crate::web::PageCtx;

#[derive(Template)]
#[template(path = "results/entry_outcome.html")]
struct OutcomePanel<'a> {
    ctx: &'a PageCtx,
    o: EntryOutcome,
    outcome_lines: Vec<String>,
}

/// Each round's line: "Round — place p of n · went on".
fn lines(ctx: &PageCtx, o: &EntryOutcome) -> Vec<String> {
    o.rounds
        .iter()
        .map(|r| {
            let mut line = match r.placement {
                Some(p) => ctx.l.tf(
                    "judging.placement",
                    &[
                        ("round", &r.round),
                        ("place", &p.to_string()),
                        ("of", &r.of.to_string()),
                    ],
                ),
                None => r.round.clone(),
            };
            if let Some(a) = r.advanced {
                line.push_str(" · ");
                line.push_str(ctx.t(if a {
                    "judging.advanced_yes"
                } else {
                    "judging.advanced_no"
                }));
            }
            line
        })
        .collect()
}

/// The outcome on the entry's page (for its musician only).
pub struct OutcomeSection;

impl EntrySection for OutcomeSection {
    fn place(&self) -> Place {
        Place::AfterHeader
    }

    fn render<'a>(
        &'a self,
        page: EntryPageView<'a>,
    ) -> LocalBoxFuture<'a, Result<String, AppError>> {
        Box::pin(async move {
            if page.organiser {
                return Ok(String::new());
            }
            let (uid, eid) = (page.who.user.id.clone(), page.entry.id.clone());
            let outcome = page
                .state
                .db
                .run(move |conn| super::service::outcomes_of(conn, &uid, Some(&eid)))
                .await?
                .into_iter()
                .next();
            let Some(o) = outcome else {
                return Ok(String::new());
            };
            let outcome_lines = lines(page.ctx, &o);
            Ok(OutcomePanel {
                ctx: page.ctx,
                o,
                outcome_lines,
            }
            .render()?)
        })
    }
}
