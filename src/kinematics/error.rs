use thiserror::Error;

/// Everything that can be wrong with a robot description or a chain request.
#[derive(Debug, Error)]
pub enum KinematicsError {
    #[error("cannot read URDF {path}: {source}")]
    Unreadable { path: String, source: std::io::Error },
    #[error("malformed URDF: {0}")]
    Malformed(String),
    #[error("URDF has no links")]
    Empty,
    #[error("link '{0}' is defined twice")]
    DuplicateLink(String),
    #[error("joint '{joint}' refers to unknown link '{link}'")]
    UnknownJointLink { joint: String, link: String },
    #[error("link '{link}' has several parents (joints '{first}' and '{second}')")]
    SeveralParents { link: String, first: String, second: String },
    #[error("the links {0:?} form a cycle")]
    Cycle(Vec<String>),
    #[error("unknown link '{link}'; known links: {known}")]
    UnknownLink { link: String, known: String },
    #[error("tip link '{tip}' is not below base link '{base}'")]
    TipNotBelowBase { base: String, tip: String },
    #[error("the chain from '{base}' to '{tip}' has no movable joint")]
    NoMovableJoint { base: String, tip: String },
    #[error("joint '{joint}': {what} is not a finite number")]
    NonFinite { joint: String, what: &'static str },
    #[error("joint '{joint}': {what} {value:e} is beyond ±{max:e} {unit}")]
    OutOfRange { joint: String, what: &'static str, value: f64, max: f64, unit: &'static str },
    #[error("link '{link}': {what} is not a finite number within ±{max:e} m")]
    BadGeometry { link: String, what: &'static str, max: f64 },
    #[error("joint '{0}' has a zero-length axis")]
    ZeroAxis(String),
    #[error("joint '{joint}' has lower limit {lower} above upper limit {upper}")]
    InvertedLimits { joint: String, lower: f64, upper: f64 },
    #[error("joint '{0}' is of type {1}, which a serial chain cannot use")]
    UnsupportedJoint(String, &'static str),
    #[error("joint '{0}' mimics a joint that mimics it back; a mimic chain must end at a moving joint")]
    MimicCycle(String),
    #[error("expected {expected} joint values, got {got}")]
    WrongDof { expected: usize, got: usize },
}
