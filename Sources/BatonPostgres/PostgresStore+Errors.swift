import BatonCore
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// An error the caller's own closure threw (a key ring change that failed): it passes
/// through the store unchanged instead of becoming a ``StoreError``.
struct CallerError: Error {
    let error: any Error
}

extension PostgresStore {
    /// Every failure as a ``StoreError`` with a message fit for logs: the SQLSTATE and
    /// the server's message (never its detail, which repeats values), or what went wrong
    /// with the connection. Never the password, never the query's values.
    static func storeError(_ error: any Error, _ what: String, _ location: PostgresEndpoint) -> any Error {
        switch error {
        case let error as CallerError:
            return error.error
        case let error as StoreError:
            return error
        case is CancellationError:
            return error
        case let error as PostgresTransactionError:
            if let inner = error.closureError { return storeError(inner, what, location) }
            if let inner = error.beginError ?? error.commitError { return storeError(inner, what, location) }
            return StoreError("PostgreSQL transaction failed (\(what))")
        case let error as PSQLError:
            return StoreError(describe(error, location) + " (\(what))")
        case is PostgresDecodingError:
            return StoreError("PostgreSQL answered with an unreadable row (\(what))")
        default:
            return StoreError("PostgreSQL failed (\(what)): \(type(of: error))")
        }
    }

    /// A failure to open a connection, in words: unreachable, wrong password, no such
    /// database, no TLS.
    static func openError(_ error: any Error, _ location: PostgresEndpoint) -> any Error {
        switch error {
        case let error as StoreError: return error
        case let error as PSQLError:
            if [.serverClosedConnection, .uncleanShutdown].contains(error.code) {
                return StoreError("cannot reach PostgreSQL at \(location.endpoint) (it closed the connection during start-up)")
            }
            return StoreError(describe(error, location))
        default: return StoreError("cannot open PostgreSQL at \(location.endpoint): \(type(of: error))")
        }
    }

    static func describe(_ error: PSQLError, _ location: PostgresEndpoint) -> String {
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?"
            let message = error.serverInfo?[.message] ?? "no message"
            switch state {
            case "28P01": return "PostgreSQL refused the password for \(location.user)"
            case "28000": return "PostgreSQL refused user \(location.user): \(message)"
            case "3D000": return "database \(location.database) does not exist"
            case "57P03": return "PostgreSQL at \(location.endpoint) is starting up or shutting down"
            case "53300": return "PostgreSQL at \(location.endpoint) has too many connections"
            case "57014": return "PostgreSQL cancelled a statement that ran too long"
            default: return "PostgreSQL error \(state): \(message)"
            }
        case .authMechanismRequiresPassword:
            return "PostgreSQL wants a password for \(location.user): give it in the URL or in BATON_DATABASE_PASSWORD"
        case .sslUnsupported:
            return "PostgreSQL at \(location.endpoint) does not offer TLS, which sslmode=\(location.sslMode.rawValue) asks for"
        case .unsupportedAuthMechanism:
            return "PostgreSQL at \(location.endpoint) asks for an authentication method Baton does not speak (use scram-sha-256 or md5)"
        case .saslError:
            return "PostgreSQL refused the password for \(location.user) (SASL exchange failed)"
        case .connectionError:
            return "cannot reach PostgreSQL at \(location.endpoint) (\(reason(error.underlying, location)))"
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return "lost the connection to PostgreSQL at \(location.endpoint)"
        case .poolClosed:
            return "the PostgreSQL store is shut down"
        case .queryCancelled:
            return "PostgreSQL query cancelled"
        default:
            return "PostgreSQL at \(location.endpoint) failed: \(error.code)"
        }
    }

    /// Why a connection could not be made, in a few words rather than a stack of NIO errors.
    static func reason(_ error: (any Error)?, _ location: PostgresEndpoint) -> String {
        switch error {
        case nil:
            return "connection failed"
        case let error as IOError:
            return errnoReason(error.errnoCode, location)
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return reason(first.error, location) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve \(location.host)" }
            return "connection failed"
        case let error as ChannelError:
            if case .connectTimeout = error { return "timed out" }
            return "\(error)"
        case let error as PSQLError:
            return describe(error, location)
        case let error as NIOSSLError:
            return "TLS failed: \(error)"
        case let error as NIOSSLExtraError:
            return "TLS failed: \(error)"
        case let error?:
            return "\(type(of: error))"
        }
    }

    private static func errnoReason(_ code: CInt, _ location: PostgresEndpoint) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ENOENT: return "no socket at \(location.unixSocketPath)"
        case EACCES: return "permission denied"
        case ETIMEDOUT: return "timed out"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        default: return String(cString: strerror(code))
        }
    }
}
