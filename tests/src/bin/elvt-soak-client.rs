//! A soak client worker: runs the client threads its arguments describe
//! (see `elevated_tests::soak`) and prints their tally as one JSON line.
//! The soak test starts one per user and kind, as that user.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

fn main() {
    std::process::exit(elevated_tests::soak::worker_main());
}
