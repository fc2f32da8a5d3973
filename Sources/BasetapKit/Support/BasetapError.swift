/// Errors that stop a command with exit code 2: wrong usage, or input that cannot be read.
/// `description` is the one line the user sees: it names the place (file, line, packet, flag).
public enum BasetapError: Error, Sendable, Equatable, CustomStringConvertible {
    case usage(String)
    case input(place: String, message: String)

    public var description: String {
        switch self {
        case .usage(let message): message
        case .input(let place, let message): "\(place): \(message)"
        }
    }
}
