import Foundation
import NIOConcurrencyHelpers

/// `basetap proxy --intercept FILTER`: messages that match are held, shown one at a time on the
/// terminal, and go on when the user says: forward (Enter or `f`), edit in `$EDITOR` (`e`), or drop
/// (`d`). Answers are read a line at a time from standard input, so a script can drive it too.
/// Other traffic flows meanwhile; only the held message's direction of its connection waits.
public final class TerminalIntercept: Sendable {
    private let proxy: ProxyServer
    private let queue = NIOLockedValueBox<[HeldMessage]>([])
    private let arrived = DispatchSemaphore(value: 0)
    private let editor: String

    public init(proxy: ProxyServer, filter: MessageFilter, editor: String? = ProcessInfo.processInfo.environment["EDITOR"]) {
        self.proxy = proxy
        self.editor = editor.flatMap { $0.isEmpty ? nil : $0 } ?? "vi"
        proxy.control.hold(filter, timeout: ProxyControl.HoldTimeout(after: .hours(24), policy: .forward))
        proxy.control.onHeld { [queue, arrived] message in
            queue.withLockedValue { $0.append(message) }
            arrived.signal()
        }
    }

    /// Answers held messages until standard input ends; then the rest go on as they came.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "basetap intercept"
        thread.start()
    }

    private func run() {
        while true {
            arrived.wait()
            guard let message = queue.withLockedValue({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            let record = message.record
            let body = record.text ?? "\(record.payload.count) bytes (binary)"
            proxy.note("held c\(message.conn) \(record.dir?.rawValue ?? "") \(record.kind.rawValue) #\(message.hold): \(body)")
            proxy.note("[f]orward (Enter), [e]dit in \(editor), [d]rop?")
            guard let line = readLine() else {
                proxy.note("standard input ended: held messages go on as they came")
                proxy.control.hold(nil)
                release(message, .forward)
                for rest in queue.withLockedValue({ queue in defer { queue.removeAll() }; return queue }) { release(rest, .forward) }
                return
            }
            switch line.trimmingCharacters(in: .whitespaces).lowercased() {
            case "", "f", "forward":
                release(message, .forward)
            case "d", "drop":
                release(message, .drop)
            case "e", "edit":
                switch edit(record) {
                case .success(let payload): release(message, .edit(record.kind, payload))
                case .failure(let reason):
                    proxy.note("not edited (\(reason)); forwarded as it came")
                    release(message, .forward)
                }
            default:
                proxy.note("'\(line)' is not f, e or d; forwarded as it came")
                release(message, .forward)
            }
        }
    }

    private func release(_ message: HeldMessage, _ release: Release) {
        let settled = (try? proxy.release(conn: message.conn, hold: message.hold, release).wait()) ?? false
        let verb = switch release {
        case .forward: "forwarded"
        case .drop: "dropped"
        case .edit: "edited and sent"
        }
        proxy.note(settled ? "c\(message.conn) #\(message.hold) \(verb)" : "c\(message.conn) #\(message.hold) was no longer held (its connection ended)")
    }

    private struct EditFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The payload as the user left it in the editor.
    private func edit(_ record: CaptureRecord) -> Result<[UInt8], EditFailure> {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("basetap-held-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json")
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            try Data(record.payload).write(to: file)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(editor) \"$1\"", "editor", file.path]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { return .failure(EditFailure(description: "\(editor) exited with \(process.terminationStatus)")) }
            var payload = Array(try Data(contentsOf: file))
            // Editors end files with a newline; the message did not have one.
            if payload.last == 0x0A && record.payload.last != 0x0A { payload.removeLast() }
            return .success(payload)
        } catch {
            return .failure(EditFailure(description: "\(error)"))
        }
    }
}
