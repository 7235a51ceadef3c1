//! Any status and bytes through every `codec::parse_*` function and through
//! `Solve::handle_response` in each awaiting state (see `model::check_parse`).
#![no_main]

use capmonster_fuzz::{ParseInput, check_parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: ParseInput| {
    if let Err(why) = check_parse(input.status, &input.body) {
        panic!("property broken: {why}");
    }
});
