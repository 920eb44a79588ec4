//! The error a user may see: a stable code, translated by the page that shows it.
//! Domain errors become this at the server-function boundary; details stay in the logs.
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// A code from `error.*` in the locale files; `minutes` fills `%{minutes}`.
    #[error("{code}")]
    Coded { code: String, minutes: Option<i64> },
    #[error("server function: {0}")]
    ServerFn(#[from] ServerFnErrorErr),
}

impl AppError {
    pub fn code(code: &str) -> Self {
        Self::Coded { code: code.to_owned(), minutes: None }
    }
    pub fn forbidden() -> Self {
        Self::code("forbidden")
    }
    pub fn login_required() -> Self {
        Self::code("login_required")
    }
    pub fn internal() -> Self {
        Self::code("internal")
    }
    /// Malformed input (missing or unreadable arguments), as opposed to a server fault.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Self::ServerFn(
                ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_)
            )
        )
    }

    /// The locale key of the message.
    pub fn key(&self) -> String {
        match self {
            Self::Coded { code, .. } => format!("error.{code}"),
            e if e.is_bad_request() => "error.bad_request".into(),
            Self::ServerFn(_) => "error.internal".into(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::ServerFn(value)
    }
}

#[cfg(feature = "ssr")]
impl From<quanyi::identity::AccountError> for AppError {
    fn from(e: quanyi::identity::AccountError) -> Self {
        use quanyi::identity::AccountError;
        match e {
            AccountError::TooManyAttempts { retry_after_minutes } => {
                Self::Coded { code: "too_many_attempts".into(), minutes: Some(retry_after_minutes) }
            }
            AccountError::Db(db) => {
                tracing::error!(error = %db, "database error");
                Self::internal()
            }
            other => Self::code(other.code()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<quanyi::platform::db::Error> for AppError {
    fn from(e: quanyi::platform::db::Error) -> Self {
        tracing::error!(error = %e, "database error");
        Self::internal()
    }
}
