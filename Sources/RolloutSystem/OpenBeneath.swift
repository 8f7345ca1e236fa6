import COpenat2
import Glibc

/// Opening a relative path beneath a directory descriptor without ever leaving it:
/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, or, where the kernel (or a seccomp
/// filter) has no openat2, a walk one component at a time with `O_NOFOLLOW` that refuses
/// every symbolic link and `..`.
enum OpenBeneath {
    /// Whether openat2 works here; probed once.
    static let hasOpenat2: Bool = {
        let fd = rollout_openat2(AT_FDCWD, "/", UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, 0)
        if fd >= 0 {
            close(fd)
            return true
        }
        return !(errno == ENOSYS || errno == EPERM)
    }()

    /// How often a resolution that raced a rename (`EAGAIN` from openat2) is tried again.
    private static let raceRetries = 64

    /// Opens `relative` beneath `directory` with `flags` (`O_CLOEXEC` added); -1 with `errno`.
    /// `walkOnly` forces the fallback (for tests of it on kernels that have openat2).
    static func open(_ relative: String, beneath directory: Int32, flags: Int32, mode: mode_t = 0, walkOnly: Bool = false) -> Int32 {
        if hasOpenat2, !walkOnly {
            var attempts = 0
            while true {
                let fd = rollout_openat2(directory, relative, UInt64(flags | O_CLOEXEC), UInt64(mode), rollout_resolve_beneath())
                if fd >= 0 { return fd }
                let code = errno
                // EAGAIN: a concurrent rename moved something during resolution; the kernel
                // refused rather than risk an escape. Resolve again from the top.
                guard code == EINTR || (code == EAGAIN && attempts < raceRetries) else { return -1 }
                attempts += 1
            }
        }
        return walk(relative, beneath: directory, flags: flags, mode: mode)
    }

    private static func walk(_ relative: String, beneath directory: Int32, flags: Int32, mode: mode_t) -> Int32 {
        let components = relative.split(separator: "/").filter { $0 != "." }
        if components.contains("..") {
            errno = EXDEV
            return -1
        }
        guard let last = components.last else {
            return retryingInterrupts { openat(directory, ".", flags | O_CLOEXEC, mode) }
        }
        var current = directory
        var owned: Int32 = -1
        defer { if owned >= 0 { close(owned) } }
        for component in components.dropLast() {
            let next = retryingInterrupts {
                openat(current, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard next >= 0 else { return failure(at: current, String(component)) }
            if owned >= 0 { close(owned) }
            owned = next
            current = next
        }
        let fd = retryingInterrupts { openat(current, String(last), flags | O_NOFOLLOW | O_CLOEXEC, mode) }
        return fd >= 0 ? fd : failure(at: current, String(last))
    }

    /// -1, with `errno` ELOOP when `name` is a symbolic link (`O_DIRECTORY | O_NOFOLLOW` on
    /// one fails with ENOTDIR), else left as the failed open set it.
    private static func failure(at directory: Int32, _ name: String) -> Int32 {
        let code = errno
        var info = stat()
        let isLink = fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
        errno = isLink ? ELOOP : code
        return -1
    }
}
