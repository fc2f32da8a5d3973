// swift-tools-version:6.1
// libFuzzer harnesses for basetap's parsers, built apart from the main package because they only
// link with `-sanitize=fuzzer`: run them with `make fuzz-self` from the repository root.
import PackageDescription

let package = Package(
    name: "basetap-fuzz",
    dependencies: [.package(name: "basetap", path: "../..")],
    targets: [
        .executableTarget(
            name: "basetap-fuzz",
            dependencies: [.product(name: "BasetapKit", package: "basetap")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
)
