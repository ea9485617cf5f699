//! Keeping the broker password out of logs, `/status` and error messages.
//!
//! A file of its own because errors, settings and the session all redact, and errors must not depend on settings
//! (settings depend on the AMQP property limits, which report errors).

/// Replaces the password of an `amqp(s)://user:password@host` URL with `***`.
pub fn redact(url: &str) -> String {
    // The scheme ends at the first ':' (with or without "//" after it), so a malformed `amqp:user:pass@host` is
    // redacted too: lapin quotes the whole URL when it cannot parse it.
    let Some((scheme, rest)) = url.split_once(':') else {
        return url.to_owned();
    };
    let (separator, rest) = match rest.strip_prefix("//") {
        Some(rest) => ("://", rest),
        None => (":", rest),
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}{separator}{user}:***@{host}"),
        None => url.to_owned(),
    }
}
