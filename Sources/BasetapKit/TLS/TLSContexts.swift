import Foundation
import NIOCore
import NIOSSL
import X509

/// How basetap talks TLS to a server: verified against the system's roots (plus `--upstream-ca`)
/// unless the user says `--insecure-upstream`.
public struct UpstreamTLS: Sendable {
    public var verify = true
    public var caFile: String?

    public init(verify: Bool = true, caFile: String? = nil) {
        self.verify = verify
        self.caFile = caFile
    }

    public func context(keyLog: KeyLogFile? = nil) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = verify ? .fullVerification : .none
        if let caFile {
            let roots = try TLSFiles.certificates(caFile)
            configuration.additionalTrustRoots = [.certificates(roots)]
        }
        configuration.keyLogCallback = keyLog?.callback
        return try TLSFiles.context(configuration, place: caFile ?? "TLS client")
    }

    /// The name to send as SNI and to check the certificate against; IP literals are checked by address.
    public static func serverName(_ host: String) -> String? {
        CertificateAuthority.ipAddressBytes(host) == nil ? host : nil
    }
}

/// A listener that speaks wss with the user's own certificate (`--tls-cert`, `--tls-key`).
public struct ListenerTLS: Sendable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    public func context(keyLog: KeyLogFile? = nil) throws -> NIOSSLContext {
        let chain = try TLSFiles.certificates(certificateFile)
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw BasetapError.input(place: keyFile, message: "not a PEM private key: \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.keyLogCallback = keyLog?.callback
        return try TLSFiles.context(configuration, place: "\(certificateFile) and \(keyFile)")
    }
}

/// Server contexts for intercepted names, each with a leaf issued by basetap's CA on first use and
/// cached, so a thousand connections to one host cost one signature.
public final class LeafIssuer: @unchecked Sendable {
    private let authority: CertificateAuthority
    private let keyLog: KeyLogFile?
    private let lock = NSLock()
    private var contexts: [String: NIOSSLContext] = [:]
    /// Separate from `lock`: SNI callbacks ask for leaves while a context is being made under it.
    private let leafLock = NSLock()
    private var leaves: [String: TLSConfiguration] = [:]

    public init(authority: CertificateAuthority, keyLog: KeyLogFile? = nil) {
        self.authority = authority
        self.keyLog = keyLog
    }

    /// The context for a CONNECT to `host`; a client that names another host in SNI gets a leaf for that name.
    public func context(for host: String) throws -> NIOSSLContext {
        let name = host.lowercased()
        lock.lock()
        defer { lock.unlock() }
        if let context = contexts[name] { return context }
        var configuration = try serverConfiguration(for: name)
        configuration.sslContextCallback = { [self] values, promise in
            guard let requested = values.serverHostname?.lowercased(), requested != name else {
                promise.succeed(.noChanges)
                return
            }
            do {
                let leaf = try serverConfiguration(for: requested)
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = leaf.certificateChain
                override.privateKey = leaf.privateKey
                promise.succeed(override)
            } catch {
                promise.fail(error)
            }
        }
        let context = try TLSFiles.context(configuration, place: "leaf for \(name)")
        contexts[name] = context
        return context
    }

    /// One leaf per name, whether it is first asked for by CONNECT or by SNI.
    private func serverConfiguration(for name: String) throws -> TLSConfiguration {
        leafLock.lock()
        defer { leafLock.unlock() }
        if let configuration = leaves[name] { return configuration }
        let issued = try authority.issue(names: [name])
        let certificate = try NIOSSLCertificate(bytes: Array(issued.certificatePEM.utf8), format: .pem)
        let privateKey = try NIOSSLPrivateKey(bytes: Array(issued.keyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(privateKey))
        configuration.keyLogCallback = keyLog?.callback
        leaves[name] = configuration
        return configuration
    }
}

/// `--sslkeylog FILE`: NSS key-log lines for every TLS session basetap takes part in, both legs, so
/// Wireshark can decrypt a capture taken on the wire. Appends, like browsers do with SSLKEYLOGFILE.
public final class KeyLogFile: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()
    public let path: String

    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw BasetapError.input(place: path, message: "cannot create the key-log file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw BasetapError.input(place: path, message: "cannot open the key-log file for writing")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    public var callback: NIOSSLKeyLogCallback {
        { [self] line in
            var bytes = Data(line.readableBytesView)
            bytes.append(0x0A)
            lock.lock()
            handle.write(bytes)
            lock.unlock()
        }
    }
}

enum TLSFiles {
    /// How long a closing TLS leg waits for the peer's close_notify before closing TCP anyway. Ours
    /// is sent at once either way; a peer that already left (most close TCP without close_notify)
    /// never answers, and waiting NIO's default 5 s would keep every such connection open that long.
    static let shutdownTimeout = TimeAmount.milliseconds(250)

    static func certificates(_ path: String) throws -> [NIOSSLCertificate] {
        do {
            let list = try NIOSSLCertificate.fromPEMFile(path)
            guard !list.isEmpty else { throw BasetapError.input(place: path, message: "no PEM certificate in this file") }
            return list
        } catch let error as BasetapError {
            throw error
        } catch {
            throw BasetapError.input(place: path, message: "not a PEM certificate: \(error)")
        }
    }

    static func context(_ configuration: TLSConfiguration, place: String) throws -> NIOSSLContext {
        var configuration = configuration
        configuration.shutdownTimeout = shutdownTimeout
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw BasetapError.input(place: place, message: "TLS set-up failed: \(error)")
        }
    }
}
