//! An arbitrary sequence of caller inputs to one `Solve` (see `model::run` for the
//! properties: no panic, ≤ 120 polls, no ambiguous createTask resend without opt-in, no send
//! at or after the deadline, sticky terminal actions, stale tickets ignored, ...).
#![no_main]

use capmonster_fuzz::{MachineInput, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: MachineInput| {
    let (setup, ops) = input.into_model();
    if let Err(why) = run(&setup, &ops) {
        panic!("property broken: {why}\nsetup: {setup:?}");
    }
});
