//! The operator page at `GET /`: one HTML file, its script and its style sheet, compiled into the binary
//! (`page/`), so the page needs no build step and no files at run time. The script fills the page from
//! `/overview` and `/requests`; the request lookup is a plain form to `/lookup`, which works without it.
//!
//! Every response carries a Content-Security-Policy that allows only this origin's own script and style, so
//! nothing a sender put into a requestId or an error reason can run as script even if it reached the page
//! unescaped (the script only ever sets `textContent`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// The page's policy: its own script and style, data: images (the empty favicon), fetches to itself.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A page response with the headers every page part carries.
pub fn page_response(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub async fn index() -> Response {
    page_response("text/html; charset=utf-8", INDEX_HTML)
}

pub async fn script() -> Response {
    page_response("text/javascript; charset=utf-8", APP_JS)
}

pub async fn style() -> Response {
    page_response("text/css; charset=utf-8", STYLE_CSS)
}
