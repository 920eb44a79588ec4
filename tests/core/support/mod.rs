pub mod accounts;
pub mod aftersales;
pub mod checkout_batches;
pub mod pipeline;
pub mod till;
