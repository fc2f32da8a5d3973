import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Runs replay plans against the target, `parallel` connections at a time, on its own event loops.
public final class Replayer: @unchecked Sendable {
    public let options: ReplayOptions
    private let group: MultiThreadedEventLoopGroup
    private let tlsContext: NIOSSLContext?

    public init(options: ReplayOptions, threads: Int = System.coreCount) throws {
        self.options = options
        tlsContext = options.target.tls ? try options.tls.context() : nil
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    private let stopped = NIOLockedValueBox(false)

    deinit {
        if !stopped.withLockedValue({ $0 }) { try? group.syncShutdownGracefully() }
    }

    /// Ends the replayer's threads without waiting for them: what an event loop (which may not
    /// wait) calls when it is done with a replayer.
    func shutdown() {
        stopped.withLockedValue { $0 = true }
        group.shutdownGracefully(queue: .global()) { _ in }
    }

    /// Replays one connection; the future always succeeds, failures are in the outcome.
    public func replay(_ plan: ReplayConnection) -> EventLoopFuture<ReplayOutcome> {
        replay(plan, on: group.next(), options: options)
    }

    /// A job that runs no connection: an outcome of none, at once.
    func nothing() -> EventLoopFuture<ReplayOutcome> {
        group.next().makeSucceededFuture(ReplayOutcome(conn: ""))
    }

    /// Replays `plans` all at once, then `plan`: the outcome is `plan`'s (churn cases). `timeout`,
    /// when given, replaces the options' for these connections.
    func replay(_ plan: ReplayConnection, after plans: [ReplayConnection], timeout: Double? = nil) -> EventLoopFuture<ReplayOutcome> {
        var options = options
        options.timeout = timeout ?? options.timeout
        guard !plans.isEmpty else { return replay(plan, on: group.next(), options: options) }
        let loop = group.next()
        let began = CaptureTime.nanoseconds()
        return EventLoopFuture.whenAllComplete(plans.map { replay($0, on: group.next(), options: options) }, on: loop).flatMap { [options] _ in
            self.replay(plan, on: loop, options: options)
        }.map { outcome in
            var outcome = outcome
            outcome.startedAt = began  // the case began with its first connection
            return outcome
        }
    }

    private func replay(_ plan: ReplayConnection, on loop: EventLoop, options: ReplayOptions) -> EventLoopFuture<ReplayOutcome> {
        let promise = loop.makePromise(of: ReplayOutcome.self)
        let target = options.target
        ClientBootstrap(group: loop)
            .connectTimeout(options.timeoutAmount)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { [tlsContext] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tlsContext, serverHostname: UpstreamTLS.serverName(target.host)))
                    }
                    try channel.pipeline.syncOperations.addHandler(ReplaySession(plan: plan, options: options, promise: promise))
                }
            }
            .connect(host: target.host, port: target.port)
            .whenFailure { error in
                var outcome = ReplayOutcome(conn: plan.conn)
                outcome.endedAt = CaptureTime.nanoseconds()
                outcome.startedAt = outcome.endedAt
                outcome.failure = "cannot connect to \(target.authority): \(ConnectionErrorText.describe(error))"
                outcome.unreachable = true
                promise.succeed(outcome)
            }
        return promise.futureResult
    }

    /// Replays every plan, at most `parallel` at once, and returns the outcomes in plan order.
    /// `progress` is called with the number finished so far, from the event loops but one call at a time.
    public func run(_ plans: [ReplayConnection], parallel: Int, progress: ((Int) -> Void)? = nil) -> [ReplayOutcome] {
        run(count: plans.count, parallel: parallel, progress: progress) { replay(plans[$0]) }
    }

    /// Runs `count` jobs (each one or more connections, ending in one outcome), at most `parallel` at once.
    func run(count: Int, parallel: Int, progress: ((Int) -> Void)? = nil, _ job: (Int) -> EventLoopFuture<ReplayOutcome>) -> [ReplayOutcome] {
        nonisolated(unsafe) let progress = progress
        let slots = DispatchSemaphore(value: max(1, parallel))
        let lock = NSLock()
        nonisolated(unsafe) var outcomes = [ReplayOutcome?](repeating: nil, count: count)
        nonisolated(unsafe) var finished = 0
        let done = DispatchGroup()
        for index in 0..<count {
            slots.wait()
            done.enter()
            job(index).whenSuccess { outcome in
                lock.lock()
                outcomes[index] = outcome
                finished += 1
                progress?(finished)
                lock.unlock()
                slots.signal()
                done.leave()
            }
        }
        done.wait()
        return outcomes.map { $0! }
    }
}
