import Foundation
import Testing

/// The shape of `Sources/BasetapKit`: folders that depend on each other without cycles, so that the
/// data flow reads from the folders, and a README layout table that names each of them.
@Suite struct LayoutTests {
    static let sources = repositoryRoot.appendingPathComponent("Sources/BasetapKit")

    /// Each folder's Swift files, comments left out.
    static func folders() throws -> [String: [String]] {
        var folders: [String: [String]] = [:]
        for folder in try FileManager.default.contentsOfDirectory(atPath: sources.path) {
            let url = sources.appendingPathComponent(folder)
            for file in try FileManager.default.contentsOfDirectory(atPath: url.path) where file.hasSuffix(".swift") {
                let text = try String(contentsOf: url.appendingPathComponent(file), encoding: .utf8)
                let code = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                    line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line)
                }
                folders[folder, default: []].append(code.joined(separator: "\n"))
            }
        }
        return folders
    }

    /// Which folders each folder uses: a folder uses another when it names a type declared at the
    /// top level of one of the other's files.
    static func dependencies() throws -> [String: Set<String>] {
        let folders = try folders()
        var declaredIn: [String: String] = [:]
        let declaration = /^(?:public |internal |private |fileprivate )?(?:final )?(?:struct|class|enum|protocol|typealias|actor) (\w+)/
        for (folder, files) in folders {
            for file in files {
                for line in file.split(separator: "\n") {
                    if let match = line.firstMatch(of: declaration) { declaredIn[String(match.1)] = folder }
                }
            }
        }
        var uses: [String: Set<String>] = [:]
        for (folder, files) in folders {
            let words = Set(files.flatMap { $0.split { !($0.isLetter || $0.isNumber || $0 == "_") } }.map(String.init))
            uses[folder] = Set(words.compactMap { declaredIn[$0] }.filter { $0 != folder })
        }
        return uses
    }

    @Test func foldersFormNoCycle() throws {
        let uses = try Self.dependencies()
        // Depth-first search; a folder met again while it is on the path closes a cycle.
        var done: Set<String> = []
        var cycles: [[String]] = []
        func visit(_ folder: String, _ path: [String]) {
            if let start = path.firstIndex(of: folder) {
                cycles.append(Array(path[start...]) + [folder])
                return
            }
            guard !done.contains(folder) else { return }
            for next in (uses[folder] ?? []).sorted() { visit(next, path + [folder]) }
            done.insert(folder)
        }
        for folder in uses.keys.sorted() { visit(folder, []) }
        #expect(cycles.isEmpty, "folders that depend on themselves: \(cycles.map { $0.joined(separator: " → ") })")
        #expect(uses["Proxy"]?.isSuperset(of: ["Tap", "Check", "Sinks"]) == true, "the scan sees what the proxy stands on: \(uses["Proxy"] ?? [])")
        #expect(uses["WebSocket"]?.contains("Capture") == false, "the frame codec knows nothing of capture files")
        #expect(uses["JSON"]?.isEmpty == true, "the JSON reader stands on nothing else")
    }

    @Test func theReadmeLayoutNamesEveryFolder() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let layout = readme.components(separatedBy: "## Layout").last ?? ""
        for folder in try Self.folders().keys {
            #expect(layout.contains("| `Sources/BasetapKit/\(folder)` |"), "\(folder) in the README's layout table")
        }
        for line in layout.split(separator: "\n") where line.hasPrefix("| `Sources/BasetapKit/") {
            let folder = line.dropFirst("| `Sources/BasetapKit/".count).prefix { $0 != "`" }
            #expect(FileManager.default.fileExists(atPath: Self.sources.appendingPathComponent(String(folder)).path), "\(folder) exists")
        }
    }
}
