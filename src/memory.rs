//! What the allocator keeps of the memory the cockpit freed.
//!
//! glibc's malloc returns freed memory to the system only from the top of the heap, and
//! gives each thread that allocates an arena of its own. Against 10,000 pods the first
//! list (pages of JSON decoded into the stores) leaves about 10 MB freed but resident in
//! the middle of the heap, and a second arena held as much again: resident memory an
//! operator's bastion pays for and nothing reads.

/// The cockpit's threads share one malloc arena: its work is a handful of watch streams
/// and one model update at a time, so they rarely allocate at once, and each further
/// arena keeps freed memory of its own (the simulator, a server, keeps glibc's default).
pub fn one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; called before any thread
    // other than main exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Hands freed memory back to the system (whole free pages anywhere in the heap).
/// Costs a walk over the allocator's free lists, a few milliseconds: called after a
/// scope's first list and then at most every [`GIVE_BACK_EVERY`] while views are built.
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How often memory freed under churn is handed back: often enough that resident memory
/// stays flat, rarely enough to cost nothing (an idle cockpit builds no views, so never).
/// Every 30 s, ten minutes at 50 updates a second grew RSS by 11 MB, every 5 s by about
/// half that: what grew was freed memory kept resident between two trims.
pub const GIVE_BACK_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
