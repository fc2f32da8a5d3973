import Foundation
import Testing
@testable import BasetapKit

/// The CA and the certificates it issues, checked by OpenSSL as a TLS client would check them.
@Suite struct CertificateAuthorityTests {
    static func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func issuedCertificatesVerifyForTheirNamesOnly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try CertificateAuthority.create(commonName: "basetap test CA")
        try ca.save(directory: directory.path)
        let caFile = directory.appendingPathComponent(CertificateAuthority.certificateFile).path
        let leaf = directory.appendingPathComponent("leaf.pem").path
        try ca.issue(names: ["chat.example.org", "127.0.0.1", "[::1]"]).write(certificate: leaf, key: directory.appendingPathComponent("leaf-key.pem").path)
        let verify = ["verify", "-CAfile", caFile, "-purpose", "sslserver"]
        for check in [["-verify_hostname", "chat.example.org"], ["-verify_ip", "127.0.0.1"], ["-verify_ip", "::1"]] {
            let result = try Self.openssl(verify + check + [leaf])
            #expect(result.status == 0, "\(check): \(result.output)")
        }
        for check in [["-verify_hostname", "other.example.org"], ["-verify_ip", "127.0.0.2"]] {
            #expect(try Self.openssl(verify + check + [leaf]).status != 0, "\(check) is not a name of the certificate")
        }
        // Another CA's certificate does not verify with this one.
        let stranger = directory.appendingPathComponent("stranger.pem").path
        try CertificateAuthority.create().issue(names: ["chat.example.org"]).write(certificate: stranger, key: directory.appendingPathComponent("s-key.pem").path)
        #expect(try Self.openssl(verify + [stranger]).status != 0)
    }

    @Test func theFingerprintIsOpenSSLs() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ca = try CertificateAuthority.create()
        try ca.save(directory: directory.path)
        let result = try Self.openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", directory.appendingPathComponent(CertificateAuthority.certificateFile).path])
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("=" + ca.fingerprint), "\(result.output)")
    }

    @Test func savedAndLoadedItIsTheSameAuthority() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (created, isNew) = try CertificateAuthority.loadOrCreate(directory: directory.appendingPathComponent("ca").path)
        let (loaded, isNewAgain) = try CertificateAuthority.loadOrCreate(directory: directory.appendingPathComponent("ca").path)
        #expect(isNew && !isNewAgain)
        #expect(loaded.fingerprint == created.fingerprint)
    }

    @Test func aKeyOfAnotherAuthorityIsRefusedByName() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = directory.appendingPathComponent("a").path, b = directory.appendingPathComponent("b").path
        try CertificateAuthority.create().save(directory: a)
        try CertificateAuthority.create().save(directory: b)
        try FileManager.default.removeItem(atPath: a + "/" + CertificateAuthority.keyFile)
        try FileManager.default.copyItem(atPath: b + "/" + CertificateAuthority.keyFile, toPath: a + "/" + CertificateAuthority.keyFile)
        #expect(throws: BasetapError.input(place: a + "/" + CertificateAuthority.keyFile,
                                           message: "this key does not belong to \(a)/\(CertificateAuthority.certificateFile)")) {
            _ = try CertificateAuthority.load(directory: a)
        }
        #expect(throws: BasetapError.input(place: b + "/none", message: "no basetap CA here; create one with 'basetap ca init'")) {
            _ = try CertificateAuthority.load(directory: b + "/none")
        }
    }

    @Test func ipLiteralsAreAddressesAndTheRestNames() {
        #expect(CertificateAuthority.ipAddressBytes("10.1.2.3") == [10, 1, 2, 3])
        #expect(CertificateAuthority.ipAddressBytes("[::1]") == [UInt8](repeating: 0, count: 15) + [1])
        #expect(CertificateAuthority.ipAddressBytes("::1") == [UInt8](repeating: 0, count: 15) + [1])
        #expect(CertificateAuthority.ipAddressBytes("localhost") == nil)
        #expect(CertificateAuthority.ipAddressBytes("1.2.3") == nil)
    }
}
