pub mod engine;
pub mod scenario;
