//! One failed AWS call, sorted into what it means for a check.

use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::result::{CheckResult, Place, Service, Status};

/// A failed call, reduced to its error code and message.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The AWS error code (`AccessDeniedException`, ...), when the service sent one.
    pub code: Option<String>,
    /// The message, with the full cause chain when the call never reached a service.
    pub message: String,
}

impl CallError {
    /// Reduces any SDK error.
    pub fn of<E>(error: &E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        let code = error.code().map(str::to_owned);
        let message = match error.message() {
            Some(message) => message.to_owned(),
            None => DisplayErrorContext(error).to_string(),
        };
        CallError { code, message }
    }

    /// Whether the credentials may not make the call.
    pub fn is_access_denied(&self) -> bool {
        self.code.as_deref().is_some_and(|code| {
            code.starts_with("AccessDenied")
                || code.ends_with("UnauthorizedOperation")
                || code == "UnauthorizedException"
                || code == "AuthorizationError"
        })
    }

    /// The code, or `error` when there is none.
    pub fn code_or_error(&self) -> &str {
        self.code.as_deref().unwrap_or("error")
    }

    /// The result that says the check could not be made, and why. Never a pass.
    pub fn could_not_check(&self, place: &Place, service: Service, check: &str) -> CheckResult {
        let why = if self.is_access_denied() {
            "the credentials may not make this call"
        } else {
            "the call failed"
        };
        place
            .result(
                service,
                check,
                Status::CouldNotCheck,
                format!("{why}: {}: {}", self.code_or_error(), self.message),
            )
            .fix(if self.is_access_denied() {
                "grant the read-only permissions listed in docs/check.md"
            } else {
                "retry; if it persists, check that the service exists in this region"
            })
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code_or_error(), self.message)
    }
}
