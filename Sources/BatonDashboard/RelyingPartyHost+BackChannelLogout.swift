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
            return logoutRefusal(error)
        }
        do {
            let until = logoutVerifier.burnedUntil(claims)
            guard try await store.burn(issuer: claims.iss, jti: claims.jti, until: until) == .burned else {
                logger.warning("security event: logout token replayed", metadata: ["jti": .string(Secrets.fingerprint(claims.jti))])
                return logoutRefusal(.tokenReplayed)
            }
            let ended = try await store.deleteRPSessions(loginSID: claims.sid, clientID: configuration.clientID)
            gate.forget(loginSID: claims.sid)
            metrics.count("baton_backchannel_logouts", [("result", "ok")])
            logger.info("back-channel logout", metadata: ["sid": .string(Secrets.fingerprint(claims.sid)), "ended": "\(ended)"])
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        } catch {
            logger.error("store failure", metadata: ["error": .string(String(describing: error))])
            return logoutRefusal(.storeUnavailable)
        }
    }

    private func logoutRefusal(_ error: BatonError) -> Response {
        metrics.count("baton_backchannel_logouts", [("result", error.code)])
        // A machine-to-machine answer: 400 for any token that does not verify
        // (PROTOCOL.md), 503 for a store failure; the code says which.
        let status: HTTPResponse.Status = error == .storeUnavailable ? .serviceUnavailable : .badRequest
        var response = Response(
            status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: error.code + "\n")))
        response.headers[.batonError] = error.code
        return response
    }
}
