//! Where a snapshot case keeps its files: `snapshots/<test-file-stem>__<case-slug>.snap` beside the test file (and
//! `….snap.new` for a pending one), the layout insta uses, so `cargo insta review` pairs them up.
//!
//! The slug keeps a case name's ASCII letters and digits, lowercased, and turns every other run of characters into
//! one `_`, trimmed at both ends and cut to [`MAX_SLUG_BYTES`]. Lowercase because two names differing only in case
//! would be one file on a case-insensitive file system; single `_` because insta splits a file name at its last `__`
//! into module and snapshot name. Two snapshot cases of one file with the same slug are an error naming both, never
//! one file overwriting the other.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::test_runner::TestCase;

/// Room left in a 255-byte file name for the test file's stem, `__` and `.snap.new`.
pub const MAX_SLUG_BYTES: usize = 120;

/// A snapshot case's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotLocation {
    /// The accepted snapshot, `….snap`.
    pub accepted: PathBuf,
    /// The pending one, `….snap.new`.
    pub pending: PathBuf,
}

impl SnapshotLocation {
    fn new(accepted: PathBuf) -> Self {
        let mut pending = OsString::from(accepted.as_os_str());
        pending.push(".new");
        Self {
            accepted,
            pending: PathBuf::from(pending),
        }
    }
}

/// The file-name-safe form of a case name (see the module comment).
pub fn slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    // ASCII only, so any byte index is a character boundary.
    slug.truncate(MAX_SLUG_BYTES);
    slug.trim_end_matches('_').to_owned()
}

/// The files of every snapshot case of `file`, by case index (`None` for a case without `snapshot: true`).
pub fn locate(file: &Path, cases: &[TestCase]) -> anyhow::Result<Vec<Option<SnapshotLocation>>> {
    let stem = file.file_stem().ok_or_else(|| {
        anyhow::anyhow!(
            "{}: a test file needs a file name: its snapshots are named after it",
            file.display()
        )
    })?;
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join("snapshots");
    let mut named: Vec<(String, usize)> = Vec::new();
    let mut locations = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        if !case.snapshot {
            locations.push(None);
            continue;
        }
        let slug = slug(&case.name);
        if slug.is_empty() {
            anyhow::bail!(
                "{}: cases[{i}] {:?}: a snapshot case's name needs an ASCII letter or digit to name its file",
                file.display(),
                case.name
            );
        }
        if let Some((_, first)) = named.iter().find(|(taken, _)| *taken == slug) {
            anyhow::bail!(
                "{}: cases[{first}] {:?} and cases[{i}] {:?} would share the snapshot file snapshots/{}__{slug}.snap \
                 (names are reduced to lowercase ASCII letters and digits joined by `_`); rename one",
                file.display(),
                cases[*first].name,
                case.name,
                stem.to_string_lossy(),
            );
        }
        let mut file_name = stem.to_os_string();
        file_name.push(format!("__{slug}.snap"));
        locations.push(Some(SnapshotLocation::new(dir.join(file_name))));
        named.push((slug, i));
    }
    Ok(locations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, snapshot: bool) -> TestCase {
        TestCase {
            name: name.to_owned(),
            input: Vec::new(),
            expect: None,
            exact: false,
            snapshot,
        }
    }

    #[test]
    fn slugs_are_lowercase_ascii_words_joined_by_one_underscore() {
        assert_eq!(
            slug("A shipment is created, with ids!"),
            "a_shipment_is_created_with_ids"
        );
        assert_eq!(slug("  --a__b--  "), "a_b");
        assert_eq!(slug("Grüße 日本 2"), "gr_e_2");
        assert_eq!(slug("日本"), "");
        let long = "x".repeat(MAX_SLUG_BYTES - 1) + " yz";
        assert_eq!(slug(&long), "x".repeat(MAX_SLUG_BYTES - 1));
    }

    #[test]
    fn snapshot_cases_get_files_beside_the_test_file() {
        let cases = [case("plain", false), case("A b", true)];
        let located = locate(Path::new("dir/tests.yaml"), &cases).unwrap();
        assert_eq!(located[0], None);
        assert_eq!(
            located[1],
            Some(SnapshotLocation {
                accepted: PathBuf::from("dir/snapshots/tests__a_b.snap"),
                pending: PathBuf::from("dir/snapshots/tests__a_b.snap.new"),
            })
        );
        let bare = locate(Path::new("tests.yaml"), &cases).unwrap();
        assert_eq!(
            bare[1].as_ref().map(|l| &l.accepted),
            Some(&PathBuf::from("snapshots/tests__a_b.snap"))
        );
    }

    #[test]
    fn a_shared_slug_names_both_cases_and_an_empty_one_names_its_case() {
        let cases = [case("A b", true), case("other", true), case("a-B", true)];
        let err = locate(Path::new("t.yaml"), &cases).unwrap_err().to_string();
        assert!(
            err.contains("cases[0] \"A b\" and cases[2] \"a-B\"")
                && err.contains("snapshots/t__a_b.snap"),
            "{err}"
        );
        // The same name twice is the same collision; without `snapshot: true` neither has a file.
        assert!(locate(Path::new("t.yaml"), &[case("x", true), case("x", true)]).is_err());
        assert!(locate(Path::new("t.yaml"), &[case("x", false), case("x", false)]).is_ok());
        let err = locate(Path::new("t.yaml"), &[case("日本", true)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cases[0] \"日本\""), "{err}");
    }
}
