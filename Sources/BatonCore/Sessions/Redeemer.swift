import Foundation

/// What turns a callback request into a session. ``Redeemer`` is the one Baton ships;
/// the seam exists so tests can prove the attack suite catches a weaker one.
public protocol HandoffRedeeming: Sendable {
    func redeem(tokenParameters: [String], stateCookie: String?, sessionCookie: String?) async -> Redeemer.Result
}

/// Turns a handoff token into a relying-party session: the six steps of "Redeeming a
/// token" in PROTOCOL.md, in that order, failing closed at each.
public struct Redeemer: HandoffRedeeming {
    public let clientID: String
    public let verifier: HandoffVerifier
    public let store: any RelyingPartyStore
    public let directory: any LoginSessionDirectory
    public let clock: any BatonClock
    /// How long an RP session lives.
    public let sessionLifetime: TimeInterval
    /// The person must be in one of these to get a session (`allowed_groups`); empty: anyone.
    public let allowedGroups: [String]

    /// A redeemer for relying party `clientID`.
    public init(
        clientID: String, verifier: HandoffVerifier, store: any RelyingPartyStore,
        directory: any LoginSessionDirectory, clock: any BatonClock, sessionLifetime: TimeInterval = 8 * 3600,
        allowedGroups: [String] = []
    ) {
        self.clientID = clientID
        self.verifier = verifier
        self.store = store
        self.directory = directory
        self.clock = clock
        self.sessionLifetime = sessionLifetime
        self.allowedGroups = allowedGroups
    }

    /// What a redemption produced.
    public enum Outcome: Sendable, Equatable {
        /// A new session: set `cookie` and go to the session's `returnTo`.
        case created(cookie: String, session: RPSession)
        /// The same browser reloaded the callback of the session it already has: go on
        /// to `returnTo`, create nothing.
        case reloaded(returnTo: String)
    }

    /// The outcome, and facts the web layer needs whatever happened.
    public struct Result: Sendable {
        public var outcome: Swift.Result<Outcome, BatonError>
        /// Step 4 was reached: the state cookie has been used and must be cleared.
        public var stateConsumed: Bool
        /// A fingerprint of the jti, for security-event logs (never the token).
        public var jtiFingerprint: String?

        /// A result.
        public init(outcome: Swift.Result<Outcome, BatonError>, stateConsumed: Bool, jtiFingerprint: String?) {
            self.outcome = outcome
            self.stateConsumed = stateConsumed
            self.jtiFingerprint = jtiFingerprint
        }
    }

    /// Redeems the `token` query parameters of one callback request.
    public func redeem(tokenParameters: [String], stateCookie: String?, sessionCookie: String?) async -> Result {
        var result = Result(outcome: .failure(.tokenMissing), stateConsumed: false, jtiFingerprint: nil)
        do {
            result.outcome = .success(try await redeem(tokenParameters, stateCookie, sessionCookie, &result))
        } catch {
            result.outcome = .failure(error)
        }
        return result
    }

    private func redeem(
        _ tokens: [String], _ stateCookie: String?, _ sessionCookie: String?, _ result: inout Result
    ) async throws(BatonError) -> Outcome {
        guard let token = tokens.first else { throw .tokenMissing }
        // `token=A&token=B`: refuse both, burn neither.
        guard tokens.count == 1 else { throw .tokenMalformed }
        let callbackAt = clock.now()
        let timer = ContinuousClock()

        // Steps 1 and 2: structure, algorithm, type, key, signature; then the claims.
        let verifyStart = timer.now
        let claims = try await verifier.verify(token)
        let verifyTime = verifyStart.duration(to: timer.now)
        result.jtiFingerprint = Secrets.fingerprint(claims.jti)

        // Step 3: burn the jti, durably, before anything depends on it.
        let burnStart = timer.now
        let until = verifier.burnedUntil(claims)
        let burn: BurnOutcome
        do {
            burn = try await store.burn(issuer: claims.iss, jti: claims.jti, until: until)
        } catch {
            throw .storeUnavailable
        }
        let burnTime = burnStart.duration(to: timer.now)
        if burn == .alreadyUsed {
            return try await reloadOrReplay(jti: claims.jti, sessionCookie: sessionCookie)
        }

        // Step 4: the token must belong to the sign-in this browser started.
        guard let stateCookie, !stateCookie.isEmpty else { throw .stateMissing }
        result.stateConsumed = true
        guard Secrets.constantTimeEquals(claims.nonce, HandoffClaims.nonce(forState: stateCookie)) else {
            throw .stateMismatch
        }
        let pending: PendingSignIn?
        do {
            pending = try await store.takePendingSignIn(stateHash: Secrets.hash(stateCookie), now: clock.now())
        } catch {
            throw .storeUnavailable
        }
        // A state cookie whose server-side record is gone or belongs to another client
        // did not start this sign-in here.
        guard let pending, pending.clientID == clientID else { throw .stateMissing }

        // Step 5: who is this? Only the login host knows; the token never says.
        let backChannelStart = timer.now
        let info = try await directory.lookUp(sid: claims.sid)
        guard info.sid == claims.sid else { throw .sessionEnded }
        let backChannelTime = backChannelStart.duration(to: timer.now)
        let identity = info.identity
        // `allowed_groups` applies to the sign-in itself: no session for anyone outside them.
        if !allowedGroups.isEmpty, Set(identity.groups).isDisjoint(with: allowedGroups) { throw .notPermitted }

        // Step 6: a new session under a new random id; only its hash is stored.
        let secret = Secrets.random(bytes: 32)
        let now = clock.now()
        let loginExpiry = Date(timeIntervalSince1970: TimeInterval(info.expires_at))
        let session = RPSession(
            idHash: Secrets.hash(secret), clientID: clientID, loginSID: claims.sid, createdByJTI: claims.jti,
            returnTo: Redirects.localPathOrRoot(pending.returnTo), identity: identity, createdAt: now,
            expiresAt: min(now.addingTimeInterval(sessionLifetime), max(loginExpiry, now)),
            timeline: HandoffTimeline(
                startedAtMs: pending.startedAt.milliseconds, callbackAtMs: callbackAt.milliseconds,
                iat: claims.iat, exp: claims.exp, jtiPrefix: String(claims.jti.prefix(8)),
                verifyMs: verifyTime.milliseconds, burnMs: burnTime.milliseconds,
                backChannelMs: backChannelTime.milliseconds, finishedAtMs: clock.now().milliseconds))
        do {
            try await store.insertRPSession(session)
        } catch {
            throw .storeUnavailable
        }
        return .created(cookie: secret, session: session)
    }

    /// A burned jti: a reload when this browser holds the session that very jti
    /// created; otherwise a replay.
    private func reloadOrReplay(jti: String, sessionCookie: String?) async throws(BatonError) -> Outcome {
        guard let sessionCookie, !sessionCookie.isEmpty, sessionCookie.utf8.count <= 256 else { throw .tokenReplayed }
        let session: RPSession?
        do {
            session = try await store.rpSession(idHash: Secrets.hash(sessionCookie))
        } catch {
            throw .storeUnavailable
        }
        guard let session, session.clientID == clientID, clock.now() < session.expiresAt,
            Secrets.constantTimeEquals(session.createdByJTI, jti)
        else { throw .tokenReplayed }
        return .reloaded(returnTo: session.returnTo)
    }
}
