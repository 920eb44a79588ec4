//! The composition root: command line, HTTP router and middleware, background tasks.
pub mod cli;
pub mod http;
pub mod startup;
