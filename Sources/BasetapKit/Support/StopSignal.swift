import Foundation

/// What ends a long-running command (the proxy, the inspector): SIGINT or SIGTERM, or the command
/// itself calling `stop` (a recording that cannot be written).
///
/// The handlers are installed by `sigaction` before `init` returns. A dispatch signal source
/// registers its handler later, on another thread: a signal that came in between (a Ctrl-C, or a
/// supervisor's SIGTERM, right after the banner) found the signal ignored and was lost for good.
final class StopSignal: Sendable {
    init() {
        _ = stopRequests  // made here, not lazily inside a handler
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in sem_post(stopRequests) }  // sem_post is async-signal-safe
        }
    }

    func stop() { sem_post(stopRequests) }

    func wait() {
        while sem_wait(stopRequests) != 0 && errno == EINTR {}
    }
}

/// Posted by the signal handlers; made before any handler is installed (by `StopSignal.init`).
/// Only `sem_post` and `sem_wait` touch it, and they are the synchronization.
nonisolated(unsafe) private let stopRequests: UnsafeMutablePointer<sem_t> = {
    let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    sem_init(semaphore, 0, 0)
    return semaphore
}()
