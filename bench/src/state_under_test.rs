//! The gateway's state store under test: its default redb file in `state_dir`, or a PostgreSQL database
//! (`state.backend: postgres`). Only the `state:` block of the rendered config differs between the two, so a
//! difference in the figures is the store's.

use crate::gateway_config::quoted;

/// Which store a gateway run uses, as the command line and the report name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateBackend {
    Redb,
    Postgres,
}

impl StateBackend {
    /// As the report spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redb => "redb",
            Self::Postgres => "postgres",
        }
    }
}

/// The store one gateway run is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateUnderTest {
    /// No `state:` block: the gateway's default, `<state_dir>/outcomes.redb`.
    Redb,
    /// `state.backend: postgres` on the database at `url` (no password in it), the password, if any, in
    /// `password_file`.
    Postgres {
        url: String,
        password_file: Option<std::path::PathBuf>,
    },
}

impl StateUnderTest {
    /// Which backend this is.
    pub fn backend(&self) -> StateBackend {
        match self {
            Self::Redb => StateBackend::Redb,
            Self::Postgres { .. } => StateBackend::Postgres,
        }
    }

    /// The `state:` block (empty for redb, which is what an operator's config would leave out). The pool and the
    /// connect timeout stay at the gateway's defaults, as a deployment would start.
    pub(crate) fn yaml(&self) -> String {
        match self {
            Self::Redb => String::new(),
            Self::Postgres { url, password_file } => {
                let password_file = password_file
                    .as_ref()
                    .map(|path| format!(", password_file: {}", quoted(&path.display().to_string())))
                    .unwrap_or_default();
                format!(
                    "state:\n  backend: postgres\n  postgres: {{ url: {}{password_file} }}\n",
                    quoted(url)
                )
            }
        }
    }
}
