import Foundation

/// A process's exit as an event: Linux's pidfd, a descriptor that polls readable once the process
/// has exited, whoever its parent is and whether it has been reaped yet. Waiting on it costs no
/// wake-ups and sees the exit the moment it happens.
enum ProcessExit {
    private typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    /// glibc's `pidfd_open` (2.36 on), which Swift's Glibc module does not declare: found by name.
    private static let pidfdOpen: PidfdOpen? = dlsym(nil, "pidfd_open").map { unsafeBitCast($0, to: PidfdOpen.self) }

    /// Waits until process `pid` has exited, or `seconds` pass: true once it has (or it is gone).
    static func wait(_ pid: pid_t, seconds: Double) -> Bool {
        let deadline = DispatchTime.now() + seconds
        guard let pidfdOpen else {
            // A C library without pidfd_open (before glibc 2.36): /proc asked every 10 ms instead.
            while ServerProcess.state(of: pid) == .running {
                guard DispatchTime.now() < deadline else { return false }
                usleep(10_000)
            }
            return true
        }
        let fd = pidfdOpen(pid, 0)
        guard fd >= 0 else { return errno == ESRCH }
        defer { close(fd) }
        return Readiness.readable(fd, until: deadline)
    }
}
