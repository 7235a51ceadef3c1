//! Keeping the client key out of everything the command prints.
//!
//! The libraries never put the key in a message or a tracing event; this is the second line
//! of defence: every line written to stdout or stderr (tracing output included) passes
//! through [`Redactor::apply`], which replaces any occurrence of a known key.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{self, Write};
use std::sync::{Arc, RwLock};

/// What replaces a key.
pub(crate) const REDACTED: &str = "<redacted>";

/// Keys shorter than this are not searched for: replacing a two-letter "key" everywhere
/// would mangle the output without protecting anything.
const MIN_LEN: usize = 6;

/// The set of secrets to scrub, shared with the tracing writer.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// A redactor seeded from the raw command line (`--client-key K`, `--client-key=K`) and
    /// the environment (`CAPMONSTER_CLIENT_KEY`), so that even an argument-parsing error
    /// cannot echo the key.
    pub(crate) fn from_process(args: &[OsString]) -> Self {
        let r = Self::default();
        let mut it = args.iter().map(|a| a.to_string_lossy());
        while let Some(a) = it.next() {
            if a == "--client-key" {
                if let Some(v) = it.next() {
                    r.add(&v);
                }
            } else if let Some(v) = a.strip_prefix("--client-key=") {
                r.add(v);
            }
        }
        if let Some(v) = std::env::var_os("CAPMONSTER_CLIENT_KEY") {
            r.add(&v.to_string_lossy());
        }
        r
    }

    /// Adds a secret (ignored when too short to search for safely).
    pub(crate) fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_LEN {
            return;
        }
        if let Ok(mut s) = self.secrets.write()
            && !s.iter().any(|k| k == secret)
        {
            s.push(secret.to_owned());
            // Longest first, so a key containing another key is replaced whole.
            s.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }

    /// `text` with every known secret replaced by [`REDACTED`].
    pub(crate) fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Ok(secrets) = self.secrets.read() else {
            return Cow::Borrowed(text);
        };
        let mut out = Cow::Borrowed(text);
        for k in secrets.iter() {
            if out.contains(k.as_str()) {
                out = Cow::Owned(out.replace(k.as_str(), REDACTED));
            }
        }
        out
    }

    /// A `MakeWriter` for tracing-subscriber: redacted lines to stderr.
    pub(crate) fn stderr_writer(&self) -> StderrWriter {
        StderrWriter {
            redactor: self.clone(),
        }
    }
}

/// Writes to stderr through a [`Redactor`]. tracing-subscriber's fmt layer formats each event
/// into one buffer and writes it in one call, so a key is never split across writes.
#[derive(Clone)]
pub(crate) struct StderrWriter {
    redactor: Redactor,
}

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = self.redactor.apply(&text);
        io::stderr().lock().write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrWriter {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keys_from_args_and_ignores_short_ones() {
        let args: Vec<OsString> = ["capmonster", "--client-key", "0123456789abcdef", "balance"]
            .iter()
            .map(OsString::from)
            .collect();
        let r = Redactor::from_process(&args);
        assert_eq!(r.apply("key=0123456789abcdef!"), format!("key={REDACTED}!"));
        let args: Vec<OsString> = ["x", "--client-key=abcdefghij"]
            .iter()
            .map(OsString::from)
            .collect();
        let r = Redactor::from_process(&args);
        assert_eq!(r.apply("abcdefghij"), REDACTED);
        r.add("abc");
        assert_eq!(r.apply("abc"), "abc");
    }
}
