//! The full fault soak: `cargo run --release -p capmonster-soak --bin soak -- [tasks] [fault_rate] [concurrency] [seed]`
//! (defaults: 10,000 tasks per transport, 0.10, 64, 1). Prints a markdown report and exits
//! non-zero if any rule was broken.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use capmonster_soak::{Transport, run_soak};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> Result<T, String> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("argument {} ({s:?}) is not valid", i + 1)),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| -> Result<_, String> {
        Ok((
            arg(&args, 0, 10_000usize)?,
            arg(&args, 1, 0.10f64)?,
            arg(&args, 2, 64usize)?,
            arg(&args, 3, 1u64)?,
        ))
    })();
    let (tasks, rate, concurrency, seed) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}\nusage: soak [tasks] [fault_rate] [concurrency] [seed]");
            return ExitCode::from(2);
        }
    };
    let mut ok = true;
    println!("## Fault soak\n");
    for transport in Transport::ALL {
        let report = run_soak(transport, tasks, rate, concurrency, seed);
        println!("{}", report.to_markdown());
        for p in report.problems() {
            println!("**PROBLEM ({}):** {p}\n", transport.name());
        }
        ok &= report.ok();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
