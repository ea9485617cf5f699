//! Keeps the process off transparent huge pages.
//!
//! mimalloc asks the kernel for huge pages on its arenas (`madvise`), and releases freed memory in small steps. With
//! 2 MiB pages every touch of a fresh region faults in and zeroes 2 MiB, and a partly used region stays resident
//! whole. Measured on this code (release, 2 cores): `connector run` on 100,000 active contracts peaked at 155 MiB
//! with huge pages and 121 MiB without; `connector process` in memory ran ~30% faster without (less page zeroing).

/// Opts the whole process out of transparent huge pages (Linux `PR_SET_THP_DISABLE`); call first thing in `main`.
/// Elsewhere, or if the kernel refuses, nothing changes: it is a tuning, not a requirement.
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
