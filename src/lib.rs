pub mod check;
pub mod cli;
pub mod engine;
pub mod model;
pub mod report;
pub mod scenario;
pub mod strategy;
