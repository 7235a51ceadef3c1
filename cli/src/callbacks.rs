//! `--callback-listen ADDR` and `--callback-url URL`: solve and solve-many receive each
//! task's result by callback (hyper transport only), polling as the fallback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use capmonster_core::ledger::Ledger;
use capmonster_core::{Client, Config, Error};

use crate::args::{Command, GlobalOpts, TransportKind};
use crate::backend::Backend;

/// With `--sim`: how long a task waits for its callback before polling (the simulator
/// solves in at most 1.5 s).
const SIM_FALLBACK: Duration = Duration::from_secs(3);

/// The callback options of a command that uses them.
pub(crate) struct Callbacks {
    listen: SocketAddr,
    public_base: Option<String>,
}

/// The callback options, if given for a command that uses them (solve, solve-many); a usage
/// error (exit 2) for `--callback-url` without `--callback-listen`, with the ureq
/// transport, or for an unspecified listen address (`0.0.0.0`, `[::]`) without
/// `--callback-url` (the URL derived from it would be unreachable).
pub(crate) fn from_opts(opts: &GlobalOpts, command: &Command) -> Result<Option<Callbacks>, String> {
    if !matches!(command, Command::Solve { .. } | Command::SolveMany { .. }) {
        return Ok(None);
    }
    let Some(listen) = opts.callback_listen else {
        return match opts.callback_url {
            Some(_) => Err(
                "--callback-url needs --callback-listen ADDR (the address the \
                            callback receiver listens on)"
                    .to_owned(),
            ),
            None => Ok(None),
        };
    };
    if opts.transport == TransportKind::Ureq {
        return Err(
            "--callback-listen needs the hyper transport (the default): callbacks are \
                    async-only; drop --transport ureq"
                .to_owned(),
        );
    }
    if listen.ip().is_unspecified() && opts.callback_url.is_none() {
        // The receiver may listen on every interface, but the service cannot POST to
        // http://0.0.0.0:P/ or http://[::]:P/: it needs the address it can reach.
        return Err(format!(
            "--callback-listen {listen} listens on every interface, which is not an address \
             the service can reach: give --callback-url with the public URL the service \
             POSTs to (e.g. https://hooks.example.com/capmonster), or listen on that address"
        ));
    }
    Ok(Some(Callbacks {
        listen,
        public_base: opts.callback_url.clone(),
    }))
}

impl Callbacks {
    /// A hyper client with the callback receiver running (inside the runtime). Errors
    /// (address in use, bad URL) are invalid input: exit 2, nothing sent.
    pub(crate) fn backend(
        self,
        config: Config,
        sim: bool,
        ledger: Arc<dyn Ledger>,
    ) -> Result<Backend, Error> {
        let mut builder = Client::builder()
            .config(config)
            .callbacks(self.listen, self.public_base.as_deref());
        if sim {
            builder = builder.callback_fallback(SIM_FALLBACK);
        }
        Ok(Backend::Hyper(builder.build()?.with_ledger(ledger)))
    }
}
