import BasetapKit
import Foundation

/// One libFuzzer binary for every target of `FuzzTargets`, chosen by `FUZZ_TARGET`: libFuzzer
/// supplies `main` and its options; SwiftPM calls the module's entry `basetap_fuzz_main`, which
/// hands over to libFuzzer's driver.
nonisolated(unsafe) var selected: (([UInt8]) -> Void)?

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected?(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("basetap_fuzz_main")
func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all.first(where: { $0.name == name }) else {
        FileHandle.standardError.write(Data("set FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: ", "))\n".utf8))
        return 2
    }
    selected = target.run
    var argc = argc
    var argv = argv
    return runDriver(&argc, &argv, testOneInput)
}
