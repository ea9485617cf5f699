//! The operator's admin token: the only key to the HTTP surface's actions (`POST /dead-letters/replay`).
//!
//! Read from `http.admin_token_file` at start-up (so a missing or too short token stops start-up, naming the file)
//! and again for every action (so a rotated token takes effect without a restart). Compared in constant time over
//! SHA-256 digests, so neither the token's length nor a matching prefix shows in the response time.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Shorter tokens are refused: a guessable key to an action that moves messages is worse than none.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Why the token could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    #[error("http.admin_token_file: cannot read {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "http.admin_token_file: {path} holds {chars} characters; expected a token of at least {MIN_TOKEN_CHARS} \
         (e.g. `openssl rand -hex 32 > {path}`)"
    )]
    TooShort { path: PathBuf, chars: usize },
}

/// Where the token lives; never holds the token itself longer than one check.
#[derive(Debug, Clone)]
pub struct AdminTokenFile {
    path: PathBuf,
}

impl AdminTokenFile {
    /// Checks the file once, as start-up does.
    pub fn open(path: &Path) -> Result<Self, AdminTokenError> {
        let file = Self {
            path: path.to_owned(),
        };
        file.read()?;
        Ok(file)
    }

    fn read(&self) -> Result<String, AdminTokenError> {
        let text =
            std::fs::read_to_string(&self.path).map_err(|e| AdminTokenError::Unreadable {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        let token = text.trim().to_owned();
        let chars = token.chars().count();
        if chars < MIN_TOKEN_CHARS {
            return Err(AdminTokenError::TooShort {
                path: self.path.clone(),
                chars,
            });
        }
        Ok(token)
    }

    /// Whether `presented` is the token in the file now.
    pub fn accepts(&self, presented: &str) -> Result<bool, AdminTokenError> {
        let token = self.read()?;
        let expected = Sha256::digest(token.as_bytes());
        let given = Sha256::digest(presented.trim().as_bytes());
        // Every byte is compared whatever the earlier ones were.
        let difference = expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        Ok(difference == 0)
    }
}

/// The token of an `Authorization: Bearer <token>` header value, if that is its form.
pub fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.token");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_token_in_the_file_is_accepted_and_nothing_else() {
        let (_dir, path) = token_file("0123456789abcdef-secret\n");
        let file = AdminTokenFile::open(&path).unwrap();
        assert!(file.accepts("0123456789abcdef-secret").unwrap());
        assert!(!file.accepts("0123456789abcdef-secreT").unwrap());
        assert!(!file.accepts("0123456789abcdef").unwrap());
        assert!(!file.accepts("").unwrap());
    }

    #[test]
    fn a_rotated_token_takes_effect_at_once() {
        let (_dir, path) = token_file("first-token-0123456789");
        let file = AdminTokenFile::open(&path).unwrap();
        std::fs::write(&path, "second-token-0123456789").unwrap();
        assert!(!file.accepts("first-token-0123456789").unwrap());
        assert!(file.accepts("second-token-0123456789").unwrap());
    }

    #[test]
    fn a_short_or_missing_token_is_refused_naming_the_file() {
        let (dir, path) = token_file("  short \n");
        let e = AdminTokenFile::open(&path).unwrap_err().to_string();
        assert!(
            e.contains("http.admin_token_file") && e.contains("holds 5 characters"),
            "{e}"
        );
        let e = AdminTokenFile::open(&dir.path().join("absent"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read") && e.contains("absent"), "{e}");
    }

    #[test]
    fn only_a_bearer_header_names_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
