import Foundation

/// What a callback request brings to redemption: its `token` parameters and cookies.
public struct CallbackRequest: Sendable {
    public var tokens: [String]
    /// `__Host-baton_state`: the state this browser's sign-in started with.
    public var stateCookie: String?
    /// `__Host-baton_return`: where that sign-in goes after.
    public var returnCookie: String?
    /// `__Host-baton_session`, for the reload rule.
    public var sessionCookie: String?

    public init(tokens: [String], stateCookie: String?, returnCookie: String?, sessionCookie: String?) {
        self.tokens = tokens
        self.stateCookie = stateCookie
        self.returnCookie = returnCookie
        self.sessionCookie = sessionCookie
    }
}

/// What turns a callback request into a session. ``Redeemer`` is the one Baton ships;
/// the seam exists so tests can prove the attack suite catches a weaker one.
public protocol HandoffRedeeming: Sendable {
    func redeem(_ callback: CallbackRequest) async -> Redeemer.Result
}

/// Turns a handoff token into a relying-party session: the six steps of "Redeeming a
/// token" in PROTOCOL.md, failing closed at each.
///
/// The burn decides at step 3, as the protocol orders it; what it costs is one durable
/// commit per redemption. A token already burned is caught there by a read (a replay
/// or a reload). For a fresh token the burn is written with the session it creates, in
/// one transaction, after steps 4 and 5 have passed: two concurrent redemptions of one
/// token still produce exactly one session (the loser finds the jti burned and is a
/// replay), and every refusal after step 3 burns the jti before it answers, so a token
/// refused for its state or its session is spent exactly as if it had been burned first.
public struct Redeemer: HandoffRedeeming {
    public let clientID: String
    public let verifier: HandoffVerifier
    public let store: any RelyingPartyStore
    public let directory: any LoginSessionDirectory
    public let states: SignInStateSealer
    public let clock: any BatonClock
    /// How long an RP session lives.
    public let sessionLifetime: TimeInterval
    /// The person must be in one of these to get a session (`allowed_groups`); empty: anyone.
    public let allowedGroups: [String]

    /// A redeemer for relying party `clientID`.
    public init(
        clientID: String, verifier: HandoffVerifier, store: any RelyingPartyStore, directory: any LoginSessionDirectory,
        states: SignInStateSealer, clock: any BatonClock, sessionLifetime: TimeInterval = 8 * 3600, allowedGroups: [String] = []
    ) {
        self.clientID = clientID
        self.verifier = verifier
        self.store = store
        self.directory = directory
        self.states = states
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

        public init(outcome: Swift.Result<Outcome, BatonError>, stateConsumed: Bool, jtiFingerprint: String?) {
            self.outcome = outcome
            self.stateConsumed = stateConsumed
            self.jtiFingerprint = jtiFingerprint
        }
    }

    /// Redeems one callback request.
    public func redeem(_ callback: CallbackRequest) async -> Result {
        var result = Result(outcome: .failure(.tokenMissing), stateConsumed: false, jtiFingerprint: nil)
        do {
            result.outcome = .success(try await redeem(callback, &result))
        } catch {
            result.outcome = .failure(error)
        }
        return result
    }

    private func redeem(_ callback: CallbackRequest, _ result: inout Result) async throws(BatonError) -> Outcome {
        guard let token = callback.tokens.first else { throw .tokenMissing }
        // `token=A&token=B`: refuse both, burn neither.
        guard callback.tokens.count == 1 else { throw .tokenMalformed }
        let callbackAt = clock.now()
        let timer = ContinuousClock()

        // Steps 1 and 2: structure, algorithm, type, key, signature; then the claims.
        let verifyStart = timer.now
        let claims = try await verifier.verify(token)
        let verifyTime = verifyStart.duration(to: timer.now)
        result.jtiFingerprint = Secrets.fingerprint(claims.jti)
        // Kept until the token can no longer verify, and a second more.
        let until = verifier.burnedUntil(claims)

        // Step 3: a jti already burned is a reload or a replay.
        let burned: Bool
        do {
            burned = try await store.isBurned(issuer: claims.iss, jti: claims.jti)
        } catch {
            throw .storeUnavailable
        }
        if burned { return try await reloadOrReplay(jti: claims.jti, sessionCookie: callback.sessionCookie) }
        // From here every refusal spends the token first, as a burn at step 3 would have,
        // unless the burn itself failed.
        var storeFailed = false
        do throws(BatonError) {
            // Step 4: the token must belong to the sign-in this browser started.
            guard let stateCookie = callback.stateCookie, !stateCookie.isEmpty else { throw .stateMissing }
            result.stateConsumed = true
            guard Secrets.constantTimeEquals(claims.nonce, HandoffClaims.nonce(forState: stateCookie)) else { throw .stateMismatch }
            // A state that is not this relying party's, was altered, or has expired did not start this sign-in here.
            guard let signIn = states.open(state: stateCookie, returnCookie: callback.returnCookie, now: clock.now()) else {
                throw .stateMissing
            }

            // Step 5: who is this? Only the login host knows; the token never says.
            let backChannelStart = timer.now
            let info = try await directory.lookUp(sid: claims.sid)
            guard info.sid == claims.sid else { throw .sessionEnded }
            let backChannelTime = backChannelStart.duration(to: timer.now)
            let identity = info.identity
            // `allowed_groups` applies to the sign-in itself: no session for anyone outside them.
            if !allowedGroups.isEmpty, Set(identity.groups).isDisjoint(with: allowedGroups) { throw .notPermitted }

            // Step 6: a new session under a new random id; only its hash is stored, in the
            // same transaction as the burn.
            let secret = Secrets.random(bytes: 32)
            let now = clock.now()
            let loginExpiry = Date(timeIntervalSince1970: TimeInterval(info.expires_at))
            let session = RPSession(
                idHash: Secrets.hash(secret), clientID: clientID, loginSID: claims.sid, createdByJTI: claims.jti,
                returnTo: signIn.returnTo, identity: identity, createdAt: now,
                expiresAt: min(now.addingTimeInterval(sessionLifetime), max(loginExpiry, now)),
                timeline: HandoffTimeline(
                    startedAtMs: signIn.startedAt.milliseconds, callbackAtMs: callbackAt.milliseconds,
                    iat: claims.iat, exp: claims.exp, jtiPrefix: String(claims.jti.prefix(8)),
                    verifyMs: verifyTime.milliseconds, burnMs: 0, backChannelMs: backChannelTime.milliseconds,
                    finishedAtMs: now.milliseconds))
            let outcome: BurnOutcome
            do {
                outcome = try await store.burn(issuer: claims.iss, jti: claims.jti, until: until, creating: session)
            } catch {
                // The store itself failed: a second write (the burn below) would only wait as
                // long again, and the answer must come within 5 s (PROTOCOL.md). Nothing was
                // created, so the token may be tried again once the store is back.
                storeFailed = true
                throw .storeUnavailable
            }
            // Lost a race with another redemption of the same token.
            if outcome == .alreadyUsed { return try await reloadOrReplay(jti: claims.jti, sessionCookie: callback.sessionCookie) }
            return .created(cookie: secret, session: session)
        } catch {
            // Nor when the login host could not be asked (its store, or the back channel,
            // failed): spending would be a second wait, past the 5 s the answer must come
            // within, and nothing was created, so the token may be tried again.
            if storeFailed || error == .storeUnavailable { throw error }
            try await spend(issuer: claims.iss, jti: claims.jti, until: until, refusal: error)
        }
    }

    /// Burns the jti of a token refused after step 3, then refuses it. Should the token
    /// have been burned meanwhile (a concurrent redemption), this one is a replay.
    private func spend(issuer: String, jti: String, until: Date, refusal: BatonError) async throws(BatonError) -> Never {
        let outcome: BurnOutcome
        do {
            outcome = try await store.burn(issuer: issuer, jti: jti, until: until)
        } catch {
            throw .storeUnavailable
        }
        if outcome == .alreadyUsed, refusal != .storeUnavailable { throw .tokenReplayed }
        throw refusal
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
