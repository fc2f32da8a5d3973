import ArgumentParser
import BasetapKit
import Foundation

@main
struct Basetap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "basetap",
        abstract: "Inspect, record, check, replay and fuzz Protocol Core traffic (JSON BaseMessages over WebSockets).",
        discussion: """
            Exit codes: 0 clean, 1 violations or findings, 2 usage or input error.
            """,
        version: BasetapVersion.current,
        subcommands: [Check.self, Decode.self, Proxy.self, View.self, Replay.self, Fuzz.self, Mutate.self, CACommand.self, ProfileCommand.self, Rules.self]
    )

    /// Maps every failure to the documented exit codes: 2 with a one-line message for usage and input errors.
    static func main() async {
        // A parent (a test runner, a supervisor) may have started us with SIGINT/SIGTERM blocked, and a
        // blocked mask survives exec. Unblock them first, before basetap starts its event-loop threads,
        // so that those threads inherit the unblocked mask and Ctrl-C reaches the handlers.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as BasetapError {
            // What was found before the error (a malformed line, a broken file) is the user's: written, not dropped.
            try? OutputFile.standardOutput.flush()
            FileHandle.standardError.write(Data("basetap: \(error)\n".utf8))
            Foundation.exit(2)
        } catch let error as ExitCode {
            try? OutputFile.standardOutput.flush()
            Foundation.exit(error.rawValue)
        } catch {
            try? OutputFile.standardOutput.flush()
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data("\(message)\n".utf8))
            Foundation.exit(2)
        }
    }
}
