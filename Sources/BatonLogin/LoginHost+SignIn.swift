import BatonCore
import BatonWeb
import Foundation
import Hummingbird

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
    func signIn(_ request: Request) async throws -> Response {
        let fields = try await FormFields.body(of: request)
        let continuePath = Redirects.localPathOrRoot(fields.single("continue"))
        guard CSRF.isValid(request, form: fields) else {
            return form(request, continuePath: continuePath, message: "This form expired. Please sign in again.", status: .forbidden)
        }
        guard let username = fields.single("username"), let password = fields.single("password"),
            !username.isEmpty, !password.isEmpty
        else {
            return form(request, continuePath: continuePath, message: "Enter your username and password.", status: .badRequest)
        }
        let throttleKeys = ["user:" + username.lowercased()]
        if await throttle.isThrottled(throttleKeys) {
            metrics.count("baton_login_failures", [("reason", "throttled")])
            return form(
                request, continuePath: continuePath, message: "Too many failed attempts. Wait a few minutes and try again.",
                status: .tooManyRequests)
        }
        do {
            guard let user = try await service.authenticate(username: username, password: password) else {
                await throttle.recordFailure(throttleKeys)
                metrics.count("baton_login_failures", [("reason", "credentials")])
                return form(request, continuePath: continuePath, message: "Wrong username or password.", status: .unauthorized)
            }
            await throttle.reset(throttleKeys)
            // Never adopt the session the browser brought: end it and start afresh.
            if let old = try await service.session(cookie: BatonCookie.login.value(in: request)) {
                try await service.endSession(sid: old.sid)
            }
            let (cookie, session) = try await service.startSession(
                for: user, userAgent: request.headers[.userAgent] ?? "unknown")
            logger.info("signed in", metadata: ["sid": .string(Secrets.fingerprint(session.sid))])
            metrics.count("baton_logins")
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
            return pages.problem(
                .forbidden, title: "Sign-out not confirmed", explanation: "This form expired. Go back, reload and try again.",
                site: "Baton login", retryURL: "/")
        }
        do {
            if let session = try await service.session(cookie: BatonCookie.login.value(in: request)) {
                try await service.endSession(sid: session.sid)
                logger.info("signed out", metadata: ["sid": .string(Secrets.fingerprint(session.sid))])
            }
        } catch {
            return storeUnavailable(error)
        }
        var response = Response.redirect("/login")
        response.setCookie(BatonCookie.login.clear())
        return response
    }

    /// `GET /`: who is signed in, or off to the form.
    func home(_ request: Request) async throws -> Response {
        let session: LoginSession?
        let user: User?
        let sites: [String]
        do {
            session = try await service.session(cookie: BatonCookie.login.value(in: request))
            user = try await session.asyncMap { try await service.store.user(id: $0.userID) }
            sites = try await session.asyncMap { try await service.store.lookups(sid: $0.sid) } ?? []
        } catch {
            return storeUnavailable(error)
        }
        guard let session, let user else { return .redirect("/login") }
        let (csrf, csrfCookie) = CSRF.token(for: request)
        var response = pages.html(
            "login-home",
            [
                "title": "Signed in", "display_name": user.displayName, "username": user.username,
                "auth_time": session.authTime.formatted(.iso8601), "expires_at": session.expiresAt.formatted(.iso8601),
                "sites": sites, "has_sites": !sites.isEmpty, "csrf": csrf,
            ])
        if let csrfCookie { response.setCookie(csrfCookie) }
        return response
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
