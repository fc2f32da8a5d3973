import Foundation

/// What ends a long-running command (the proxy, the inspector): SIGINT or SIGTERM, or the command
/// itself calling `stop` (a recording that cannot be written).
final class StopSignal: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [semaphore] in semaphore.signal() }
            source.resume()
            sources.append(source)
        }
    }

    func stop() { semaphore.signal() }

    func wait() {
        semaphore.wait()
        for source in sources { source.cancel() }
    }
}
