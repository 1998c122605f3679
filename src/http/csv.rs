//! CSV downloads: cells a spreadsheet cannot run as formulas (OWASP CSV injection) and
//! the response that carries a CSV file (named, never cached).

use actix_web::HttpResponse;
use actix_web::http::header;

/// A spreadsheet cell that cannot run as a formula.
pub fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// A CSV file to download as `name`.
/// [`response`] for a use case's `(file name, body)`.
pub fn download((name, body): (String, String)) -> HttpResponse {
    response(&name, body)
}

pub fn response(name: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            super::files::disposition("attachment", name),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("River song"), "River song");
    }
}
