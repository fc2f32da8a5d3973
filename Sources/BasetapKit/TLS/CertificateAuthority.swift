@preconcurrency import Crypto
import Foundation
import SwiftASN1
import X509

/// basetap's own certificate authority: forward mode terminates each intercepted TLS connection with
/// a leaf certificate for the requested name, signed by this CA, so a client that trusts the CA
/// accepts it. The key never leaves its directory (mode 0700, key file 0600) and is never printed.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    public static let certificateFile = "basetap-ca.pem"
    public static let keyFile = "basetap-ca-key.pem"

    /// `$BASETAP_CA_DIR`, else `~/.basetap`.
    public static var defaultDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["BASETAP_CA_DIR"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".basetap").path
    }

    /// A new CA valid for ten years, named after this machine so that two installations are told apart.
    public static func create(commonName: String? = nil) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName(commonName ?? "basetap CA (\(ProcessInfo.processInfo.hostName))")
            OrganizationName("basetap")
        }
        let now = Date()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return CertificateAuthority(certificate: certificate, key: key)
    }

    private init(certificate: Certificate, key: P256.Signing.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    /// Reads the CA from `directory`; a missing or unreadable file is an input error naming it.
    public static func load(directory: String) throws -> CertificateAuthority {
        let certPath = (directory as NSString).appendingPathComponent(certificateFile)
        let keyPath = (directory as NSString).appendingPathComponent(keyFile)
        guard FileManager.default.fileExists(atPath: certPath) else {
            throw BasetapError.input(place: directory, message: "no basetap CA here; create one with 'basetap ca init'")
        }
        do {
            let certificate = try Certificate(pemEncoded: String(contentsOfFile: certPath, encoding: .utf8))
            let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: keyPath, encoding: .utf8))
            guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
                throw BasetapError.input(place: keyPath, message: "this key does not belong to \(certPath)")
            }
            return CertificateAuthority(certificate: certificate, key: key)
        } catch let error as BasetapError {
            throw error
        } catch {
            throw BasetapError.input(place: directory, message: "cannot read the CA: \(error)")
        }
    }

    /// Loads the CA in `directory`, creating and saving one first if there is none.
    public static func loadOrCreate(directory: String) throws -> (CertificateAuthority, created: Bool) {
        let certPath = (directory as NSString).appendingPathComponent(certificateFile)
        if FileManager.default.fileExists(atPath: certPath) { return (try load(directory: directory), false) }
        let ca = try create()
        try ca.save(directory: directory)
        return (ca, true)
    }

    /// Writes the certificate (0644) and the key (0600, created with that mode so it is never readable by others).
    public func save(directory: String) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Self.writeSecret(key.pemRepresentation, to: (directory as NSString).appendingPathComponent(Self.keyFile))
            try certificatePEM.write(toFile: (directory as NSString).appendingPathComponent(Self.certificateFile), atomically: true, encoding: .utf8)
        } catch let error as BasetapError {
            throw error
        } catch {
            throw BasetapError.input(place: directory, message: "cannot save the CA: \(error.localizedDescription)")
        }
    }

    public var certificatePEM: String {
        (try? certificate.serializeAsPEM().pemString) ?? ""
    }

    /// Creates `path` with mode 0600 from the start, so a key is never readable by others, not even briefly.
    static func writeSecret(_ text: String, to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw BasetapError.input(place: path, message: "cannot write the private key")
        }
    }

    /// SHA-256 of the DER certificate, as browsers and `openssl x509 -fingerprint -sha256` show it.
    public var fingerprint: String {
        var serializer = DER.Serializer()
        try? serializer.serialize(certificate)
        return SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    /// A server certificate for `names` (DNS names or IP literals), valid from an hour ago for `days`.
    public func issue(names: [String], days: Int = 365) throws -> IssuedCertificate {
        let leafKey = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(leafKey.publicKey)
        let now = Date()
        let alternativeNames = names.map { name -> GeneralName in
            if let address = Self.ipAddressBytes(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))) }
            return .dnsName(name)
        }
        let authorityKeyID = (try? certificate.extensions.subjectKeyIdentifier)??.keyIdentifier
        let leaf = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: certificate.subject,
            subject: try DistinguishedName { CommonName(names.first ?? "basetap") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return IssuedCertificate(certificate: leaf, key: leafKey)
    }

    /// The address bytes of an IPv4 or IPv6 literal (brackets allowed), or nil for a DNS name.
    static func ipAddressBytes(_ name: String) -> [UInt8]? {
        let bare = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}

/// A server certificate and its key, as `CertificateAuthority.issue` makes them.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let key: P256.Signing.PrivateKey

    public var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }
    public var keyPEM: String { key.pemRepresentation }

    /// Writes both PEM files, the key with mode 0600.
    public func write(certificate certificatePath: String, key keyPath: String) throws {
        do {
            try certificatePEM.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        } catch {
            throw BasetapError.input(place: certificatePath, message: "cannot write: \(error.localizedDescription)")
        }
        try CertificateAuthority.writeSecret(keyPEM, to: keyPath)
    }
}
