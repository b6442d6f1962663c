import BatonCore
import BatonSQLite
import BatonTestSupport
import Foundation

// Deliberately weakened parts, built only here, to prove that the attack suite fails
// when Baton's protections are missing. None of this exists in the shipped binary.

/// A redeemer that verifies, burns and looks the session up, but never compares the
/// token's nonce with the browser's state.
struct StatelessRedeemer: HandoffRedeeming {
    let parts: RelyingPartyParts

    func redeem(_ callback: CallbackRequest) async -> Redeemer.Result {
        var result = Redeemer.Result(outcome: .failure(.tokenMissing), stateConsumed: false, jtiFingerprint: nil)
        let tokenParameters = callback.tokens
        guard tokenParameters.count == 1 else {
            result.outcome = .failure(tokenParameters.isEmpty ? .tokenMissing : .tokenMalformed)
            return result
        }
        let verifier = HandoffVerifier(issuer: parts.issuer, audience: parts.clientID, keys: parts.keys, clock: parts.clock)
        do {
            let claims = try await verifier.verify(tokenParameters[0])
            let until = Date(timeIntervalSince1970: TimeInterval(claims.exp + 2))
            guard (try? await parts.store.burn(issuer: claims.iss, jti: claims.jti, until: until)) == .burned else {
                throw BatonError.tokenReplayed
            }
            let info = try await parts.directory.lookUp(sid: claims.sid)
            let secret = Secrets.random()
            let now = parts.clock.now()
            let session = RPSession(
                idHash: Secrets.hash(secret), clientID: parts.clientID, loginSID: claims.sid, createdByJTI: claims.jti, returnTo: "/",
                identity: info.identity, createdAt: now,
                expiresAt: now.addingTimeInterval(3600),
                timeline: HandoffTimeline(
                    startedAtMs: now.milliseconds, callbackAtMs: now.milliseconds, iat: claims.iat, exp: claims.exp,
                    jtiPrefix: String(claims.jti.prefix(8)), verifyMs: 0, burnMs: 0, backChannelMs: 0, finishedAtMs: now.milliseconds))
            try? await parts.store.insertRPSession(session)
            result.outcome = .success(.created(cookie: secret, session: session))
        } catch let error as BatonError {
            result.outcome = .failure(error)
        } catch {
            result.outcome = .failure(.storeUnavailable)
        }
        return result
    }
}

/// A redeemer that accepts a token for any audience: Baton's redeemer, told each
/// token's own `aud` as the expected one.
struct AnyAudienceRedeemer: HandoffRedeeming {
    let parts: RelyingPartyParts

    func redeem(_ callback: CallbackRequest) async -> Redeemer.Result {
        let audience =
            callback.tokens.first.flatMap { try? CompactJWS(parsing: $0) }?.claims.first { $0.0 == "aud" }?.1.stringValue
            ?? parts.clientID
        let verifier = HandoffVerifier(issuer: parts.issuer, audience: audience, keys: parts.keys, clock: parts.clock)
        return await Redeemer(
            clientID: parts.clientID, verifier: verifier, store: parts.store, directory: parts.directory, states: parts.states,
            clock: parts.clock
        ).redeem(callback)
    }
}

/// A `/handoff` check that trusts any `redirect_uri` for a known client.
struct AnyRedirectURI: HandoffRequestValidating {
    let registry: ClientRegistry

    func validateHandoff(clientID: String?, redirectURI: String?, state: String?) throws(ClientRegistry.HandoffRequestError)
        -> ClientRegistry.Client
    {
        guard let clientID, let client = registry.clients[clientID] else { throw .unknownClient }
        guard let state, Redirects.isValidState(state) else { throw .invalidState }
        return client
    }
}

