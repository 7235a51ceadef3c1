//! Keeping the client key out of everything the command prints, and the terminal safe from
//! what the server sends.
//!
//! The libraries never put the key in a message or a tracing event; this is the second line
//! of defence: every line written to stdout or stderr (tracing output and clap's own errors
//! included) passes through [`Redactor::apply`], which replaces any known key and any run of
//! 8 or more consecutive characters of it (the core's [`redact_secret`]). Every stderr line
//! is then escaped with the core's [`escape_untrusted`] (no control, bidi or line-separator
//! character reaches the terminal).

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{self, Write};
use std::sync::{Arc, RwLock};

use capmonster_core::error::{escape_untrusted, redact_secret};

/// What replaces a key.
#[cfg(test)]
pub(crate) const REDACTED: &str = capmonster_core::error::REDACTED;

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
    /// cannot echo the key. A stray space (`--client-key= KEY`, `--client-key = KEY`) leaves
    /// the option an empty or `=` value and the key a separate argument, which clap then
    /// quotes as an unrecognized subcommand: the argument after such a value is a secret too.
    pub(crate) fn from_process(args: &[OsString]) -> Self {
        let r = Self::default();
        let args: Vec<Cow<'_, str>> = args.iter().map(|a| a.to_string_lossy()).collect();
        let mut i = 0;
        while i < args.len() {
            let value = if args[i] == "--client-key" {
                i += 1;
                args.get(i).map(|v| v.as_ref())
            } else {
                args[i].strip_prefix("--client-key=")
            };
            if let Some(v) = value {
                r.add(v);
                if v.trim().trim_start_matches('=').trim().len() < MIN_LEN
                    && let Some(next) = args.get(i + 1)
                {
                    r.add(next);
                }
            }
            i += 1;
        }
        if let Some(v) = std::env::var_os("CAPMONSTER_CLIENT_KEY") {
            r.add(&v.to_string_lossy());
        }
        r
    }

    /// Adds a secret (ignored when too short to search for safely), as given and as it
    /// appears inside a JSON string.
    pub(crate) fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_LEN {
            return;
        }
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(secret);
        if let Ok(mut s) = self.secrets.write() {
            for form in [secret, json] {
                if !s.iter().any(|k| k == form) {
                    s.push(form.to_owned());
                }
            }
            // Longest first, so a key containing another key is replaced whole.
            s.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }

    /// `text` with every known secret, and every run of 8 or more consecutive characters of
    /// one, replaced by `<redacted>`.
    pub(crate) fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Ok(secrets) = self.secrets.read() else {
            return Cow::Borrowed(text);
        };
        let mut out = Cow::Borrowed(text);
        for k in secrets.iter() {
            if let Cow::Owned(clean) = redact_secret(&out, k) {
                out = Cow::Owned(clean);
            }
        }
        out
    }

    /// `text` redacted, then escaped line by line (line breaks kept): what stderr receives.
    pub(crate) fn apply_for_terminal(&self, text: &str) -> String {
        let clean = self.apply(text);
        let mut out = String::with_capacity(clean.len());
        for (i, line) in clean.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&escape_untrusted(line));
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
        let clean = self.redactor.apply_for_terminal(&text);
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

    #[test]
    fn fragments_of_eight_or_more_characters_are_redacted() {
        let r = Redactor::default();
        r.add("0123456789abcdef0123456789abcdef");
        assert_eq!(
            r.apply("cut: \"0123456789ab…"),
            format!("cut: \"{REDACTED}…")
        );
        assert_eq!(r.apply("tail 89abcdef end"), format!("tail {REDACTED} end"));
        assert_eq!(r.apply("short 0123456 ok"), "short 0123456 ok");
        // A key with a quote appears JSON-escaped in echoed bodies.
        let r = Redactor::default();
        r.add("ab\"cdefghijklmnop");
        assert!(
            !r.apply(r#"{"clientKey":"ab\"cdefghijklmnop"}"#)
                .contains("cdefghij")
        );
    }

    #[test]
    fn a_stray_space_after_the_option_still_marks_the_key_secret() {
        for args in [
            &["x", "--client-key=", "0badc0de0badc0de", "balance"][..],
            &["x", "--client-key", "=", "0badc0de0badc0de"][..],
            &["x", "--client-key", "", "0badc0de0badc0de"][..],
        ] {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            let r = Redactor::from_process(&args);
            assert_eq!(
                r.apply("unrecognized subcommand '0badc0de0badc0de'"),
                format!("unrecognized subcommand '{REDACTED}'")
            );
        }
    }

    #[test]
    fn terminal_output_is_escaped_line_by_line() {
        let r = Redactor::default();
        assert_eq!(
            r.apply_for_terminal("a\u{1b}[2Jb\u{2028}c\n"),
            "a\\u{1b}[2Jb\\u{2028}c\n"
        );
    }
}
