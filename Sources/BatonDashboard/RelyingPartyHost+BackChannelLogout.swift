import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension RelyingPartyHost {
    /// `POST /sso/backchannel-logout` with form field `logout_token`: verified as
    /// strictly as a handoff token (its own `typ`, `aud` = this client, `exp`), its
    /// jti burned, then every session of this relying party tied to `sid` ends.
    /// 200 when done; 400 when the token does not verify; 503 when the store fails,
    /// so that the login host tries again.
    func backChannelLogout(_ request: Request) async throws -> Response {
        let fields = try await FormFields.body(of: request)
        let tokens = fields.all("logout_token")
        let claims: LogoutClaims
        do {
            guard tokens.count == 1 else { throw tokens.isEmpty ? BatonError.tokenMissing : BatonError.tokenMalformed }
            claims = try await logoutVerifier.verify(tokens[0])
        } catch let error as BatonError {
            logger.event(.logoutTokenInvalid, "logout token refused", metadata: ["code": .string(error.code)])
            return logoutRefusal(error)
        }
        do {
            let until = logoutVerifier.burnedUntil(claims)
            guard try await store.burn(issuer: claims.iss, jti: claims.jti, until: until) == .burned else {
                metrics.logoutReplays.increment()
                logger.event(.logoutTokenReplayed, "logout token replayed", metadata: ["jti": .string(Secrets.fingerprint(claims.jti))])
                return logoutRefusal(.tokenReplayed)
            }
            let ended = try await store.deleteRPSessions(loginSID: claims.sid, clientID: configuration.clientID)
            gate.forget(loginSID: claims.sid)
            metrics.logoutsOK.increment()
            logger.event(
                .backChannelLogout, level: .info, "back-channel logout",
                metadata: ["sid": .string(Secrets.fingerprint(claims.sid)), "ended": "\(ended)"])
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        } catch {
            logger.event(.storeUnavailable, "store failure", metadata: ["error": .string(String(describing: error))])
            return logoutRefusal(.storeUnavailable)
        }
    }

    private func logoutRefusal(_ error: BatonError) -> Response {
        metrics.logoutsRefused[error]?.increment()
        // A machine-to-machine answer: 400 for any token that does not verify
        // (PROTOCOL.md), 503 for a store failure; the code says which.
        let status: HTTPResponse.Status = error == .storeUnavailable ? .serviceUnavailable : .badRequest
        var response = Response(
            status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: error.code + "\n")))
        response.headers[.batonError] = error.code
        return response
    }
}
