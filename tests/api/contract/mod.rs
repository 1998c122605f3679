//! Contract suites for the infrastructure backends: the same tests against every
//! backend (local folder and S3 for storage; a real SMTP server for mail).

mod faults;
mod process;
mod smtp;
mod storage;
