//! One write per request: the default agent's request head goes out with its body.
//!
//! ureq writes a request in two steps, each its own socket write: the head (request line and
//! headers), then the body. Every write on a TCP connection with `TCP_NODELAY` (ureq's
//! default) is a segment of its own, so each request cost two system calls and two segments,
//! and the server two reads, where hyper sends head and body together in one `writev`.
//! [`JoinedWrites`] holds back the first output of a request (its head) and sends it with the
//! next (the body, or its first part) in one write. The bytes on the wire and their order are
//! unchanged; only their grouping into writes is.
//!
//! A request whose head is not followed by more output (no body) sends its head before it
//! waits for the answer: every wait for input first sends what is held. So a request never
//! waits for an answer to bytes not yet sent, whatever ureq does between the two outputs
//! (an `Expect: 100-continue` wait included). A failed write fails as the body's write
//! would have: the request's outcome is unknown either way.

use ureq::unversioned::transport::{Buffers, NextTimeout, Transport};
use ureq::unversioned::transport::{ConnectionDetails, Connector};

/// The default agent's connector link that wraps each connection's transport in
/// [`JoinedWrites`].
#[derive(Debug, Default)]
pub(crate) struct JoinWrites;

impl<In: Transport> Connector<In> for JoinWrites {
    type Out = JoinedWrites<In>;

    fn connect(
        &self,
        _: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(JoinedWrites::new))
    }
}

/// A transport that sends a request's first output together with its second (see the
/// [module](self)); everything else is the inner transport's.
#[derive(Debug)]
pub(crate) struct JoinedWrites<T> {
    inner: T,
    /// The request's first output, not yet sent.
    held: Vec<u8>,
    /// Whether the next output is a request's first: nothing was written since the
    /// connection was made or input was last awaited.
    first: bool,
}

impl<T: Transport> JoinedWrites<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            held: Vec::new(),
            first: true,
        }
    }

    /// Sends what is held, if anything.
    fn send_held(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.held.is_empty() {
            return Ok(());
        }
        let n = self.held.len();
        // The held bytes came from this buffer, so they fit in it.
        self.inner.buffers().output()[..n].copy_from_slice(&self.held);
        self.held.clear();
        self.inner.transmit_output(n, timeout)
    }
}

impl<T: Transport> Transport for JoinedWrites<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if std::mem::take(&mut self.first) && amount > 0 {
            // A request's head: held until its body (or a wait for input) comes.
            self.held
                .extend_from_slice(&self.inner.buffers().output()[..amount]);
            return Ok(());
        }
        let held = self.held.len();
        if held == 0 {
            return self.inner.transmit_output(amount, timeout);
        }
        let out = self.inner.buffers().output();
        let room = out.len();
        if held + amount <= room {
            // Head and body in one write: the body moves up, the head goes in front.
            out.copy_within(..amount, held);
            out[..held].copy_from_slice(&self.held);
            self.held.clear();
            return self.inner.transmit_output(held + amount, timeout);
        }
        // A body that fills the buffer: the head and the body's first `room - held` bytes in
        // one write, then the rest of this output (at most `held` bytes, kept aside).
        let cut = room - held;
        let rest = out[cut..amount].to_vec();
        out.copy_within(..cut, held);
        out[..held].copy_from_slice(&self.held);
        self.held.clear();
        self.inner.transmit_output(room, timeout)?;
        self.inner.buffers().output()[..rest.len()].copy_from_slice(&rest);
        self.inner.transmit_output(rest.len(), timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.send_held(timeout)?;
        self.first = true;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::transport::LazyBuffers;

    /// A transport that records each write's bytes and each wait for input.
    #[derive(Debug)]
    struct Wire {
        buffers: LazyBuffers,
        log: Vec<Io>,
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Io {
        Write(Vec<u8>),
        Read,
    }

    impl Wire {
        fn new(output: usize) -> Self {
            Self {
                buffers: LazyBuffers::new(64, output),
                log: Vec::new(),
            }
        }
    }

    impl Transport for Wire {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.buffers
        }
        fn transmit_output(&mut self, amount: usize, _: NextTimeout) -> Result<(), ureq::Error> {
            let bytes = self.buffers.output()[..amount].to_vec();
            self.log.push(Io::Write(bytes));
            Ok(())
        }
        fn await_input(&mut self, _: NextTimeout) -> Result<bool, ureq::Error> {
            self.log.push(Io::Read);
            Ok(true)
        }
        fn is_open(&mut self) -> bool {
            true
        }
    }

    /// Writes `chunk` as ureq does: into the output buffer from 0, then transmits it.
    fn put(t: &mut JoinedWrites<Wire>, chunk: &[u8]) {
        t.buffers().output()[..chunk.len()].copy_from_slice(chunk);
        t.transmit_output(chunk.len(), NextTimeout::default())
            .unwrap();
    }

    fn read(t: &mut JoinedWrites<Wire>) {
        t.await_input(NextTimeout::default()).unwrap();
    }

    /// Head and body go out in one write, in order; the next request on the connection too.
    #[test]
    fn a_request_is_one_write() {
        let mut t = JoinedWrites::new(Wire::new(1024));
        for _ in 0..2 {
            put(&mut t, b"POST /createTask HTTP/1.1\r\n\r\n");
            put(&mut t, b"{\"clientKey\":\"k\"}");
            read(&mut t);
            read(&mut t);
        }
        let one = || Io::Write(b"POST /createTask HTTP/1.1\r\n\r\n{\"clientKey\":\"k\"}".to_vec());
        assert_eq!(
            t.inner.log,
            [one(), Io::Read, Io::Read, one(), Io::Read, Io::Read]
        );
    }

    /// A request without a body sends its head before it waits for the answer, and so does
    /// a head followed by a wait (`Expect: 100-continue`), its body then sent as it comes.
    #[test]
    fn a_wait_sends_what_is_held_first() {
        let mut t = JoinedWrites::new(Wire::new(1024));
        put(&mut t, b"GET / HTTP/1.1\r\n\r\n");
        assert!(t.inner.log.is_empty(), "held until the wait");
        read(&mut t);
        put(&mut t, b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
        read(&mut t);
        put(&mut t, b"body");
        read(&mut t);
        let w = |b: &[u8]| Io::Write(b.to_vec());
        assert_eq!(
            t.inner.log,
            [
                w(b"GET / HTTP/1.1\r\n\r\n"),
                Io::Read,
                w(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"),
                Io::Read,
                w(b"body"),
                Io::Read,
            ]
        );
    }

    proptest::proptest! {
        /// Whatever the sizes of the head and of the body's parts (each at most the output
        /// buffer, as ureq writes them), the bytes written are exactly the request's, in
        /// order, in at most one write more than the body's parts, and the head never goes
        /// out alone unless nothing follows it before the wait.
        #[test]
        fn the_bytes_on_the_wire_are_the_request(
            room in 8usize..64,
            head in 1usize..64,
            parts in proptest::collection::vec(1usize..64, 0..5),
        ) {
            let head = head.min(room);
            let parts: Vec<usize> = parts.into_iter().map(|p| p.min(room)).collect();
            let mut t = JoinedWrites::new(Wire::new(room));
            let room = t.buffers().output().len();
            let mut sent = Vec::new();
            let mut next = 0u8;
            let mut chunk = |n: usize| -> Vec<u8> {
                (0..n).map(|_| { next = next.wrapping_add(1); next }).collect()
            };
            let h = chunk(head.min(room));
            sent.extend_from_slice(&h);
            put(&mut t, &h);
            for &p in &parts {
                let c = chunk(p.min(room));
                sent.extend_from_slice(&c);
                put(&mut t, &c);
            }
            read(&mut t);
            let writes: Vec<&Vec<u8>> = t.inner.log.iter().filter_map(|i| match i {
                Io::Write(b) => Some(b),
                Io::Read => None,
            }).collect();
            let wire: Vec<u8> = writes.iter().flat_map(|b| b.iter().copied()).collect();
            proptest::prop_assert_eq!(wire, sent);
            proptest::prop_assert!(writes.len() <= parts.len() + 1);
            proptest::prop_assert!(writes.len() >= parts.len().max(1));
            proptest::prop_assert_eq!(t.inner.log.last(), Some(&Io::Read));
        }
    }
}
