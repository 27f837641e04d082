//! The error values the whole program reports, and how each maps to an exit code: invalid input
//! or configuration (2, and nothing was written to AWS) or an operation that failed at AWS (1,
//! with the list of what exists afterwards). Modules return these; only `main` turns them into
//! text and a process status.

use serde::Serialize;

/// One problem with the input, in Clouddriver's validation vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the offending field, e.g. `capacity.desired`.
    pub field: String,
    /// Clouddriver's code, e.g. `createServerGroupDescription.capacity.desired.exceeds.max`.
    pub code: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// Keys whose values are secrets or point at them: an error about such a field, or anything
/// under it, never quotes the value given (the output redactor hides `valueFrom` and
/// `credentialsParameter` values in what is shown).
pub const SECRET_KEYS: [&str; 7] =
    ["secrets", "secretOptions", "repositoryCredentials", "credentialsParameter", "valueFrom", "dockerImageCredentialsSecret", "password"];

/// True when the JSON path `path` (`a.b[0].c`) is, or is inside, a field of [`SECRET_KEYS`].
pub fn holds_secret(path: &str) -> bool {
    path.split(['.', '[', ']', '/']).any(|segment| SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(segment.trim_matches('`'))))
}

/// A failed AWS call, reduced to what a person needs: which call, the AWS error code, the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsError {
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl AwsError {
    /// True when the AWS error code is `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Everything that can end a command.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The input (description, artifact, flags) is invalid; nothing was written. Shown on one
    /// line with every problem (`invalid input: field: message (code); …`).
    #[error("invalid input: {}", one_line(.0))]
    Invalid(Vec<FieldError>),
    /// The configuration (clouddriver.yml) is invalid or does not know the account; nothing was written.
    #[error("{0}")]
    Config(String),
    /// An AWS call failed. `report` lists what was created and what was removed again.
    #[error("{error}")]
    Aws { error: AwsError, report: Vec<String> },
    /// The operation could not finish for another reason (timeout, unhealthy deployment, the task
    /// store or the listen address unavailable).
    #[error("{message}")]
    Failed { message: String, report: Vec<String> },
    /// Ctrl-C or SIGTERM stopped the operation at a step boundary; `report` lists what exists.
    #[error("interrupted (Ctrl-C / SIGTERM): stopped at the next step, after the AWS call in flight")]
    Interrupted { report: Vec<String> },
    /// `serve` is shutting down and stopped the operation where another replica (or its next
    /// start) can continue it: nothing was undone (see `engine::handover`).
    #[error("handed over: this replica is shutting down; the task goes on where it stopped")]
    HandedOver,
}

/// Every field problem on one line (at most [`MAX_SHOWN`] of them).
fn one_line(errors: &[FieldError]) -> String {
    shown(errors).iter().map(|f| format!("{}: {} ({})", f.field, f.message, f.code)).collect::<Vec<_>>().join("; ")
}

/// The most problems any answer, report or task history shows.
pub const MAX_SHOWN: usize = 50;

/// The problems as they are shown: the first [`MAX_SHOWN`], then one line saying how many more
/// there are — so a body of 700,000 unknown keys is a short answer, not a 200 MB one.
pub fn shown(errors: &[FieldError]) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = errors.iter().take(MAX_SHOWN).cloned().collect();
    if errors.len() > MAX_SHOWN {
        let more = errors.len() - MAX_SHOWN;
        out.push(FieldError::new(
            "…",
            "errors.more",
            format!("… and {more} more problem{} (fix these first)", if more == 1 { "" } else { "s" }),
        ));
    }
    out
}

/// The code an interrupted step boundary reports as ([`AwsError::interrupted`]).
const INTERRUPTED: &str = "Interrupted";

impl Error {
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, code, message)])
    }

    /// Process exit code: 2 for input and configuration problems, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) | Error::Config(_) => 2,
            Error::Aws { .. } | Error::Failed { .. } | Error::Interrupted { .. } | Error::HandedOver => 1,
        }
    }

    /// Adds lines to the report of what exists after a failure.
    pub fn with_report(self, lines: Vec<String>) -> Self {
        match self {
            Error::Aws { error, mut report } => {
                report.extend(lines);
                Error::Aws { error, report }
            }
            Error::Failed { message, mut report } => {
                report.extend(lines);
                Error::Failed { message, report }
            }
            Error::Interrupted { mut report } => {
                report.extend(lines);
                Error::Interrupted { report }
            }
            other => other,
        }
    }
}

impl AwsError {
    /// What a step boundary returns once a stop was asked for: it travels the engine's AWS error
    /// paths (so what was created is removed as on any failure) and becomes
    /// [`Error::Interrupted`] when it leaves them.
    pub fn interrupted() -> AwsError {
        AwsError { operation: "interrupt".into(), code: Some(INTERRUPTED.into()), message: "stopped by Ctrl-C / SIGTERM".into() }
    }

    pub fn is_interrupt(&self) -> bool {
        self.operation == "interrupt" && self.code.as_deref() == Some(INTERRUPTED)
    }
}

impl From<AwsError> for Error {
    fn from(error: AwsError) -> Self {
        if error.is_interrupt() {
            return Error::Interrupted { report: Vec::new() };
        }
        Error::Aws { error, report: Vec::new() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_fifty_problems_are_shown_then_how_many_more() {
        let many: Vec<FieldError> = (0..700).map(|i| FieldError::new(format!("k{i}"), "unknown", "unknown key")).collect();
        let shown = shown(&many);
        assert_eq!(shown.len(), MAX_SHOWN + 1);
        assert_eq!(shown[MAX_SHOWN].message, "… and 650 more problems (fix these first)");
        let line = Error::Invalid(many).to_string();
        assert!(line.contains("k49:") && !line.contains("k50:") && line.contains("650 more"), "{line}");
        assert_eq!(super::shown(&[FieldError::new("a", "b", "c")]).len(), 1);
    }
}
