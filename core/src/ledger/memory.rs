//! The in-memory ledger.

use std::collections::VecDeque;
use std::hash::BuildHasher;

/// The ledger's indexes: keyed by random local ids and the service's task ids, which a
/// keyed fast hash spreads as well as SipHash, for a fraction of its cost per change.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hashbrown::HashTable;

use super::{
    Conflict, GuardTrip, KeyedInsert, Ledger, LedgerError, check_insert, check_keyed_insert,
    keyed_holder, totals_after_insert,
};

use crate::error::ErrorCategory;
use crate::record::{Applied, Change, LocalId, MicroUsd, SpendTotals, TaskRecord, TaskState};
use crate::task::TaskFamily;
use crate::{TaskId, TextTaskId};

/// A ledger in memory, behind one mutex: every operation is atomic across the threads of
/// the process, and everything is gone when the process ends. Every client has one by
/// default, so the 120-poll count and the spend cap hold across the calls of one client.
///
/// A change is applied to the stored record in place ([`Change::apply_in_place`]); only
/// the copy the caller gets back is made, and it shares the task's JSON with the stored one.
///
/// [`MemoryLedger::bounded`] keeps whole at most a number of *finished* records; older
/// finished records are compacted to their facts or forgotten (unfinished ones, the spend
/// totals and the guard are always kept), so that a long-lived client does not grow with
/// the tasks it finished; every client's default ledger is
/// `MemoryLedger::bounded(DEFAULT_FINISHED_KEPT)`.
///
/// One `MemoryLedger` is one key's namespace, as one SQLite or Redis ledger opened for a key
/// is: its records, spend totals and account guard belong to the key of the clients that use
/// it. Clients of different keys each keep their own (the default); the live guard they may
/// share ([`ClientState`](crate::ClientState)) is scoped per key by itself.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    inner: Mutex<Inner>,
    /// Keep at most this many finished records whole (`None`: all).
    finished_kept: Option<usize>,
}

/// How many finished records a client's default in-memory ledger keeps whole: only the most
/// recently finished one. Every other finished record is compacted to a 48-byte stub
/// ([`MemoryLedger::bounded`]) as the next one finishes, while its memory is likely still
/// in a cache (keeping 256 whole, as before, made each solve compact a record 256 solves
/// old, gone cold: about 8 % more misses of a 512 KiB cache per solve, on the benchmark's
/// default path). The stub keeps what `resume` and reports need (ids, poll
/// count, family, times, settled spend, how it ended); a resume of a compacted solved task
/// polls it once more, within what is left of its 120 polls. A client that wants more answers
/// kept whole takes its own ledger: `client.with_ledger(Arc::new(MemoryLedger::bounded(n)))`.
pub const DEFAULT_FINISHED_KEPT: usize = 1;

/// Stubs per chunk of the stub store: a chunk is allocated whole and freed when its last
/// stub is dropped, so the store's slack is at most one chunk at each end.
const CHUNK: usize = 1024;

/// Half the range of a stub's 32-bit time offset: a new epoch is set this far before the
/// time that did not fit, so that times on both sides of it fit.
const HALF_RANGE: u64 = 1 << 31;

/// What a compacted finished record keeps (48 bytes, plus its two 4-byte index entries):
/// what `resume` and the 120-poll rule need while the service may still answer for the
/// task (its ids, poll count, family, times, settled spend, how it ended). What does not
/// fit (a string task id, an error code, a provider, a time outside the store's 49-day
/// window, a spend over $4,294) is in the store's side table.
#[derive(Debug, Clone, Copy)]
struct Stub {
    local_id: [u8; 16],
    /// The integer task id (0 when the id is a string: in the side table).
    task_int: u64,
    /// The low 32 bits of the record's insertion number (its place in `list_all`).
    seq: u32,
    /// `task_created_at_ms - epoch` (when it fits: else in the side table).
    at: u32,
    /// `finished_at_ms - task_created_at_ms` (saturating).
    finished_after_ms: u32,
    /// `task_created_at_ms - created_at_ms` (saturating).
    created_before_ms: u32,
    /// The settled spend, when `settled` (when it fits: else in the side table).
    spend: u32,
    /// Polls sent (bits 0–6), reserved (bits 7–13), settled (bit 14), has a side-table
    /// entry (bit 15).
    bits: u16,
    family: TaskFamily,
    end: End,
}

const SETTLED: u16 = 1 << 14;
const HAS_EXTRA: u16 = 1 << 15;

/// How a compacted task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Solved,
    Failed(ErrorCategory),
    /// The stub no longer stands for a record (its record was reopened, or it is older
    /// than the retention): skipped, its place reclaimed when it reaches the front.
    Dead,
}

/// What some compacted records have: what does not fit in a [`Stub`]. The provider and the
/// captcha link, which every record of a failover client has, cost no allocation here; the
/// rest, which few records have, is boxed apart.
#[derive(Debug, Clone, Default)]
struct StubExtra {
    /// The provider's name, shared by the store's stubs of that provider ([`Names`]).
    provider: Option<Arc<str>>,
    captcha: Option<Link>,
    rare: Option<Box<RareExtra>>,
}

/// A compacted record's captcha link.
#[derive(Debug, Clone)]
enum Link {
    /// The record's own local id (a failover's first attempt is linked to itself).
    OwnId,
    Text(Box<str>),
}

/// What few compacted records have.
#[derive(Debug, Clone, Default)]
struct RareExtra {
    code: Option<String>,
    text_id: Option<TextTaskId>,
    /// `task_created_at_ms`, when outside the store's window.
    at_ms: Option<u64>,
    /// The settled spend, when over `u32::MAX` micro-USD.
    spend: Option<u64>,
}

impl RareExtra {
    fn is_empty(&self) -> bool {
        self.code.is_none()
            && self.text_id.is_none()
            && self.at_ms.is_none()
            && self.spend.is_none()
    }
}

impl StubExtra {
    fn is_empty(&self) -> bool {
        self.provider.is_none() && self.captcha.is_none() && self.rare.is_none()
    }

    fn rare(&self) -> Option<&RareExtra> {
        self.rare.as_deref()
    }

    fn rare_mut(&mut self) -> &mut RareExtra {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Drops the rare part when nothing is left in it.
    fn tidy(&mut self) {
        if self.rare.as_deref().is_some_and(RareExtra::is_empty) {
            self.rare = None;
        }
    }
}

/// The provider names of a store's stubs, each kept once (a client has a handful).
#[derive(Debug, Default)]
struct Names(Vec<Arc<str>>);

impl Names {
    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.0.iter().find(|n| ***n == *name) {
            return Arc::clone(n);
        }
        let n: Arc<str> = Arc::from(name);
        self.0.push(Arc::clone(&n));
        n
    }
}

/// What a compacted solved task reads as: a task given up after creation, so that a
/// `resume` polls it again (within its remaining polls) instead of answering from the
/// record; its spend stays settled.
const SOLVED_NOT_KEPT: &str = "solved; its answer is no longer kept by this in-memory ledger \
     (it keeps the most recent answers only): a resume polls the task again";
/// The message of a compacted failure.
const FAILURE_NOT_KEPT: &str = "failed; the message is no longer kept by this in-memory ledger (it keeps the most recent only)";

/// The facts of a compactable record: its stub (`at` and `spend` not yet encoded) and
/// what does not fit in one.
struct Compacted {
    stub: Stub,
    at_ms: u64,
    spend: u64,
    extra: StubExtra,
}

impl Compacted {
    /// The facts of `r` (inserted `seq`-th) when it can be compacted: finished, with a task
    /// id and its creation time (what the retention rule needs), no caller key (a caller
    /// reads its answers back by key), solved or failed, with poll counts that fit.
    fn of(r: &TaskRecord, seq: u64, names: &mut Names) -> Option<Self> {
        if r.caller_key().is_some() {
            return None;
        }
        let at_ms = r.task_created_at_ms()?;
        let (task_id, end, code) = match r.state() {
            TaskState::Solved { task_id, .. } => (*task_id, End::Solved, None),
            TaskState::Failed {
                task_id: Some(t),
                category,
                code,
                ..
            } => (*t, End::Failed(*category), code.clone()),
            _ => return None,
        };
        let (task_int, text_id) = match task_id {
            TaskId::Int(n) => (n, None),
            TaskId::Text(t) => (0, Some(t)),
        };
        let polls = |n: u32| u16::try_from(n).ok().filter(|&n| n < 128);
        let settled = r.spend_settled();
        let diff = |a: u64, b: u64| u32::try_from(a.saturating_sub(b)).unwrap_or(u32::MAX);
        Some(Self {
            stub: Stub {
                local_id: r.local_id().to_bytes(),
                task_int,
                seq: seq as u32,
                at: 0,
                finished_after_ms: diff(r.finished_at_ms().unwrap_or(at_ms), at_ms),
                created_before_ms: diff(at_ms, r.created_at_ms()),
                spend: 0,
                bits: polls(r.polls_sent())?
                    | polls(r.polls_reserved())? << 7
                    | if settled.is_some() { SETTLED } else { 0 },
                family: r.family(),
                end,
            },
            at_ms,
            spend: settled.map_or(0, |m| m.0),
            extra: {
                let mut extra = StubExtra {
                    provider: r.provider().map(|p| names.intern(p)),
                    captcha: r.captcha().map(|c| {
                        // Exactly as the id displays (lowercase), so that it reads back
                        // the same.
                        if c.as_bytes() == r.local_id().hex() {
                            Link::OwnId
                        } else {
                            Link::Text(c.into())
                        }
                    }),
                    rare: None,
                };
                if code.is_some() || text_id.is_some() {
                    let rare = extra.rare_mut();
                    rare.code = code;
                    rare.text_id = text_id;
                }
                extra
            },
        })
    }
}

/// The compacted records, densely in the order they were compacted (about the order they
/// finished), in chunks: dropping the oldest is popping from the front. Two hash tables
/// of 4-byte positions find a stub by local id and by integer task id (the keys are read
/// from the stub itself, not stored twice).
#[derive(Debug, Default)]
struct Stubs {
    chunks: VecDeque<Vec<Stub>>,
    /// The position of `chunks[0][0]` (positions wrap around `u32`).
    first: u32,
    /// Stubs already dropped at the front of `chunks[0]`.
    head: usize,
    /// Stubs held (dead ones included) from `head` on.
    len: usize,
    /// Live stubs.
    live: usize,
    /// Stub times are offsets from this (unix ms).
    epoch: u64,
    by_local: HashTable<u32>,
    by_int: HashTable<u32>,
    by_text: HashMap<TextTaskId, u32>,
    extras: HashMap<u32, StubExtra>,
    names: Names,
    hasher: foldhash::fast::RandomState,
}

impl Stubs {
    fn get(&self, pos: u32) -> &Stub {
        let rel = pos.wrapping_sub(self.first) as usize;
        &self.chunks[rel / CHUNK][rel % CHUNK]
    }

    fn get_mut(&mut self, pos: u32) -> &mut Stub {
        let rel = pos.wrapping_sub(self.first) as usize;
        &mut self.chunks[rel / CHUNK][rel % CHUNK]
    }

    fn front(&self) -> u32 {
        self.first.wrapping_add(self.head as u32)
    }

    fn find_local(&self, id: LocalId) -> Option<u32> {
        let id = id.to_bytes();
        let hash = self.hasher.hash_one(id);
        self.by_local
            .find(hash, |&p| self.get(p).local_id == id)
            .copied()
    }

    fn find_task(&self, t: &TaskId) -> Option<u32> {
        match t {
            TaskId::Int(n) => {
                let hash = self.hasher.hash_one(n);
                self.by_int
                    .find(hash, |&p| self.get(p).task_int == *n)
                    .copied()
            }
            TaskId::Text(s) => self.by_text.get(s).copied(),
        }
    }

    fn extra(&self, pos: u32) -> Option<&StubExtra> {
        if self.get(pos).bits & HAS_EXTRA == 0 {
            return None;
        }
        self.extras.get(&pos)
    }

    fn at_ms(&self, pos: u32) -> u64 {
        self.extra(pos)
            .and_then(|e| e.rare()?.at_ms)
            .unwrap_or_else(|| self.epoch + u64::from(self.get(pos).at))
    }

    /// Stores `c`, with room for it made first; returns its position.
    fn push(&mut self, c: Compacted) -> u32 {
        let Compacted {
            mut stub,
            at_ms,
            spend,
            mut extra,
        } = c;
        if self.live == 0 {
            self.epoch = at_ms.saturating_sub(HALF_RANGE);
        } else if at_ms >= self.epoch.saturating_add(1 << 32) {
            self.rebase(at_ms.saturating_sub(HALF_RANGE));
        }
        match at_ms
            .checked_sub(self.epoch)
            .and_then(|d| u32::try_from(d).ok())
        {
            Some(d) => stub.at = d,
            None => extra.rare_mut().at_ms = Some(at_ms),
        }
        match u32::try_from(spend) {
            Ok(s) => stub.spend = s,
            Err(_) => extra.rare_mut().spend = Some(spend),
        }
        let text = extra.rare().and_then(|r| r.text_id);
        if self.chunks.back().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push_back(Vec::with_capacity(CHUNK));
        }
        let pos = self.front().wrapping_add(self.len as u32);
        if !extra.is_empty() {
            stub.bits |= HAS_EXTRA;
            self.extras.insert(pos, extra);
        }
        if let Some(c) = self.chunks.back_mut() {
            c.push(stub);
        }
        self.len += 1;
        self.live += 1;
        let Self {
            chunks,
            first,
            by_local,
            by_int,
            by_text,
            hasher,
            ..
        } = self;
        let at = |p: u32| -> &Stub {
            let rel = p.wrapping_sub(*first) as usize;
            &chunks[rel / CHUNK][rel % CHUNK]
        };
        by_local.insert_unique(hasher.hash_one(stub.local_id), pos, |&p| {
            hasher.hash_one(at(p).local_id)
        });
        match text {
            Some(t) => {
                by_text.insert(t, pos);
            }
            None => {
                by_int.insert_unique(hasher.hash_one(stub.task_int), pos, |&p| {
                    hasher.hash_one(at(p).task_int)
                });
            }
        }
        pos
    }

    /// Moves the time window to start at `epoch`: every live stub's time is encoded again
    /// (into the side table when it falls outside). Once in about 25 days of a process's
    /// life, over the stubs of the retention.
    fn rebase(&mut self, epoch: u64) {
        let positions: Vec<u32> = self.positions().collect();
        for pos in positions {
            let t = self.at_ms(pos);
            let fits = t.checked_sub(epoch).and_then(|d| u32::try_from(d).ok());
            let mut extra = self.extras.remove(&pos).unwrap_or_default();
            match fits {
                Some(_) => {
                    if let Some(rare) = extra.rare.as_deref_mut() {
                        rare.at_ms = None;
                    }
                    extra.tidy();
                }
                None => extra.rare_mut().at_ms = Some(t),
            }
            let stub = self.get_mut(pos);
            if let Some(d) = fits {
                stub.at = d;
            }
            if extra.is_empty() {
                stub.bits &= !HAS_EXTRA;
            } else {
                stub.bits |= HAS_EXTRA;
                self.extras.insert(pos, extra);
            }
        }
        self.epoch = epoch;
    }

    /// The positions of the live stubs, oldest first.
    fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        let front = self.front();
        (0..self.len)
            .map(move |i| front.wrapping_add(i as u32))
            .filter(|&p| self.get(p).end != End::Dead)
    }

    /// Drops the stub at `pos` from the indexes and marks it dead.
    fn kill(&mut self, pos: u32) {
        let stub = *self.get(pos);
        if stub.end == End::Dead {
            return;
        }
        let extra = if stub.bits & HAS_EXTRA == 0 {
            None
        } else {
            self.extras.remove(&pos)
        };
        if let Ok(e) = self
            .by_local
            .find_entry(self.hasher.hash_one(stub.local_id), |&p| p == pos)
        {
            e.remove();
        }
        match extra.as_ref().and_then(|e| e.rare()?.text_id) {
            Some(t) => {
                self.by_text.remove(&t);
            }
            None => {
                if let Ok(e) = self
                    .by_int
                    .find_entry(self.hasher.hash_one(stub.task_int), |&p| p == pos)
                {
                    e.remove();
                }
            }
        }
        self.get_mut(pos).end = End::Dead;
        self.live -= 1;
    }

    /// Drops the stubs at the front that are dead or whose task was created at least
    /// `retention` ms before `now_ms`.
    fn drop_old(&mut self, now_ms: u64, retention: u64) {
        while self.len > 0 {
            let pos = self.front();
            if self.get(pos).end != End::Dead {
                if now_ms.saturating_sub(self.at_ms(pos)) < retention {
                    break;
                }
                self.kill(pos);
            }
            self.head += 1;
            self.len -= 1;
            if self.head == CHUNK || self.len == 0 {
                // The front chunk is spent (or the store empty): free it.
                if self.chunks.pop_front().is_some() {
                    // Positions wrap around `u32`, by design.
                    self.first = self.first.wrapping_add(self.head as u32);
                }
                self.head = 0;
            }
        }
    }

    fn local_id(&self, pos: u32) -> LocalId {
        LocalId::from_bytes(self.get(pos).local_id)
    }

    /// The insertion number of the stub at `pos`, given the next one to be given.
    fn seq(&self, pos: u32, next_seq: u64) -> u64 {
        let back = (next_seq as u32).wrapping_sub(self.get(pos).seq);
        next_seq.wrapping_sub(u64::from(back))
    }

    /// The record the stub at `pos` stands for.
    fn record(&self, pos: u32) -> TaskRecord {
        let s = self.get(pos);
        let extra = self.extra(pos);
        let (category, message) = match s.end {
            End::Failed(c) => (c, FAILURE_NOT_KEPT),
            End::Solved | End::Dead => (ErrorCategory::GaveUp, SOLVED_NOT_KEPT),
        };
        let task_id = match extra.and_then(|e| e.rare()?.text_id) {
            Some(t) => TaskId::Text(t),
            None => TaskId::Int(s.task_int),
        };
        let state = TaskState::Failed {
            task_id: Some(task_id),
            category,
            code: extra.and_then(|e| e.rare()?.code.clone()),
            message: message.to_string(),
        };
        let t = self.at_ms(pos);
        let spend = extra
            .and_then(|e| e.rare()?.spend)
            .unwrap_or_else(|| u64::from(s.spend));
        let mut r = TaskRecord::rebuilt(
            LocalId::from_bytes(s.local_id),
            s.family,
            state,
            (u32::from(s.bits & 0x7f), u32::from(s.bits >> 7 & 0x7f)),
            (
                t.saturating_sub(u64::from(s.created_before_ms)),
                Some(t),
                Some(t.saturating_add(u64::from(s.finished_after_ms))),
            ),
            (s.bits & SETTLED != 0).then_some(MicroUsd(spend)),
        );
        if let Some(p) = extra.and_then(|e| e.provider.as_deref()) {
            r = r.with_provider(p);
        }
        match extra.and_then(|e| e.captcha.as_ref()) {
            Some(Link::OwnId) => r = r.with_captcha(LocalId::from_bytes(s.local_id).to_string()),
            Some(Link::Text(c)) => r = r.with_captcha(&**c),
            None => {}
        }
        r
    }
}

/// A whole record and its insertion number.
#[derive(Debug)]
struct Whole {
    seq: u64,
    rec: Box<TaskRecord>,
}

/// Slots by task id: integer ids in a map of their own, so that the common case costs 16
/// bytes an entry, not a [`TaskId`]'s 48.
#[derive(Debug, Default)]
struct TaskIndex {
    ints: HashMap<u64, usize>,
    texts: HashMap<TextTaskId, usize>,
}

impl TaskIndex {
    fn get(&self, t: &TaskId) -> Option<&usize> {
        match t {
            TaskId::Int(n) => self.ints.get(n),
            TaskId::Text(s) => self.texts.get(s),
        }
    }

    fn insert(&mut self, t: TaskId, i: usize) {
        match t {
            TaskId::Int(n) => self.ints.insert(n, i),
            TaskId::Text(s) => self.texts.insert(s, i),
        };
    }

    fn remove(&mut self, t: &TaskId) {
        match t {
            TaskId::Int(n) => self.ints.remove(n),
            TaskId::Text(s) => self.texts.remove(s),
        };
    }

    fn clear(&mut self) {
        self.ints.clear();
        self.texts.clear();
    }
}

/// Where a record is held.
#[derive(Debug, Clone, Copy)]
enum At {
    /// Whole, in `slots[i]`.
    Whole(usize),
    /// Compacted, at this position of the stub store.
    Stub(u32),
}

#[derive(Debug, Default)]
struct Inner {
    /// Whole records, about in insertion order (`None`: compacted or forgotten; the place
    /// is reclaimed at the next prune).
    slots: Vec<Option<Whole>>,
    by_local: HashMap<LocalId, usize>,
    by_task: TaskIndex,
    by_key: HashMap<String, Vec<usize>>,
    /// Compacted finished records (bounded ledgers only).
    stubs: Stubs,
    /// The insertion number of the next record.
    next_seq: u64,
    /// Whole finished records in the order they finished (bounded ledgers only): past the
    /// bound, the oldest is compacted or forgotten.
    finished: VecDeque<LocalId>,
    totals: SpendTotals,
    guard: Option<GuardTrip>,
    /// Prune when this many slots are held (twice what the last prune kept, at least
    /// twice the bound): pruning stays amortized O(1) even when little can be dropped.
    prune_at: usize,
}

/// The service's retention of a task's result, in ms.
fn retention_ms() -> u64 {
    u64::try_from(crate::policy::RESULT_RETENTION.as_millis()).unwrap_or(u64::MAX)
}

impl MemoryLedger {
    /// An empty ledger that keeps every record whole.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger that keeps at most `finished` finished records whole (at least 1):
    /// past that, the oldest finished record is compacted to a 48-byte stub (local and
    /// task id, poll count, family, times, settled spend, how it ended) while the service
    /// may still answer for its task (created less than [`RESULT_RETENTION`] before the
    /// newest record: its poll count must outlive it, or a later poll of the task would
    /// start again from 0), and forgotten otherwise (a task id or caller key of a forgotten
    /// record is unknown again). A compacted solved task reads as given up after creation
    /// (its answer is not kept: a `resume` polls it again, within what is left of its 120
    /// polls, and its spend stays settled); a compacted failure keeps its category and
    /// code, not its message. Records with a caller key are kept whole for the retention.
    /// Unfinished records, the spend totals and the guard are always kept.
    ///
    /// So the ledger holds at most `finished` whole finished records, plus about 60–70 bytes
    /// per task finished within [`RESULT_RETENTION`]: the stub, stored densely in the order
    /// records were compacted (dropped from the front once past the retention), and its two
    /// 4-byte index entries with their hash tables' slack (66–71 bytes measured by `cargo
    /// run --release -p capmonster-bench --bin ledger-mem`). At 1,000 tasks/s, 600,000
    /// stubs, about 40 MB, steady. A provider and a captcha link (every record of a client
    /// with providers) go to a side table: about 200 bytes per task in all (measured by
    /// `ledger-mem 120000 256 --failover`; provider names are kept once, a link to the
    /// record's own id is a flag). A string task id (such as CapSolver's), an error code, any
    /// other link, or a spend over $4,294 costs a little more, and its strings.
    ///
    /// [`RESULT_RETENTION`]: crate::policy::RESULT_RETENTION
    pub fn bounded(finished: usize) -> Self {
        Self {
            inner: Mutex::default(),
            finished_kept: Some(finished.max(1)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is checked before it is made (`Change::apply_in_place`), so a panic
        // in another thread cannot have left a half-made change behind.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a checked `record` under the held lock.
    fn insert_locked(&self, g: &mut Inner, record: &TaskRecord) -> Result<(), LedgerError> {
        let id = record.local_id();
        if g.at_local(id).is_some() {
            return Err(LedgerError::Conflict(Conflict::LocalIdExists(id)));
        }
        if let Some(task_id) = record.task_id()
            && let Some(at) = g.at_task(&task_id)
        {
            let holder = g.local_id_at(at);
            return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                task_id,
                holder,
            }));
        }
        if let Some(keep) = self.finished_kept {
            if g.slots.len() >= g.prune_at.max(keep.saturating_mul(2)) {
                g.prune(keep, record.created_at_ms());
            }
            g.stubs.drop_old(record.created_at_ms(), retention_ms());
        }
        let seq = g.next_seq;
        g.next_seq += 1;
        g.totals = totals_after_insert(g.totals, record);
        g.put_whole(seq, Box::new(record.clone()));
        if record.is_finished() {
            self.finished_now(g, id);
        }
        Ok(())
    }

    /// Notes that the whole record `id` finished; past the bound, compacts or forgets the
    /// oldest whole finished record.
    fn finished_now(&self, g: &mut Inner, id: LocalId) {
        let Some(keep) = self.finished_kept else {
            return;
        };
        g.finished.push_back(id);
        while g.finished.len() > keep {
            let Some(old) = g.finished.pop_front() else {
                break;
            };
            g.compact(old);
        }
    }
}

impl MemoryLedger {
    /// [`Ledger::update`], applied to the stored record in place; `out` reads what the
    /// caller needs of the changed record. Returns it, the totals and the polls granted.
    fn change<R>(
        &self,
        id: LocalId,
        change: &Change,
        out: impl FnOnce(&TaskRecord) -> R,
    ) -> Result<(R, SpendTotals, u32), LedgerError> {
        let mut guard = self.lock();
        let g = &mut *guard;
        let at = g.at_local(id).ok_or(LedgerError::NotFound(id))?;
        let created = change.claims_task_id();
        if let Some(task_id) = created
            && let Some(other) = g.at_task(&task_id)
        {
            let holder = g.local_id_at(other);
            if holder != id {
                return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                    task_id,
                    holder,
                }));
            }
        }
        let mut totals = g.totals;
        let (i, granted, was_finished, now_finished, read) = match at {
            At::Whole(i) => {
                let Some(w) = g.slots[i].as_mut() else {
                    return Err(LedgerError::NotFound(id));
                };
                let rec = &mut w.rec;
                let was_finished = rec.is_finished();
                let granted = change.apply_in_place(rec, &mut totals)?;
                (i, granted, was_finished, rec.is_finished(), out(rec))
            }
            At::Stub(pos) => {
                // A compacted record changes (e.g. reopened for a resume): whole again.
                let mut rec = g.stubs.record(pos);
                let granted = change.apply_in_place(&mut rec, &mut totals)?;
                let read = out(&rec);
                let now_finished = rec.is_finished();
                let seq = g.stubs.seq(pos, g.next_seq);
                g.stubs.kill(pos);
                let i = g.put_whole(seq, Box::new(rec));
                (i, granted, false, now_finished, read)
            }
        };
        g.totals = totals;
        if let Some(task_id) = created {
            g.by_task.insert(task_id, i);
        }
        if !was_finished && now_finished {
            self.finished_now(g, id);
        }
        Ok((read, totals, granted))
    }
}

impl Inner {
    /// Stores a whole record in a new slot and indexes it; returns the slot.
    fn put_whole(&mut self, seq: u64, rec: Box<TaskRecord>) -> usize {
        let i = self.slots.len();
        self.by_local.insert(rec.local_id(), i);
        if let Some(task_id) = rec.task_id() {
            self.by_task.insert(task_id, i);
        }
        if let Some(key) = rec.caller_key() {
            self.by_key.entry(key.to_string()).or_default().push(i);
        }
        self.slots.push(Some(Whole { seq, rec }));
        i
    }

    fn at_local(&self, id: LocalId) -> Option<At> {
        match self.by_local.get(&id) {
            Some(&i) => Some(At::Whole(i)),
            None => self.stubs.find_local(id).map(At::Stub),
        }
    }

    fn at_task(&self, t: &TaskId) -> Option<At> {
        match self.by_task.get(t) {
            Some(&i) => Some(At::Whole(i)),
            None => self.stubs.find_task(t).map(At::Stub),
        }
    }

    fn local_id_at(&self, at: At) -> LocalId {
        match at {
            At::Whole(i) => self.slots[i]
                .as_ref()
                // Never indexed.
                .map_or(LocalId::from_bytes([0; 16]), |w| w.rec.local_id()),
            At::Stub(pos) => self.stubs.local_id(pos),
        }
    }

    fn read(&self, at: At) -> Option<TaskRecord> {
        match at {
            At::Whole(i) => self.slots[i].as_ref().map(|w| (*w.rec).clone()),
            At::Stub(pos) => Some(self.stubs.record(pos)),
        }
    }

    fn records(&self, is: &[usize]) -> Vec<TaskRecord> {
        is.iter().filter_map(|&i| self.read(At::Whole(i))).collect()
    }

    /// Compacts the whole finished record `id` to its stub, or forgets it when the retention
    /// rule does not need it; keeps it whole when a caller reads it back by key, or when it
    /// was reopened since.
    fn compact(&mut self, id: LocalId) {
        let Some(&i) = self.by_local.get(&id) else {
            return;
        };
        let Some(w) = &self.slots[i] else {
            return;
        };
        let r = &w.rec;
        if !r.is_finished() || r.caller_key().is_some() {
            return;
        }
        let stub = Compacted::of(r, w.seq, &mut self.stubs.names);
        if stub.is_none() && r.task_created_at_ms().is_some() {
            // Kept whole: the service may still answer for a task whose facts do not fit.
            return;
        }
        // Compacted, or forgotten (no task the service may answer for: nothing created,
        // or adopted).
        if let Some(t) = r.task_id() {
            self.by_task.remove(&t);
        }
        self.by_local.remove(&id);
        self.slots[i] = None;
        if let Some(c) = stub {
            self.stubs.push(c);
        }
    }

    /// Drops the places of compacted and forgotten records, and the oldest whole finished
    /// records past `keep` whose task was created at least the service's retention before
    /// `now_ms` (records kept whole by their caller key), in order, and rebuilds the indexes
    /// of whole records.
    fn prune(&mut self, keep: usize, now_ms: u64) {
        let retention = retention_ms();
        let old = |t: Option<u64>| t.is_none_or(|t| now_ms.saturating_sub(t) >= retention);
        let whole_finished = self
            .slots
            .iter()
            .filter(|s| matches!(s, Some(w) if w.rec.is_finished()))
            .count();
        let mut drop = whole_finished.saturating_sub(keep);
        let slots = std::mem::take(&mut self.slots);
        self.slots = slots
            .into_iter()
            .filter(|s| match s {
                None => false,
                Some(w) => {
                    let r = &w.rec;
                    if drop > 0 && r.is_finished() && old(r.task_created_at_ms()) {
                        drop -= 1;
                        false
                    } else {
                        true
                    }
                }
            })
            .collect();
        self.prune_at = keep
            .saturating_mul(2)
            .max(self.slots.len().saturating_mul(2));
        self.by_local.clear();
        self.by_task.clear();
        self.by_key.clear();
        for (i, w) in self.slots.iter().enumerate() {
            let Some(w) = w else { continue };
            let r = &w.rec;
            self.by_local.insert(r.local_id(), i);
            if let Some(t) = r.task_id() {
                self.by_task.insert(t, i);
            }
            if let Some(k) = r.caller_key() {
                self.by_key.entry(k.to_string()).or_default().push(i);
            }
        }
    }

    /// Records with their insertion numbers, whole ones kept by `whole`, stubs if `stubs`,
    /// in insertion order.
    fn listed(&self, whole: impl Fn(&TaskRecord) -> bool, stubs: bool) -> Vec<TaskRecord> {
        let mut all: Vec<(u64, TaskRecord)> = self
            .slots
            .iter()
            .flatten()
            .filter(|w| whole(&w.rec))
            .map(|w| (w.seq, (*w.rec).clone()))
            .collect();
        if stubs {
            all.extend(
                self.stubs
                    .positions()
                    .map(|p| (self.stubs.seq(p, self.next_seq), self.stubs.record(p))),
            );
        }
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, r)| r).collect()
    }
}

impl Ledger for MemoryLedger {
    fn may_block(&self) -> bool {
        false
    }
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        check_insert(record)?;
        let mut g = self.lock();
        self.insert_locked(&mut g, record)
    }

    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        check_keyed_insert(record)?;
        let key = record.caller_key().unwrap_or_default();
        // The look-up and the insert under one lock: one atomic step.
        let mut g = self.lock();
        let existing = g.by_key.get(key).map_or_else(Vec::new, |is| g.records(is));
        if let Some(holder) = keyed_holder(&existing, replaces) {
            return Ok(KeyedInsert::Held(Box::new(holder.clone())));
        }
        self.insert_locked(&mut g, record)?;
        Ok(KeyedInsert::Inserted)
    }

    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        self.change(id, change, TaskRecord::clone)
            .map(|(record, totals, granted)| Applied {
                record,
                totals,
                granted,
            })
    }

    // The changes whose callers need no record: no copy of it is made.
    fn apply_change(&self, id: LocalId, change: &Change) -> Result<u32, LedgerError> {
        self.change(id, change, |_| ())
            .map(|(_, _, granted)| granted)
    }

    fn reserve_polls(&self, id: LocalId, n: u32) -> Result<u32, LedgerError> {
        self.change(id, &Change::ReservePolls { n }, |_| ())
            .map(|(_, _, granted)| granted)
    }

    fn reserve_spend(
        &self,
        id: LocalId,
        amount: MicroUsd,
        cap: MicroUsd,
    ) -> Result<SpendTotals, LedgerError> {
        self.change(id, &Change::ReserveSpend { amount, cap }, |_| ())
            .map(|(_, totals, _)| totals)
    }

    fn settle_spend(&self, id: LocalId, actual: MicroUsd) -> Result<SpendTotals, LedgerError> {
        self.change(id, &Change::SettleSpend { actual }, |_| ())
            .map(|(_, totals, _)| totals)
    }

    fn release_spend(&self, id: LocalId) -> Result<SpendTotals, LedgerError> {
        self.change(id, &Change::ReleaseSpend, |_| ())
            .map(|(_, totals, _)| totals)
    }

    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.at_local(id).and_then(|at| g.read(at)))
    }

    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.at_task(&task_id).and_then(|at| g.read(at)))
    }

    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.by_key.get(key).map_or_else(Vec::new, |is| g.records(is)))
    }

    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        Ok(self.lock().listed(|r| !r.is_finished(), false))
    }

    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        Ok(self.lock().listed(|_| true, true))
    }

    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        Ok(self.lock().totals)
    }

    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        let new = GuardTrip::new(code, until_ms)?;
        let mut g = self.lock();
        let merged = GuardTrip::merge(g.guard.take(), new);
        g.guard = Some(merged.clone());
        Ok(merged)
    }

    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        let g = self.lock();
        Ok(g.guard.as_ref().filter(|t| t.holds_at(now_ms)).cloned())
    }

    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        Ok(self.lock().guard.take())
    }

    fn guard_location(&self) -> String {
        "in memory (this process)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryLedger;

    #[test]
    fn memory_ledger_passes_the_conformance_suite() {
        crate::ledger::conformance::run_all(MemoryLedger::new);
        crate::ledger::conformance::run_all(|| MemoryLedger::bounded(1000));
    }

    #[test]
    fn a_bounded_ledger_forgets_the_oldest_finished_records_only() {
        use crate::ledger::Ledger;
        use crate::record::{LocalId, Outcome, TaskRecord};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(3);
        let id = |n: u8| LocalId::from_bytes([n; 16]);
        let open = TaskRecord::intent_json(id(0), TaskFamily::Unknown, serde_json::json!({}), 1);
        l.insert(&open).unwrap();
        for n in 1..=20u8 {
            let r = TaskRecord::intent_json(id(n), TaskFamily::Unknown, serde_json::json!({}), 1);
            l.insert(&r).unwrap();
            let why = "test".to_string();
            l.finish(id(n), Outcome::Unknown { why }, 0, 2).unwrap();
        }
        let all = l.list_all().unwrap();
        assert!(all.len() <= 7, "{}", all.len());
        assert_eq!(all[0].local_id(), id(0), "the unfinished record stays");
        assert!(l.get(id(20)).unwrap().is_some(), "the newest stays");
        assert!(l.get(id(1)).unwrap().is_none(), "the oldest finished went");
    }

    #[test]
    fn a_bounded_ledger_keeps_the_poll_count_of_tasks_the_service_still_answers_for() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::{LocalId, Outcome, TaskRecord};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(2);
        let id = |n: u64| LocalId::from_bytes(u128::from(n + 1).to_le_bytes());
        let minute = 60_000;
        // 30 tasks created a minute apart, each given up after 120 polls.
        for n in 0..30u64 {
            let at = n * minute;
            let r = TaskRecord::intent_json(id(n), TaskFamily::Unknown, serde_json::json!({}), at);
            l.insert(&r).unwrap();
            l.mark_created(id(n), TaskId::Int(1000 + n), at, None)
                .unwrap();
            assert_eq!(l.reserve_polls(id(n), 120).unwrap(), 120);
            let gave_up = Outcome::Failed {
                category: crate::ErrorCategory::GaveUp,
                code: None,
                message: "poll budget spent".to_string(),
            };
            l.finish(id(n), gave_up, 120, at).unwrap();
        }
        // Every task of the last 10 minutes still holds its 120 polls; older ones may go.
        for n in 20..30u64 {
            let rec = l.find_by_task_id(TaskId::Int(1000 + n)).unwrap();
            assert_eq!(rec.map(|r| r.polls_reserved()), Some(120), "task {n}");
        }
        assert!(
            l.find_by_task_id(TaskId::Int(1000)).unwrap().is_none(),
            "the oldest went"
        );
        assert!(l.list_all().unwrap().len() < 30, "the bound still prunes");
    }

    /// 1,000 tasks solved within the service's retention through a ledger that keeps 10
    /// whole: at most 10 records keep their task JSON and answer, every task keeps its poll
    /// count (the retention rule), and the spend stays as settled.
    #[test]
    fn a_bounded_ledger_compacts_finished_records_and_keeps_their_poll_counts() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::{LocalId, MicroUsd, Outcome, StateKind, TaskRecord};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(10);
        let id = |n: u64| LocalId::from_bytes(u128::from(n + 1).to_le_bytes());
        let task = serde_json::json!({"type": "RecaptchaV2TaskProxyless", "websiteURL": "https://example.com"});
        for n in 0..1000u64 {
            let at = 1_000_000 + n;
            let r = TaskRecord::intent_json(id(n), TaskFamily::RecaptchaV2, task.clone(), at);
            l.insert(&r).unwrap();
            l.reserve_spend(id(n), MicroUsd(2000), MicroUsd(u64::MAX))
                .unwrap();
            l.mark_created(id(n), TaskId::Int(10_000 + n), at, None)
                .unwrap();
            assert_eq!(l.reserve_polls(id(n), 4).unwrap(), 4);
            let solution = serde_json::json!({"gRecaptchaResponse": "0".repeat(500)});
            let solved = Outcome::Solved {
                solution: solution.into(),
                cost: Some(MicroUsd(1000)),
            };
            l.finish(id(n), solved, 1, at + 5).unwrap();
        }
        let all = l.list_all().unwrap();
        assert_eq!(all.len(), 1000, "every task is still within the retention");
        let whole = all.iter().filter(|r| !r.task().is_null()).count();
        assert!(whole <= 10, "{whole} whole records");
        for (n, r) in all.iter().enumerate() {
            assert_eq!(r.polls_reserved(), 4, "task {n}");
            assert_eq!(r.polls_sent(), 1, "task {n}");
            assert_eq!(r.task_id(), Some(TaskId::Int(10_000 + n as u64)));
            assert_eq!(r.family(), TaskFamily::RecaptchaV2);
            assert!(r.is_finished());
        }
        assert_eq!(l.spend_totals().unwrap().spent, MicroUsd(1_000_000));
        assert_eq!(l.spend_totals().unwrap().reserved, MicroUsd::ZERO);
        // The newest keep their answer; an old one reads as given up after creation, so a
        // resume polls it again within what is left of its 120 polls, charged once.
        let newest = l.find_by_task_id(TaskId::Int(10_999)).unwrap().unwrap();
        assert_eq!(newest.state().kind(), StateKind::Solved);
        let old = l.find_by_task_id(TaskId::Int(10_000)).unwrap().unwrap();
        assert_eq!(old.state().kind(), StateKind::Failed);
        assert_eq!(old.spend_settled(), Some(MicroUsd(1000)));
        l.reopen(id(0), None).unwrap();
        assert_eq!(
            l.reserve_polls(id(0), 200).unwrap(),
            116,
            "the count survived"
        );
        let again = serde_json::json!({"gRecaptchaResponse": "x"});
        let solved = Outcome::Solved {
            solution: again.into(),
            cost: Some(MicroUsd(1000)),
        };
        let rec = l.finish(id(0), solved, 2, 2_000_000).unwrap();
        assert_eq!(rec.state().kind(), StateKind::Solved);
        assert_eq!(
            l.spend_totals().unwrap().spent,
            MicroUsd(1_000_000),
            "charged once"
        );
    }

    /// Compacted records keep a string task id (CapSolver's) and a failure's code, and are
    /// found by it, next to integer ids.
    #[test]
    fn compacted_records_keep_string_task_ids() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::{LocalId, MicroUsd, Outcome, TaskRecord, TaskState};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(2);
        let id = |n: u64| LocalId::from_bytes(u128::from(n + 1).to_le_bytes());
        let task_id = |n: u64| -> TaskId {
            if n.is_multiple_of(2) {
                TaskId::Int(n)
            } else {
                format!("{n}-00000000-0000-4000-8000-{n:012x}")
                    .parse()
                    .unwrap()
            }
        };
        let task =
            serde_json::json!({"type": "TurnstileTask", "websiteURL": "https://example.com"});
        for n in 0..20u64 {
            let r = TaskRecord::intent_json(id(n), TaskFamily::Turnstile, task.clone(), 1_000 + n);
            l.insert(&r).unwrap();
            l.mark_created(id(n), task_id(n), 1_000 + n, None).unwrap();
            let outcome = if n % 4 < 2 {
                Outcome::Solved {
                    solution: serde_json::json!({"token": "t"}).into(),
                    cost: Some(MicroUsd(100)),
                }
            } else {
                Outcome::Failed {
                    category: crate::ErrorCategory::Service,
                    code: Some("ERROR_CAPTCHA_UNSOLVABLE".into()),
                    message: "unsolvable".into(),
                }
            };
            l.finish(id(n), outcome, 0, 2_000 + n).unwrap();
        }
        let whole = l
            .list_all()
            .unwrap()
            .iter()
            .filter(|r| !r.task().is_null())
            .count();
        assert!(
            whole <= 2,
            "{whole} whole records: the others are compacted"
        );
        for n in 0..20u64 {
            let r = l.find_by_task_id(task_id(n)).unwrap().expect("found");
            assert_eq!(
                (r.local_id(), r.task_id()),
                (id(n), Some(task_id(n))),
                "{n}"
            );
            if n % 4 >= 2 {
                let TaskState::Failed { code, .. } = r.state() else {
                    panic!("{n}: {:?}", r.state());
                };
                assert_eq!(code.as_deref(), Some("ERROR_CAPTCHA_UNSOLVABLE"), "{n}");
            }
        }
        assert!(l.find_by_task_id(TaskId::Int(1)).unwrap().is_none());
    }

    /// A compacted record is a 48-byte stub (its two index entries are 4 bytes each).
    #[test]
    fn a_compacted_record_takes_48_bytes() {
        assert!(
            size_of::<super::Stub>() <= 48,
            "{}",
            size_of::<super::Stub>()
        );
    }

    fn solved_at(l: &MemoryLedger, n: u64, at: u64, task_id: crate::TaskId) {
        use crate::ledger::Ledger;
        use crate::record::{MicroUsd, Outcome, TaskRecord};
        use crate::task::TaskFamily;
        let r = TaskRecord::intent_json(lid(n), TaskFamily::Turnstile, serde_json::json!({}), at);
        l.insert(&r).unwrap();
        l.mark_created(lid(n), task_id, at + 7, None).unwrap();
        assert_eq!(l.reserve_polls(lid(n), 3).unwrap(), 3);
        let solved = Outcome::Solved {
            solution: serde_json::json!({"token": "t"}).into(),
            cost: Some(MicroUsd(1500)),
        };
        l.finish(lid(n), solved, 2, at + 900).unwrap();
    }

    fn lid(n: u64) -> crate::record::LocalId {
        crate::record::LocalId::from_bytes(u128::from(n + 1).to_le_bytes())
    }

    /// A compacted record still names its provider and the captcha it served: a `resume`
    /// polls the provider that holds the task (CapMonster, had the name been lost).
    #[test]
    fn compacted_records_keep_their_provider_and_captcha() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::{Outcome, TaskRecord};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(1);
        // Ids with hex letters in them.
        let fid = |n: u64| {
            crate::record::LocalId::from_bytes(
                (u128::from(n + 1) * 0x00ab_cdef_0123_4567_89ab_cdef_0123_4567).to_le_bytes(),
            )
        };
        // A failover's first attempt is linked to its own id (kept without a copy, exactly
        // as written); the uppercase spelling of its id, or another id, is kept as text.
        let captcha = |n: u64| match n % 4 {
            0 => format!("captcha-{n}"),
            1 => fid(n).to_string(),
            2 => fid(n).to_string().to_uppercase(),
            _ => fid(n + 1).to_string(),
        };
        let provider = |n: u64| {
            if n.is_multiple_of(2) {
                "capsolver"
            } else {
                "anti-captcha"
            }
        };
        for n in 0..9u64 {
            let r =
                TaskRecord::intent_json(fid(n), TaskFamily::Turnstile, serde_json::json!({}), n)
                    .with_provider(provider(n))
                    .with_captcha(captcha(n));
            l.insert(&r).unwrap();
            l.mark_created(fid(n), TaskId::Int(100 + n), n, None)
                .unwrap();
            l.reserve_polls(fid(n), 1).unwrap();
            let solved = Outcome::Solved {
                solution: serde_json::json!({"token": "t"}).into(),
                cost: None,
            };
            l.finish(fid(n), solved, 1, n + 1).unwrap();
        }
        for n in 0..9u64 {
            let r = l.find_by_task_id(TaskId::Int(100 + n)).unwrap().unwrap();
            assert_eq!(r.provider(), Some(provider(n)), "{n}");
            assert_eq!(r.captcha(), Some(captcha(n).as_str()), "{n}");
        }
        // Each provider's name is kept once.
        assert_eq!(l.lock().stubs.names.0.len(), 2);
        assert!(
            l.get(fid(0)).unwrap().unwrap().task().is_null(),
            "compacted"
        );
    }

    /// Stub times are 32-bit offsets from an epoch: a task created 30 days after one still
    /// held moves the window, and both keep their exact times, poll counts and spends.
    #[test]
    fn stub_times_survive_a_moved_time_window() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::MicroUsd;
        let l = MemoryLedger::bounded(1);
        let day = 86_400_000u64;
        let t0 = 1_700_000_000_000u64;
        solved_at(&l, 0, t0, TaskId::Int(1));
        // Inserted at t0 (nothing is old yet), its task created 30 days later.
        let r = crate::record::TaskRecord::intent_json(
            lid(1),
            crate::task::TaskFamily::Turnstile,
            serde_json::json!({}),
            t0,
        );
        l.insert(&r).unwrap();
        l.mark_created(lid(1), TaskId::Int(2), t0 + 30 * day, None)
            .unwrap();
        l.finish(
            lid(1),
            crate::record::Outcome::Failed {
                category: crate::ErrorCategory::GaveUp,
                code: None,
                message: "m".into(),
            },
            0,
            t0 + 30 * day + 5,
        )
        .unwrap();
        // A third record, inserted at t0 too (nothing is old yet), compacts the second.
        let r = crate::record::TaskRecord::intent_json(
            lid(2),
            crate::task::TaskFamily::Turnstile,
            serde_json::json!({}),
            t0,
        );
        l.insert(&r).unwrap();
        l.finish(
            lid(2),
            crate::record::Outcome::Unknown { why: "w".into() },
            0,
            t0,
        )
        .unwrap();
        {
            // The window moved to the newer time: the older one is out of it (side table).
            let g = l.lock();
            let side = |n: u64| {
                g.stubs
                    .find_local(lid(n))
                    .map(|p| g.stubs.extra(p).is_some())
            };
            assert_eq!((side(0), side(1)), (Some(true), Some(false)));
        }
        for (n, created) in [(0u64, t0 + 7), (1, t0 + 30 * day)] {
            let r = l.get(lid(n)).unwrap().unwrap();
            assert!(r.task().is_null(), "{n} is compacted");
            assert_eq!(r.task_created_at_ms(), Some(created), "{n}");
        }
        let first = l.get(lid(0)).unwrap().unwrap();
        assert_eq!(first.created_at_ms(), t0);
        assert_eq!(first.finished_at_ms(), Some(t0 + 900));
        assert_eq!((first.polls_sent(), first.polls_reserved()), (2, 3));
        assert_eq!(first.spend_settled(), Some(MicroUsd(1500)));
        assert_eq!(
            l.get(lid(1)).unwrap().unwrap().finished_at_ms(),
            Some(t0 + 30 * day + 5)
        );
    }

    /// `list_all` and `list_unfinished` list records in insertion order, whether whole,
    /// compacted, or whole again after a resume reopened them.
    #[test]
    fn records_list_in_insertion_order_across_compaction_and_reopening() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        let l = MemoryLedger::bounded(2);
        for n in 0..40u64 {
            solved_at(&l, n, 1_000 + n, TaskId::Int(500 + n));
        }
        // Reopen two compacted ones (whole again, stored after the others).
        l.reopen(lid(3), None).unwrap();
        l.reopen(lid(17), None).unwrap();
        let ids: Vec<_> = l.list_all().unwrap().iter().map(|r| r.local_id()).collect();
        assert_eq!(ids, (0..40).map(lid).collect::<Vec<_>>());
        let open: Vec<_> = l
            .list_unfinished()
            .unwrap()
            .iter()
            .map(|r| r.local_id())
            .collect();
        assert_eq!(open, vec![lid(3), lid(17)]);
        assert_eq!(l.reserve_polls(lid(3), 200).unwrap(), 117);
    }

    /// Stubs of tasks past the retention are dropped from the front of the store, and their
    /// chunks freed: the store holds the retention's tasks, not the process's.
    #[test]
    fn stubs_past_the_retention_are_dropped_and_their_memory_freed() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        let l = MemoryLedger::bounded(4);
        // 3 tasks a second for an hour of ledger time: 10,800 tasks.
        for n in 0..10_800u64 {
            solved_at(&l, n, n * 1000 / 3, TaskId::Int(n + 1));
        }
        let g = l.lock();
        // At most the last 10 minutes' tasks (1,800), in at most 3 chunks of 1,024.
        assert!(g.stubs.live <= 1_800 + 4, "{}", g.stubs.live);
        assert!(g.stubs.chunks.len() <= 3, "{}", g.stubs.chunks.len());
        assert!(g.stubs.by_local.len() == g.stubs.live);
        assert!(g.slots.len() <= 16, "{}", g.slots.len());
        drop(g);
        assert!(l.find_by_task_id(TaskId::Int(1)).unwrap().is_none());
        let last = l
            .find_by_task_id(TaskId::Int(10_800 - 50))
            .unwrap()
            .unwrap();
        assert_eq!(last.polls_reserved(), 3);
    }
}
