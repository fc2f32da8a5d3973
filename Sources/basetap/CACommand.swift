import ArgumentParser
import BasetapKit
import Foundation

struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Manage the certificate authority that forward mode uses to intercept TLS.",
        discussion: """
            `basetap proxy --forward` answers each intercepted TLS connection with a certificate for the requested name, signed by this CA. Clients accept it once they trust the CA's certificate (never its key, which stays in the CA directory with mode 0600).

            Examples:
              basetap ca init
              basetap ca export -o basetap-ca.pem && SSL_CERT_FILE=basetap-ca.pem my-client
              basetap ca issue localhost 127.0.0.1 --cert server.pem --key server-key.pem
            """,
        subcommands: [Init.self, Show.self, Export.self, Issue.self]
    )

    struct Location: ParsableArguments {
        @Option(help: ArgumentHelp("Where the CA lives (default: $BASETAP_CA_DIR or ~/.basetap).", valueName: "dir"))
        var caDir: String?

        var directory: String { caDir ?? CertificateAuthority.defaultDirectory }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a new CA (refuses to replace one unless --force).")

        @OptionGroup var location: Location

        @Flag(help: "Replace an existing CA; clients that trusted the old one must trust the new one.")
        var force = false

        func run() throws {
            let existing = (location.directory as NSString).appendingPathComponent(CertificateAuthority.certificateFile)
            if FileManager.default.fileExists(atPath: existing) && !force {
                throw BasetapError.usage("a CA already exists in \(location.directory); use --force to replace it")
            }
            let ca = try CertificateAuthority.create()
            try ca.save(directory: location.directory)
            print("Created a CA in \(location.directory)")
            print(CACommand.trustHint(ca, directory: location.directory))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the CA's name, validity and fingerprint, and how to trust it.")

        @OptionGroup var location: Location

        func run() throws {
            let ca = try CertificateAuthority.load(directory: location.directory)
            print("subject:     \(ca.certificate.subject)")
            print("valid:       \(ca.certificate.notValidBefore) to \(ca.certificate.notValidAfter)")
            print("sha256:      \(ca.fingerprint)")
            print(CACommand.trustHint(ca, directory: location.directory))
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export", abstract: "Write the CA certificate (PEM) for clients to trust; the key is never exported.")

        @OptionGroup var location: Location

        @Option(name: .shortAndLong, help: ArgumentHelp("Write here instead of standard output.", valueName: "file"))
        var output: String?

        func run() throws {
            let ca = try CertificateAuthority.load(directory: location.directory)
            guard let output else { return print(ca.certificatePEM, terminator: "") }
            do {
                try ca.certificatePEM.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw BasetapError.input(place: output, message: "cannot write: \(error.localizedDescription)")
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue",
            abstract: "Issue a server certificate signed by the CA, e.g. for `proxy --tls-cert` or a test server.")

        @OptionGroup var location: Location

        @Argument(help: "DNS names and IP addresses the certificate is for.")
        var names: [String]

        @Option(help: ArgumentHelp("Where to write the certificate (PEM).", valueName: "file"))
        var cert: String

        @Option(help: ArgumentHelp("Where to write its private key (PEM, mode 0600).", valueName: "file"))
        var key: String

        @Option(help: "Days the certificate is valid.")
        var days = 365

        func run() throws {
            guard !names.isEmpty else { throw BasetapError.usage("name at least one DNS name or IP address") }
            let ca = try CertificateAuthority.load(directory: location.directory)
            let issued = try ca.issue(names: names, days: days)
            try issued.write(certificate: cert, key: key)
            print("Issued a certificate for \(names.joined(separator: ", ")): \(cert), key \(key)")
        }
    }

    static func trustHint(_ ca: CertificateAuthority, directory: String) -> String {
        let path = (directory as NSString).appendingPathComponent(CertificateAuthority.certificateFile)
        return """
            Clients must trust \(path) to accept intercepted TLS:
              Debian/Ubuntu: sudo cp \(path) /usr/local/share/ca-certificates/basetap-ca.crt && sudo update-ca-certificates
              one program:   SSL_CERT_FILE=\(path) (OpenSSL, Python), NODE_EXTRA_CA_CERTS=\(path) (Node.js), curl --cacert \(path)
              Firefox:       Settings > Certificates > View Certificates > Authorities > Import
            """
    }
}
