import Foundation

/// Waiting on a descriptor with a deadline, for events the kernel gives as one (a process's exit, a
/// file's change).
enum Readiness {
    /// Waits until `fd` polls readable, or `deadline` passes: true when it is readable.
    static func readable(_ fd: Int32, until deadline: DispatchTime) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let left = deadline.uptimeNanoseconds.subtractingReportingOverflow(DispatchTime.now().uptimeNanoseconds)
            let milliseconds = left.overflow ? 0 : Int32(min(UInt64(Int32.max), (left.partialValue + 999_999) / 1_000_000))
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return true }
            if ready == 0 || errno != EINTR { return false }
        }
    }
}
