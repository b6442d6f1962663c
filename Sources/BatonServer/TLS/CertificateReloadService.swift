import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads every TLS host's certificate and key on SIGHUP, without a restart and
/// without dropping a connection: new handshakes get the new pair, open connections
/// keep theirs. A pair that fails to load is logged as an error and the old one stays.
public struct CertificateReloadService: Service {
    /// Each host's name (for the log) and its certificate.
    let certificates: [(host: String, certificate: ServerCertificate)]
    let logger: Logger

    /// Reloads `certificates` on each SIGHUP until shutdown.
    public init(certificates: [(host: String, certificate: ServerCertificate)], logger: Logger) {
        self.certificates = certificates
        self.logger = logger
    }

    public func run() async {
        // Installs a handler: from here on SIGHUP no longer ends the process.
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reloadAll()
        }
    }

    /// One reload of every host's pair, as a SIGHUP does.
    func reloadAll() {
        for (host, certificate) in certificates {
            do {
                let serial = try certificate.reload()
                logger.notice(
                    "TLS certificate reloaded", metadata: ["host": "\(host)", "serial": "\(serial)", "certificate": "\(certificate.files.certificate)"])
            } catch {
                logger.error(
                    "TLS certificate reload failed; the previous certificate stays in use",
                    metadata: ["host": "\(host)", "serial": "\(certificate.serial)", "error": "\(error)"])
            }
        }
    }
}
