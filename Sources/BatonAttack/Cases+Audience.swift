import BatonCore

extension AttackSuite {
    /// A token minted for `from` redeemed at `at`, in the attacker's own browser,
    /// which holds the state cookie the token was minted for (copied to `at`): the
    /// audience is the token's only fault. Then it still redeems where it belongs.
    static func crossAudience(_ name: String, from: @escaping @Sendable (AttackContext) -> String?, at: @escaping @Sendable (AttackContext) -> String?)
        -> AttackCase
    {
        AttackCase("audience", name) { context in
            guard let from = from(context), let at = at(context) else { return .fail("needs --reports: no second relying party") }
            let (browser, callback, token) = try await context.freshToken(at: from)
            let state = await context.stateCookie(browser, at: from)
            if let state { await browser.jar.plant("__Host-baton_state", state, host: PublicURL(at)!.host) }
            let refusal = context.refused(try await context.redeem(browser, token: token, at: at), .tokenWrongAudience)
            guard refusal.passed else { return refusal }
            let home = try await context.redeemAfterRefusal(browser, callback: callback, state: state, at: from)
            let (unburned, what) = context.unburned(home)
            return .check(unburned, refusal.detail + "; at \(PublicURL(from)!.host) it then " + what)
        }
    }

    static let audienceCases: [AttackCase] = [
        crossAudience("reports-token-at-dashboard", from: { $0.target.reportsOrigin }, at: { $0.dashboard }),
        crossAudience("dashboard-token-at-reports", from: { $0.dashboard }, at: { $0.target.reportsOrigin }),
    ]

    /// A refused form post: PROTOCOL.md says "CSRF protected" and gives no status, so
    /// any 4xx passes.
    static func refusedForm(_ response: HTTPExchange) -> Bool {
        (400..<500).contains(response.status)
    }

    static let csrfCases: [AttackCase] = [
        AttackCase("csrf", "no-state-cookie") { context in
            let (browser, callback, _) = try await context.freshToken()
            await browser.jar.remove("__Host-baton_state", host: PublicURL(context.dashboard)!.host)
            return context.refused(try await browser.get(callback), .stateMissing)
        },
        AttackCase("csrf", "another-sign-ins-state") { context in
            let (browser, callback, _) = try await context.freshToken()
            _ = try await browser.get(context.dashboard + "/sso/start?return_to=%2F")
            return context.refused(try await browser.get(callback), .stateMismatch)
        },
        AttackCase("csrf", "attackers-token-in-a-fresh-victim-browser") { context in
            let (_, callback, _) = try await context.freshToken()
            let victim = context.browser()
            let response = try await victim.get(callback, crossSite: true)
            return context.refused(response, .stateMissing)
        },
        AttackCase("csrf", "attackers-token-in-a-victim-mid-sign-in") { context in
            let (_, callback, _) = try await context.freshToken()
            let victim = context.browser()
            _ = try await victim.get(context.dashboard + "/sso/start?return_to=%2F")
            return context.refused(try await victim.get(callback, crossSite: true), .stateMismatch)
        },
        AttackCase("csrf", "login-form-without-csrf-token") { context in
            let browser = context.browser()
            let page = try await browser.get(context.login + "/login")
            guard let form = HTMLForm.signIn(in: page.body, pageURL: page.url) else { return .fail("no sign-in form at /login (\(page.status))") }
            // Only the fields PROTOCOL.md names: every other hidden input (the CSRF token among them) left out.
            let named = ["username", "password", "continue"]
            let dropped = form.fields.map(\.name).filter { !named.contains($0) }
            guard !dropped.isEmpty else { return .fail("the sign-in form has no hidden field besides continue: no CSRF token") }
            let response = try await browser.post(
                form.target(from: page.url) ?? context.login + "/login",
                form: [("username", context.target.username), ("password", context.target.password), ("continue", "/")])
            let home = try await browser.get(context.login + "/")
            return .check(
                refusedForm(response) && response.setCookie("__Host-baton_login") == nil && home.status == 303,
                "without \(dropped.joined(separator: ", ")) it answered \(response.status); the login host's / then answered \(home.status)")
        },
        AttackCase("csrf", "login-post-with-another-browsers-form") { context in
            // Login CSRF: the attacker's page posts the attacker's own form (and name and
            // password) from the victim's browser, which has visited the login host too.
            let attacker = context.browser()
            let page = try await attacker.get(context.login + "/login")
            guard let form = HTMLForm.signIn(in: page.body, pageURL: page.url) else { return .fail("no sign-in form at /login (\(page.status))") }
            let victim = context.browser()
            _ = try await victim.get(context.login + "/login")
            let response = try await victim.submit(
                form, on: page, filling: [("username", context.target.username), ("password", context.target.password)], crossSite: true)
            let home = try await victim.get(context.login + "/")
            return .check(
                refusedForm(response) && response.setCookie("__Host-baton_login") == nil && home.status == 303,
                "the cross-site post answered \(response.status); the victim's login host / then answered \(home.status)")
        },
        AttackCase("csrf", "dashboard-logout-without-csrf-token") { context in
            let (browser, callback, _) = try await context.freshToken()
            guard context.redeemed(try await browser.get(callback)) else { return .fail("sign-in failed") }
            let logout = try await browser.post(context.dashboard + "/logout", form: [])
            let home = try await browser.get(context.dashboard + "/")
            return .check(
                refusedForm(logout) && home.status == 200,
                "an empty logout post answered \(logout.status); the session then answered \(home.status)")
        },
        AttackCase("csrf", "login-logout-without-csrf-token") { context in
            let browser = try await context.signedIn()
            let page = try await browser.get(context.login + "/")
            guard let form = HTMLForm.logout(in: page.body, pageURL: page.url) else { return .fail("no logout form on the login host's / (\(page.status))") }
            // The form's own fields, every value a guess.
            let guessed = form.fields.map { ($0.name, Secrets.random(bytes: 24)) }
            let logout = try await browser.post(form.target(from: page.url) ?? context.login + "/logout", form: guessed)
            let home = try await browser.get(context.login + "/")
            return .check(
                refusedForm(logout) && home.status == 200,
                "a logout post with guessed \(guessed.map(\.0).joined(separator: ", ")) answered \(logout.status); the session then answered \(home.status)")
        },
    ]

    static let backChannelCases: [AttackCase] = {
        /// A lookup of a live sid with credentials that are not the client's. PROTOCOL.md:
        /// "401 for a wrong client"; a header that is not even valid Basic may get 400.
        func lookup(_ name: String, malformed: Bool = false, _ headers: @escaping @Sendable (_ sid: String, _ clientID: String) -> [(String, String)])
            -> AttackCase
        {
            AttackCase("backchannel", name) { context in
                let (_, _, token) = try await context.freshToken()
                guard let sid = TokenForge(token: token)?.claim("sid") else { return .fail("no sid in the token") }
                let clientID = try await context.registration(of: context.dashboard).clientID
                let response = try await context.browser().get(context.login + "/api/sessions/" + sid, headers: headers(sid, clientID))
                let statuses = malformed ? [400, 401] : [401]
                return .check(
                    statuses.contains(response.status) && !response.body.contains(context.target.username),
                    "answered \(response.status)")
            }
        }
        @Sendable func basic(_ user: String, _ password: String) -> (String, String) {
            ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        return [
            lookup("no-credentials") { _, _ in [] },
            lookup("wrong-client-secret") { _, clientID in [basic(clientID, "wrong-secret-wrong-secret")] },
            lookup("unknown-client") { _, _ in [basic("mallory", "wrong-secret-wrong-secret")] },
            lookup("bearer-sid") { sid, _ in [("Authorization", "Bearer " + sid)] },
            lookup("bearer-token-of-the-handoff") { _, _ in [("Authorization", "Bearer x.y.z")] },
            lookup("malformed-basic", malformed: true) { _, _ in [("Authorization", "Basic !!!not-base64!!!")] },
            AttackCase("backchannel", "metrics-need-the-metrics-token") { context in
                // PROTOCOL.md: /metrics answers only `Authorization: Bearer` with the host's
                // metrics_token, and 404 on a host with none. The suite knows no token, so
                // every try must be 401 or 404 and show no metric.
                var answers: [String] = []
                var leaked = false
                let origins = [context.login, context.dashboard] + (context.target.reportsOrigin.map { [$0] } ?? [])
                for origin in origins {
                    for headers in [[], [("Authorization", "Bearer " + Secrets.random(bytes: 32))], [basic("metrics", "metrics")]] {
                        let response = try await context.browser().get(origin + "/metrics", headers: headers)
                        if ![401, 404].contains(response.status) || response.body.contains("# TYPE") { leaked = true }
                        answers.append("\(response.status)")
                    }
                }
                return .check(!leaked, "\(answers.count) tries on \(origins.count) hosts answered \(Set(answers).sorted().joined(separator: ", "))")
            },
            AttackCase("backchannel", "sid-is-not-a-login-cookie") { context in
                let (_, _, token) = try await context.freshToken()
                guard let sid = TokenForge(token: token)?.claim("sid") else { return .fail("no sid in the token") }
                let attacker = context.browser()
                await attacker.jar.plant("__Host-baton_login", sid, host: PublicURL(context.login)!.host)
                let home = try await attacker.get(context.login + "/")
                let path = home.resolvedLocation.flatMap { PublicURL($0)?.path }
                return .check(home.status == 303 && path == "/login", "the login host answered \(home.status) to \(home.location ?? "nowhere")")
            },
        ]
    }()
}

import Foundation
