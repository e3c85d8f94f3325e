//! A global allocator that tracks this thread's live heap bytes and their peak (other test
//! threads do not disturb it), for the tests that bound memory: `deflate_bomb.rs`,
//! `deflate_memory.rs`. Each test binary installs it with
//! `#[global_allocator] static GLOBAL: heap_peak::Peak = heap_peak::Peak;`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// See the module documentation.
pub struct Peak;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(by: usize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + by);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

fn shrank(by: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(by)));
}

unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded unchanged to the system allocator, whose contract the caller meets.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: `ptr` came from `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        shrank(layout.size());
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// This thread's live heap bytes now.
pub fn live() -> usize {
    LIVE.with(Cell::get)
}

/// Start measuring a peak from now; returns the live bytes.
pub fn reset_peak() -> usize {
    let now = live();
    PEAK.with(|p| p.set(now));
    now
}

/// The highest live heap bytes since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.with(Cell::get)
}
