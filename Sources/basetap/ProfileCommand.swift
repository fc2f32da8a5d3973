import ArgumentParser
import BasetapKit
import Foundation

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Write and validate profiles: extension payload schemas and error-code ranges.",
        discussion: """
            A profile declares, per extension, the message types it owns with a JSON Schema for their payload, and the range of error codes it answers with. 'basetap check --profile FILE' checks messages against it (rules schema.violation, type.unknown, error.code-foreign).
            """,
        subcommands: [Infer.self, Validate.self]
    )

    struct Infer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "infer",
            abstract: "Derive a starting profile from recorded sessions.",
            discussion: """
                Every type seen becomes a message type of the extension named by the part before its first '.', with a payload schema built from the samples: member types, members present in every sample as required, no other members, small sets of repeated string values as enums. The error codes seen in 'X:error' answers become the ranges of X's extension. Edit the result, then check traffic with it.

                Example:
                  basetap profile infer session.jsonl -o my.profile.json
                """
        )

        @Argument(help: ArgumentHelp("JSONL captures to learn from.", valueName: "capture"))
        var captures: [String]

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the profile (default: standard output).", valueName: "file"))
        var output: String?

        func validate() throws {
            if captures.isEmpty { throw ValidationError("name at least one capture") }
        }

        func run() throws {
            let (profile, notes, messages) = try ProfileInference.infer(paths: captures)
            let text = profile.prettyText() + "\n"
            if let output {
                let file = try OutputFile(path: output)
                try file.write(text)
                try file.close()
            } else {
                print(text, terminator: "")
            }
            for note in notes { FileHandle.standardError.write(Data("basetap: note: \(note)\n".utf8)) }
            if output != nil {
                FileHandle.standardError.write(Data("basetap: wrote \(output!) from \(messages) messages\n".utf8))
            }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a profile: its JSON or YAML, its schemas, its regexes, and that error codes do not overlap."
        )

        @Argument(help: ArgumentHelp("The profile file.", valueName: "file"))
        var file: String

        func run() throws {
            let profile = try Profile.load(path: file)
            let types = profile.messageTypeCount
            print("\(file): valid profile: \(profile.extensions.count) extensions, \(types) message type\(types == 1 ? "" : "s"), unknown types: \(profile.unknownTypes.rawValue)")
        }
    }
}
