//! The access token: read from `ledger.daml.token_file` and sent as `authorization: Bearer <JWT>` on every call.
//!
//! Tokens are short-lived and rotated by whatever writes the file, so the file is checked on every call (one
//! `stat`, compared with the last read's modification time and length) and re-read when it changed — and at least
//! every [`REREAD_AFTER`], and right after the participant answered UNAUTHENTICATED, because a rewrite within the
//! file system's timestamp granularity that keeps the length would otherwise go unnoticed.
//!
//! The token never appears in `Debug` output, logs or errors: errors name the file, not its contents, and the
//! header value is marked sensitive.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use tonic::metadata::{Ascii, MetadataValue};

use crate::settings::SettingsError;

/// Longest time a token read from the file is used without reading the file again.
pub const REREAD_AFTER: Duration = Duration::from_secs(60);

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

struct Cached {
    stamp: FileStamp,
    read_at: Instant,
    header: MetadataValue<Ascii>,
}

/// A token file, re-read when it changes.
pub struct TokenFile {
    path: PathBuf,
    cache: Mutex<Option<Cached>>,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl TokenFile {
    /// A token file at `path`; nothing is read yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cache: Mutex::new(None),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `authorization` header value (`Bearer <token>`) from the file's current contents.
    pub fn header(&self) -> Result<MetadataValue<Ascii>, SettingsError> {
        let stamp = self.stamp()?;
        // A poisoned lock only means another call panicked while swapping the cache; the cache is still usable.
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cached) = cache.as_ref()
            && cached.stamp == stamp
            && cached.read_at.elapsed() < REREAD_AFTER
        {
            return Ok(cached.header.clone());
        }
        let header = self.read()?;
        *cache = Some(Cached {
            stamp,
            read_at: Instant::now(),
            header: header.clone(),
        });
        Ok(header)
    }

    /// Forgets the cached token, so the next call reads the file again (after the participant refused it).
    pub fn invalidate(&self) {
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn stamp(&self) -> Result<FileStamp, SettingsError> {
        let metadata = std::fs::metadata(&self.path).map_err(|e| self.error(&e.to_string()))?;
        Ok(FileStamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
        })
    }

    fn read(&self) -> Result<MetadataValue<Ascii>, SettingsError> {
        let bytes = std::fs::read(&self.path).map_err(|e| self.error(&e.to_string()))?;
        let token = std::str::from_utf8(&bytes)
            .map_err(|_| self.error("the file is not text (expected a JWT)"))?
            .trim();
        if token.is_empty() {
            return Err(self.error("the file is empty (expected a JWT)"));
        }
        // A JWT is base64url segments joined by dots; anything outside printable ASCII cannot go into a header.
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(self.error(
                "the token holds spaces or characters outside printable ASCII (expected a JWT)",
            ));
        }
        let mut header: MetadataValue<Ascii> = format!("Bearer {token}")
            .parse()
            .map_err(|_| self.error("the token cannot be sent as a header (expected a JWT)"))?;
        header.set_sensitive(true);
        Ok(header)
    }

    fn error(&self, problem: &str) -> SettingsError {
        SettingsError::at(
            "token_file",
            format!("cannot use {}: {problem}", self.path.display()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnYXRld2F5In0.c2VjcmV0LXNpZ25hdHVyZQ";

    #[test]
    fn the_header_is_bearer_and_the_token_is_trimmed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, format!("  {TOKEN}\n")).expect("write");
        let file = TokenFile::new(&path);
        let header = file.header().expect("header");
        assert_eq!(header.to_str().expect("ascii"), format!("Bearer {TOKEN}"));
        assert!(header.is_sensitive());
    }

    #[test]
    fn a_rotated_token_is_picked_up_without_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "first.token.a").expect("write");
        let file = TokenFile::new(&path);
        assert_eq!(
            file.header().expect("h").to_str().ok(),
            Some("Bearer first.token.a")
        );
        // Rotation writes a new file and renames it over the old one, as secret mounts do; the length changes
        // too, so the check does not depend on the file system's timestamp granularity.
        let next = dir.path().join("token.new");
        std::fs::write(&next, "second.token.bb").expect("write");
        std::fs::rename(&next, &path).expect("rename");
        assert_eq!(
            file.header().expect("h").to_str().ok(),
            Some("Bearer second.token.bb")
        );
    }

    #[test]
    fn invalidate_forces_a_reread_even_when_the_file_looks_unchanged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "aaaa.bbbb.cccc").expect("write");
        let file = TokenFile::new(&path);
        file.header().expect("first read");
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime");
        // Same length, and the modification time put back: only a re-read can see the new token.
        std::fs::write(&path, "dddd.eeee.ffff").expect("write");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(modified))
            .expect("restore mtime");
        assert_eq!(
            file.header().expect("h").to_str().ok(),
            Some("Bearer aaaa.bbbb.cccc")
        );
        file.invalidate();
        assert_eq!(
            file.header().expect("h").to_str().ok(),
            Some("Bearer dddd.eeee.ffff")
        );
    }

    #[test]
    fn errors_name_the_file_and_never_the_token() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = TokenFile::new(dir.path().join("absent"));
        let e = missing.header().expect_err("missing file").to_string();
        assert!(e.starts_with("ledger.daml.token_file: cannot use "), "{e}");
        assert!(e.contains("absent"), "{e}");

        let path = dir.path().join("token");
        std::fs::write(&path, "\n").expect("write");
        let e = TokenFile::new(&path)
            .header()
            .expect_err("empty")
            .to_string();
        assert!(e.contains("the file is empty"), "{e}");

        std::fs::write(&path, "secret part\u{7f}two").expect("write");
        let e = TokenFile::new(&path)
            .header()
            .expect_err("bad chars")
            .to_string();
        assert!(
            e.contains("printable ASCII") && !e.contains("secret"),
            "{e}"
        );
    }

    #[test]
    fn debug_shows_the_path_but_not_the_token() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, TOKEN).expect("write");
        let file = TokenFile::new(&path);
        let header = file.header().expect("header");
        let shown = format!("{file:?} {header:?}");
        assert!(shown.contains("token"), "{shown}");
        assert!(!shown.contains(TOKEN) && !shown.contains("eyJ"), "{shown}");
    }
}
