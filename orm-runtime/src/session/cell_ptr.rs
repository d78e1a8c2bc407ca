//! Reference-counted pointers to object cells, allocated in chunks.
//!
//! A session object is shared (`Obj` handles, relationships, the identity map), so it
//! lives behind a reference count, as an `Arc` would keep it. What an `Arc` cannot do is
//! share one allocation between many objects: a query of 10,000 rows would make 10,000
//! allocations of a few hundred bytes, and freeing them costs as much again — more than
//! everything else the session does per object. [`CellPtr`] is an `Arc` whose cells come
//! from chunks of up to [`CHUNK`] cells, allocated once per chunk by a [`ChunkAlloc`]:
//! each cell has its own strong and weak counts (`Arc`'s rules, `Arc`'s orderings), and a
//! chunk's memory is freed when the last cell in it is gone (its last weak reference).
//!
//! The price: a chunk stays allocated while any of its cells is alive, so a session that
//! loaded many objects and keeps a few of them holds at most [`CHUNK`] cells' memory per
//! object kept (the values of the dead ones are dropped, only their slots stay).
//!
//! Every cell type is `#[repr(C)]` with its [`Counts`] first, so the address of a cell is
//! the address of its counts, whatever the model type behind the `dyn` pointer.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering, fence};

use std::sync::Arc;

use crate::session::object::{AnyCell, Registry};

/// Cells per chunk at most: big enough that allocation is rare, small enough that a few
/// objects kept alive do not hold much memory.
pub(crate) const CHUNK: usize = 32;

/// A cell's reference counts and chunk; the first field of every cell.
pub(crate) struct Counts {
    /// Strong references (`CellPtr`s).
    strong: AtomicUsize,
    /// Weak references, plus one held by all the strong ones together.
    weak: AtomicUsize,
    /// The chunk the cell is in.
    chunk: NonNull<ChunkHead>,
}

// SAFETY: the chunk pointer is only used through the chunk's atomic count.
unsafe impl Send for Counts {}
// SAFETY: as above.
unsafe impl Sync for Counts {}

impl Counts {
    /// The registry of the cell's chunk.
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        // SAFETY: a chunk (and its head) lives while any of its cells is reachable, as
        // this one is through `self`.
        unsafe { &self.chunk.as_ref().registry }
    }

    /// The counts of a new cell: one strong reference (and the weak one it holds).
    fn new(chunk: NonNull<ChunkHead>) -> Counts {
        Counts {
            strong: AtomicUsize::new(1),
            weak: AtomicUsize::new(1),
            chunk,
        }
    }
}

/// The start of every chunk.
struct ChunkHead {
    /// Cells not yet freed (or not yet handed out).
    live: AtomicUsize,
    /// Frees the chunk (it knows the cell type and the capacity).
    free: unsafe fn(NonNull<ChunkHead>),
    cap: usize,
    /// The registry of every cell in the chunk, held once for all of them (a reference
    /// per cell would be two atomic operations per object).
    registry: Arc<Registry>,
}

/// The layout of a chunk of `cap` cells of type `C`, and the offset of the first cell.
fn chunk_layout<C>(cap: usize) -> (Layout, usize) {
    let cells = Layout::array::<C>(cap).unwrap_or_else(|_| unreachable!("CHUNK cells fit"));
    let (layout, offset) = Layout::new::<ChunkHead>()
        .extend(cells)
        .unwrap_or_else(|_| unreachable!("CHUNK cells fit"));
    (layout.pad_to_align(), offset)
}

/// Frees a chunk of cells of type `C`.
///
/// # Safety
/// `head` is a chunk made by `ChunkAlloc<C>` whose every cell is freed.
unsafe fn free_chunk<C>(head: NonNull<ChunkHead>) {
    // SAFETY: the head is alive until here.
    let cap = unsafe { head.as_ref() }.cap;
    // SAFETY: the head's registry is dropped once, here, before its memory goes.
    unsafe { std::ptr::drop_in_place(&raw mut (*head.as_ptr()).registry) };
    let (layout, _) = chunk_layout::<C>(cap);
    if !spare::put(layout, head.cast()) {
        // SAFETY: allocated with this layout in `ChunkAlloc::slot`.
        unsafe { dealloc(head.as_ptr().cast(), layout) };
    }
}

/// Gives one cell back to its chunk; the last one frees the chunk.
///
/// # Safety
/// `chunk` is alive and the caller owns one of its live cells (or unused slots).
unsafe fn release_slots(chunk: NonNull<ChunkHead>, n: usize) {
    // SAFETY: the chunk lives while a cell of it does.
    let head = unsafe { chunk.as_ref() };
    if head.live.fetch_sub(n, Ordering::Release) != n {
        return;
    }
    fence(Ordering::Acquire);
    let free = head.free;
    // SAFETY: no cell is left.
    unsafe { free(chunk) };
}

/// Freed chunks kept for the next ones of their size, up to [`spare::BYTES`] in all
/// (shared with the identity map's large tables and lists, see [`SpareAlloc`]).
///
/// A load of 10,000 objects takes a few MiB of chunks and gives them back at once when
/// its objects go. Handed to the allocator, memory freed that way is soon returned to
/// the system (glibc trims a thread's heap as its top grows free), and the next load
/// takes a page fault on every page again: on a multi-threaded runtime that cost more
/// than the whole load's own work (a 10,000-row load: ~1,000 page faults, twice the
/// time). Kept here, the next load reuses them.
mod spare {
    use std::alloc::Layout;
    use std::ptr::NonNull;
    use std::sync::Mutex;

    /// The most memory kept (chunks past it go back to the allocator).
    pub(super) const BYTES: usize = 16 << 20;

    struct Chunk(NonNull<u8>);

    // SAFETY: a spare chunk is memory nobody uses; whoever takes it owns it.
    unsafe impl Send for Chunk {}

    #[derive(Default)]
    struct Spare {
        /// By layout: a program has a few cell types, so a few sizes.
        lists: Vec<(Layout, Vec<Chunk>)>,
        bytes: usize,
    }

    static SPARE: Mutex<Spare> = Mutex::new(Spare {
        lists: Vec::new(),
        bytes: 0,
    });

    /// A kept chunk of `layout`, if any.
    pub(super) fn take(layout: Layout) -> Option<NonNull<u8>> {
        let mut s = SPARE.lock().ok()?;
        let chunk = s
            .lists
            .iter_mut()
            .find(|(l, _)| *l == layout)
            .and_then(|(_, list)| list.pop())?;
        s.bytes -= layout.size();
        Some(chunk.0)
    }

    /// Keeps `chunk` (memory of `layout` from the global allocator, no longer used);
    /// false when there is no room (the caller frees it).
    pub(super) fn put(layout: Layout, chunk: NonNull<u8>) -> bool {
        let Ok(mut s) = SPARE.lock() else {
            return false;
        };
        if s.bytes + layout.size() > BYTES {
            return false;
        }
        s.bytes += layout.size();
        match s.lists.iter_mut().find(|(l, _)| *l == layout) {
            Some((_, list)) => list.push(Chunk(chunk)),
            None => s.lists.push((layout, vec![Chunk(chunk)])),
        }
        true
    }
}

/// The allocator of the identity map's tables: a table of [`SpareAlloc::KEPT`] bytes or
/// more is taken from the [`spare`] memory when some of its size is there, and goes back
/// to it when freed, as chunks of cells do. A load into a fresh session grows its table
/// by doubling; past the first load every size it passes through is there, so the load
/// takes no page fault for it. Smaller tables, and what the spare memory has no room
/// for, are the global allocator's.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SpareAlloc;

impl SpareAlloc {
    /// The smallest table kept: 64 KiB (a map of a few thousand objects).
    pub(crate) const KEPT: usize = 64 << 10;
}

// SAFETY: every block is either the global allocator's or a spare one, which is memory
// of the global allocator with exactly this layout that nobody else holds; a block
// allocated here for `layout` is given back here with that same layout (the trait's
// contract), so it goes back where it came from or to the spare memory, from where it
// is only ever handed out again for that same layout.
unsafe impl allocator_api2::alloc::Allocator for SpareAlloc {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        if layout.size() >= Self::KEPT
            && let Some(block) = spare::take(layout)
        {
            return Ok(NonNull::slice_from_raw_parts(block, layout.size()));
        }
        allocator_api2::alloc::Global.allocate(layout)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() >= Self::KEPT && spare::put(layout, ptr) {
            return;
        }
        // SAFETY: the caller's promise: `ptr` was allocated here with `layout`, and so
        // by the global allocator (a spare block is the global allocator's too).
        unsafe { allocator_api2::alloc::Global.deallocate(ptr, layout) }
    }
}

/// A cell type: `#[repr(C)]` with its [`Counts`] first.
///
/// # Safety
/// Implementors are `#[repr(C)]` structs whose first field (transitively) is their
/// `Counts`, so that a pointer to the cell is a valid pointer to them.
pub(crate) unsafe trait Counted {}

/// Hands out cells of type `C` from chunks: [`CHUNK`] at a time, or as many as the
/// caller said it needs when that is fewer.
pub(crate) struct ChunkAlloc<C> {
    /// The chunk being filled, its next slot, its capacity and its first slot.
    chunk: Option<(NonNull<ChunkHead>, usize, usize, NonNull<C>)>,
    /// Cells still expected (sizes the next chunk).
    expected: usize,
    /// The number of cells is not known: chunks double from 1 up to [`CHUNK`].
    grow: bool,
    /// The registry of the cells it makes.
    registry: Arc<Registry>,
    _p: PhantomData<fn() -> C>,
}

// SAFETY: the allocator holds unused slots of a chunk, written only through it, and
// the chunk's count of live slots, which is atomic; the cells it makes are sent with
// it only if they may be.
unsafe impl<C: Send> Send for ChunkAlloc<C> {}

impl<C: AnyCell + Counted> ChunkAlloc<C> {
    /// An allocator for about `expected` cells (more are allowed) of `registry`.
    pub(crate) fn new(expected: usize, registry: &Arc<Registry>) -> ChunkAlloc<C> {
        ChunkAlloc {
            chunk: None,
            expected: expected.max(1),
            grow: false,
            registry: Arc::clone(registry),
            _p: PhantomData,
        }
    }

    /// An allocator for an unknown number of cells: a chunk of 1, then 2, 4, ... up to
    /// [`CHUNK`], so that a load of one object does not hold a chunk of many.
    pub(crate) fn growing(registry: &Arc<Registry>) -> ChunkAlloc<C> {
        ChunkAlloc {
            chunk: None,
            expected: 1,
            grow: true,
            registry: Arc::clone(registry),
            _p: PhantomData,
        }
    }

    /// The registry of the cells it makes.
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// A new cell made by `make` from the counts it must start with, held by two strong
    /// references from the start (its maker's and its session's): one atomic operation
    /// per object fewer than cloning the first.
    pub(crate) fn alloc_pair(&mut self, make: impl FnOnce(Counts) -> C) -> (CellPtr, CellPtr) {
        let (head, slot) = self.slot();
        let mut counts = Counts::new(head);
        *counts.strong.get_mut() = 2;
        let cell = make(counts);
        // SAFETY: `slot` is an unused, aligned slot for a `C` in a live chunk.
        unsafe { slot.as_ptr().write(cell) };
        let ptr: NonNull<dyn AnyCell> = slot;
        (CellPtr(ptr), CellPtr(ptr))
    }

    /// The next free slot, allocating a chunk when none is left.
    fn slot(&mut self) -> (NonNull<ChunkHead>, NonNull<C>) {
        let (head, next, cap, first) = match self.chunk {
            Some((head, next, cap, first)) if next < cap => (head, next, cap, first),
            _ => {
                let cap = self.expected.clamp(1, CHUNK);
                let (layout, offset) = chunk_layout::<C>(cap);
                let raw = match spare::take(layout) {
                    Some(raw) => raw.as_ptr(),
                    // SAFETY: the layout has a non-zero size (it holds the head).
                    None => unsafe { alloc(layout) },
                };
                let Some(head) = NonNull::new(raw.cast::<ChunkHead>()) else {
                    handle_alloc_error(layout)
                };
                // SAFETY: freshly allocated and aligned for the head.
                unsafe {
                    head.as_ptr().write(ChunkHead {
                        live: AtomicUsize::new(cap),
                        free: free_chunk::<C>,
                        cap,
                        registry: Arc::clone(&self.registry),
                    })
                };
                // SAFETY: the cells start at `offset` inside the allocation.
                let first = unsafe { NonNull::new_unchecked(raw.add(offset).cast::<C>()) };
                if self.grow {
                    // Once this chunk's `cap` slots are taken, the next is twice as big.
                    self.expected = cap + (cap * 2).min(CHUNK);
                }
                (head, 0, cap, first)
            }
        };
        // SAFETY: slot `next` of `cap` is inside the chunk's allocation.
        let slot = unsafe { first.add(next) };
        self.expected = self.expected.saturating_sub(1);
        self.chunk = Some((head, next + 1, cap, first));
        (head, slot)
    }
}

impl<C> Drop for ChunkAlloc<C> {
    fn drop(&mut self) {
        // Slots never handed out are given back; the chunk goes when its cells do.
        if let Some((head, next, cap, _)) = self.chunk.take()
            && next < cap
        {
            // SAFETY: the unused slots are this allocator's.
            unsafe { release_slots(head, cap - next) };
        }
    }
}

/// A strong reference to a cell, as `Arc<dyn AnyCell>`.
pub(crate) struct CellPtr(NonNull<dyn AnyCell>);

// SAFETY: cells are `Send + Sync` (`AnyCell`), and the counts are atomic.
unsafe impl Send for CellPtr {}
// SAFETY: as above.
unsafe impl Sync for CellPtr {}

fn counts(p: NonNull<dyn AnyCell>) -> NonNull<Counts> {
    // Every cell type is `Counted`: its counts are at its address.
    p.cast::<Counts>()
}

/// The most references a cell may have (as `Arc`: past it, the count could wrap).
const MAX_REFS: usize = isize::MAX as usize;

impl CellPtr {
    fn counts(&self) -> &Counts {
        // SAFETY: the cell is alive while this strong reference is.
        unsafe { counts(self.0).as_ref() }
    }

    /// The cell.
    pub(crate) fn get(&self) -> &dyn AnyCell {
        // SAFETY: the cell is alive while this strong reference is.
        unsafe { self.0.as_ref() }
    }

    /// The pointer, keeping this reference alive past the `CellPtr` (given back by
    /// [`CellPtr::from_raw`]).
    pub(crate) fn into_raw(self) -> NonNull<dyn AnyCell> {
        std::mem::ManuallyDrop::new(self).0
    }

    /// The reference [`CellPtr::into_raw`] kept.
    ///
    /// # Safety
    /// `p` came from `into_raw`, and its reference is given back once.
    pub(crate) unsafe fn from_raw(p: NonNull<dyn AnyCell>) -> CellPtr {
        CellPtr(p)
    }

    /// A weak reference.
    pub(crate) fn downgrade(&self) -> WeakCell {
        if self.counts().weak.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            std::process::abort();
        }
        WeakCell(self.0)
    }
}

impl Clone for CellPtr {
    fn clone(&self) -> CellPtr {
        if self.counts().strong.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            std::process::abort();
        }
        CellPtr(self.0)
    }
}

impl Drop for CellPtr {
    fn drop(&mut self) {
        if self.counts().strong.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        // SAFETY: the last strong reference: nobody reads the value any more (weak ones
        // only look at the counts, which have no drop glue and stay in place).
        unsafe { std::ptr::drop_in_place(self.0.as_ptr()) };
        // The weak reference the strong ones held.
        drop(WeakCell(self.0));
    }
}

/// A weak reference to a cell, as `Weak<dyn AnyCell>`.
pub(crate) struct WeakCell(NonNull<dyn AnyCell>);

// SAFETY: as `CellPtr`.
unsafe impl Send for WeakCell {}
// SAFETY: as above.
unsafe impl Sync for WeakCell {}

impl WeakCell {
    fn counts(&self) -> &Counts {
        // SAFETY: the slot (and its counts) stays allocated while a weak reference is.
        unsafe { counts(self.0).as_ref() }
    }

    /// A strong reference, unless the cell is gone.
    pub(crate) fn upgrade(&self) -> Option<CellPtr> {
        let strong = &self.counts().strong;
        let mut n = strong.load(Ordering::Relaxed);
        loop {
            if n == 0 {
                return None;
            }
            if n > MAX_REFS {
                std::process::abort();
            }
            match strong.compare_exchange_weak(n, n + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(CellPtr(self.0)),
                Err(now) => n = now,
            }
        }
    }

    /// The strong references left.
    pub(crate) fn strong_count(&self) -> usize {
        self.counts().strong.load(Ordering::Acquire)
    }
}

impl Clone for WeakCell {
    fn clone(&self) -> WeakCell {
        if self.counts().weak.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            std::process::abort();
        }
        WeakCell(self.0)
    }
}

impl Drop for WeakCell {
    fn drop(&mut self) {
        let counts = self.counts();
        // A count of one is this reference alone: no strong one is left (they hold one
        // together) and nobody else can make another, so the slot is freed without an
        // atomic write (the usual case: the one the strong references held, dropped by
        // the last of them). The acquiring load orders the frees of the others before.
        if counts.weak.load(Ordering::Acquire) != 1 {
            if counts.weak.fetch_sub(1, Ordering::Release) != 1 {
                return;
            }
            fence(Ordering::Acquire);
        }
        let chunk = counts.chunk;
        // SAFETY: the cell's last reference: its slot goes back to its chunk.
        unsafe { release_slots(chunk, 1) };
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::{Layout, alloc, dealloc};
    use std::ptr::NonNull;

    use super::spare;

    #[test]
    fn spare_chunks_are_reused_for_their_own_layout_and_bounded() {
        // Sizes no cell type has, so that chunks freed by other tests do not mix in.
        let layout = Layout::from_size_align(12_345, 8).unwrap();
        let other = Layout::from_size_align(12_353, 8).unwrap();
        // SAFETY: a non-zero size.
        let chunk = NonNull::new(unsafe { alloc(layout) }).unwrap();
        assert!(spare::put(layout, chunk));
        assert_eq!(spare::take(other), None, "another size never gets it");
        assert_eq!(
            spare::take(layout),
            Some(chunk),
            "the next chunk of its size is it"
        );
        assert_eq!(spare::take(layout), None, "taken once");
        // More than the bound is never kept (the pointer is not looked at).
        let huge = Layout::from_size_align(spare::BYTES + 1, 8).unwrap();
        assert!(!spare::put(huge, NonNull::dangling()));
        // SAFETY: allocated above with this layout, and taken back out.
        unsafe { dealloc(chunk.as_ptr(), layout) };
    }

    #[test]
    fn large_identity_map_tables_are_reused_small_ones_are_not() {
        use allocator_api2::alloc::Allocator as _;

        use super::SpareAlloc;

        // Sizes no table or chunk has (odd), so that memory other tests free stays out.
        let large = Layout::from_size_align(SpareAlloc::KEPT + 4_321, 8).unwrap();
        let small = Layout::from_size_align(SpareAlloc::KEPT - 4_321, 8).unwrap();
        let first = SpareAlloc.allocate(large).unwrap().cast::<u8>();
        // SAFETY: allocated just above with this layout, freed once.
        unsafe { SpareAlloc.deallocate(first, large) };
        let again = SpareAlloc.allocate(large).unwrap().cast::<u8>();
        assert_eq!(
            again, first,
            "a freed large table is the next one of its size"
        );
        // SAFETY: as above.
        unsafe { SpareAlloc.deallocate(again, large) };
        assert_eq!(spare::take(large), Some(first), "kept once freed");
        // SAFETY: the spare block is global-allocator memory of this layout.
        unsafe { dealloc(first.as_ptr(), large) };

        let block = SpareAlloc.allocate(small).unwrap().cast::<u8>();
        // SAFETY: as above.
        unsafe { SpareAlloc.deallocate(block, small) };
        assert_eq!(
            spare::take(small),
            None,
            "a small table goes back to the allocator"
        );

        // A map in this allocator works as any map, through growth past `KEPT`.
        let mut map = hashbrown::HashMap::with_hasher_in(
            crate::session::identity::FastHash::default(),
            SpareAlloc,
        );
        for i in 0..20_000_i64 {
            map.insert(i, i * 2);
        }
        assert_eq!(map.len(), 20_000);
        assert_eq!(map.get(&12_345), Some(&24_690));
        drop(map);
    }
}
