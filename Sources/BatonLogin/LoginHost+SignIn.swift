import BatonCore
import BatonWeb
import Foundation
import Hummingbird
import Logging

extension LoginHost {
    /// `GET /login?continue=PATH`: the sign-in form, or straight on when signed in.
    func loginForm(_ request: Request) async throws -> Response {
        let query = FormFields(query: request)
        let continuePath = Redirects.localPathOrRoot(query.single("continue"))
        do {
            if try await service.session(cookie: BatonCookie.login.value(in: request)) != nil {
                return .redirect(continuePath)
            }
        } catch {
            return storeUnavailable(error)
        }
        return form(request, continuePath: continuePath, message: nil, status: .ok)
    }

    /// `POST /login`: checks the CSRF token, the throttle and the password, then
    /// starts a new session and goes on to `continue`.
    func signIn(_ request: Request, context: BatonRequestContext) async throws -> Response {
        let fields = try await FormFields.body(of: request)
        let continuePath = Redirects.localPathOrRoot(fields.single("continue"))
        guard CSRF.isValid(request, form: fields) else {
            logger.event(.csrfInvalid, "sign-in refused: the form's CSRF token is missing or wrong")
            return form(request, continuePath: continuePath, message: "This form expired. Please sign in again.", status: .forbidden)
        }
        guard let username = fields.single("username"), let password = fields.single("password"),
            !username.isEmpty, !password.isEmpty
        else {
            return form(request, continuePath: continuePath, message: "Enter your username and password.", status: .badRequest)
        }
        let address = ClientAddress.resolve(
            peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[values: .xForwardedFor],
            trusted: configuration.trustedProxies)
        // Who tried from where, as fingerprints: enough to tell one attacker's attempts
        // from another's in the log, never the username or the address itself.
        let attempt: Logger.Metadata = [
            "username": .string(Secrets.fingerprint(username)), "address": .string(Secrets.fingerprint(address)),
        ]
        do {
            let user: User
            switch try await service.attemptSignIn(username: username, password: password, clientAddress: address) {
            case .accepted(let accepted):
                user = accepted
            case .refused:
                metrics.signIns.refused.increment()
                logger.event(.signInRefused, "sign-in refused: wrong username or password", metadata: attempt)
                return form(request, continuePath: continuePath, message: "Wrong username or password.", status: .unauthorized)
            case .throttled:
                metrics.signIns.throttled.increment()
                logger.event(.signInThrottled, "sign-in throttled: too many recent failures", metadata: attempt)
                return form(
                    request, continuePath: continuePath, message: "Too many failed attempts. Wait a few minutes and try again.",
                    status: .tooManyRequests)
            case .busy:
                metrics.signIns.busy.increment()
                logger.event(.signInBusy, "sign-in refused: every password check slot is taken", metadata: attempt)
                var response = form(
                    request, continuePath: continuePath, message: "Sign-in is busy. Try again in a moment.", status: .serviceUnavailable)
                response.headers[.retryAfter] = "2"
                return response
            }
            // Never adopt the session the browser brought: end it and start afresh.
            if let old = try await service.session(cookie: BatonCookie.login.value(in: request)) {
                try await service.endSession(sid: old.sid)
            }
            let (cookie, session) = try await service.startSession(
                for: user, userAgent: request.headers[.userAgent] ?? "unknown")
            logger.event(.signedIn, level: .info, "signed in", metadata: ["sid": .string(Secrets.fingerprint(session.sid))])
            // A sign-in past the per-person cap ended the oldest session: its logouts go out now.
            logoutDispatcher?.poke()
            metrics.signIns.accepted.increment()
            var response = Response.redirect(continuePath)
            response.setCookie(BatonCookie.login.set(cookie))
            return response
        } catch {
            return storeUnavailable(error)
        }
    }

    /// `POST /logout`: ends the login session (CSRF protected).
    func signOut(_ request: Request) async throws -> Response {
        let fields = try await FormFields.body(of: request)
        guard CSRF.isValid(request, form: fields) else {
            logger.event(.csrfInvalid, "form refused: its CSRF token is missing or wrong")
            return pages.formExpired(site: "Baton login")
        }
        do {
            if let session = try await service.session(cookie: BatonCookie.login.value(in: request)) {
                try await endSession(session.sid, reason: "logout")
            }
        } catch {
            return storeUnavailable(error)
        }
        var response = Response.redirect("/login")
        response.setCookie(BatonCookie.login.clear())
        return response
    }

    /// `GET /`: who is signed in, their sessions on every device, or off to the form.
    func home(_ request: Request) async throws -> Response {
        let session: LoginSession?
        let user: User?
        var rows: [[String: Any]] = []
        do {
            session = try await service.session(cookie: BatonCookie.login.value(in: request))
            user = try await session.asyncMap { try await service.store.user(id: $0.userID) }
            if let session, let user {
                for other in try await service.store.loginSessions(userID: user.id) {
                    let sites = try await service.store.clientsHandedTo(sid: other.sid)
                    rows.append([
                        "sid": other.sid, "current": other.sid == session.sid, "device": Self.describe(userAgent: other.userAgent),
                        "started": other.authTime.pageText, "last_seen": other.lastSeen.pageText,
                        "sites": sites.isEmpty ? "none yet" : sites.joined(separator: ", "),
                    ])
                }
            }
        } catch {
            return storeUnavailable(error)
        }
        guard let session, let user else { return .redirect("/login") }
        let (csrf, csrfCookie) = CSRF.token(for: request)
        var response = pages.html(
            "login-home",
            [
                "title": "Signed in", "display_name": user.displayName, "username": user.username,
                "auth_time": session.authTime.pageText, "expires_at": session.expiresAt.pageText,
                "sessions": rows, "session_count": rows.count, "csrf": csrf,
            ])
        if let csrfCookie { response.setCookie(csrfCookie) }
        return response
    }

    /// `POST /sessions/end` (one of the person's sessions, by its `sid`) and
    /// `POST /sessions/end-all` ("sign out everywhere"), CSRF protected. Only the
    /// signed-in person's own sessions can be ended.
    func endSessions(_ request: Request, all: Bool) async throws -> Response {
        let fields = try await FormFields.body(of: request)
        guard CSRF.isValid(request, form: fields) else {
            logger.event(.csrfInvalid, "form refused: its CSRF token is missing or wrong")
            return pages.formExpired(site: "Baton login")
        }
        do {
            guard let current = try await service.session(cookie: BatonCookie.login.value(in: request)) else {
                return .redirect("/login")
            }
            let mine = try await service.store.loginSessions(userID: current.userID).map(\.sid)
            let targets = all ? mine : mine.filter { $0 == fields.single("sid") }
            for sid in targets { try await endSession(sid, reason: all ? "sign out everywhere" : "ended from the sessions page") }
            if targets.contains(current.sid) {
                var response = Response.redirect("/login")
                response.setCookie(BatonCookie.login.clear())
                return response
            }
            return .redirect("/")
        } catch {
            return storeUnavailable(error)
        }
    }

    /// Ends a login session and sends the news to every relying party that used it.
    func endSession(_ sid: String, reason: String) async throws {
        let clients = try await service.endSession(sid: sid)
        logger.event(
            .loginSessionEnded, level: .info, "login session ended",
            metadata: ["sid": .string(Secrets.fingerprint(sid)), "reason": .string(reason), "notify": .string((clients ?? []).joined(separator: ","))])
        logoutDispatcher?.poke()
    }

    /// Ends idle and expired sessions; the back-channel logouts go out at once.
    public func reapStaleSessions() async throws -> Int {
        let ended = try await service.endStaleSessions()
        if !ended.isEmpty { logoutDispatcher?.poke() }
        return ended.count
    }

    /// "Chromium on Linux" from a User-Agent header: enough to recognise a device.
    static func describe(userAgent: String) -> String {
        // Ordered: a Chromium User-Agent also says "Safari", an Android one "Linux".
        let browsers = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl")]
        let systems = [("Android", "Android"), ("iPhone", "iPhone"), ("Mac OS X", "macOS"), ("Windows", "Windows"), ("Linux", "Linux")]
        let browser = browsers.first { userAgent.contains($0.0) }?.1 ?? "A browser"
        let system = systems.first { userAgent.contains($0.0) }?.1
        return system.map { "\(browser) on \($0)" } ?? browser
    }

    private func form(_ request: Request, continuePath: String, message: String?, status: HTTPResponse.Status) -> Response {
        let (csrf, csrfCookie) = CSRF.token(for: request)
        var context: [String: Any] = ["title": "Sign in", "continue": continuePath, "csrf": csrf]
        if let message { context["message"] = message }
        var response = pages.html("login", context, status: status)
        if let csrfCookie { response.setCookie(csrfCookie) }
        return response
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
