import Foundation

/// A single self-rewriting status line on a terminal, at most a few times a second.
public final class ProgressMeter {
    private let output: OutputFile
    private let label: String
    private let total: Int?
    private let started = DispatchTime.now()
    private var lastDraw = DispatchTime.now()
    private var drawn = false

    public init(output: OutputFile, label: String, total: Int?) {
        self.output = output
        self.label = label
        self.total = total
    }

    public func update(done: Int, detail: String) {
        let now = DispatchTime.now()
        guard now.uptimeNanoseconds - lastDraw.uptimeNanoseconds > 200_000_000 else { return }
        lastDraw = now
        var line = "\(label): \(Self.bytes(done))"
        if let total, total > 0 { line += " of \(Self.bytes(total)) (\(done * 100 / total)%)" }
        let seconds = Double(now.uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        if seconds > 0 { line += ", \(Self.bytes(Int(Double(done) / seconds)))/s" }
        line += ", \(detail)"
        try? output.write("\r\u{1B}[K" + line)
        try? output.flush()
        drawn = true
    }

    public func finish() {
        guard drawn else { return }
        try? output.write("\r\u{1B}[K")
        try? output.flush()
    }

    public static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }
}
