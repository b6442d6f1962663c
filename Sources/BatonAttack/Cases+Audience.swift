import BatonCore

extension AttackSuite {
    static let audienceCases: [AttackCase] = [
        AttackCase("audience", "reports-token-at-dashboard") { context in
            guard let reports = context.target.reportsOrigin else { return .fail("needs --reports: no second relying party to mint for") }
            let (browser, _, token) = try await context.freshToken(at: reports)
            _ = try await browser.get(context.dashboard + "/sso/start?return_to=%2F")
            return context.refused(try await context.redeem(browser, token: token, at: context.dashboard), .tokenWrongAudience)
        },
        AttackCase("audience", "dashboard-token-at-reports") { context in
            guard let reports = context.target.reportsOrigin else { return .fail("needs --reports: no second relying party to redeem at") }
            let (browser, _, token) = try await context.freshToken(at: context.dashboard)
            _ = try await browser.get(reports + "/sso/start?return_to=%2F")
            return context.refused(try await context.redeem(browser, token: token, at: reports), .tokenWrongAudience)
        },
    ]

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
            _ = try await browser.get(context.login + "/login")
            let response = try await browser.post(
                context.login + "/login", form: [("username", context.target.username), ("password", context.target.password), ("continue", "/")])
            return .check(
                response.status == 403 && response.setCookie("__Host-baton_login") == nil, "answered \(response.status)")
        },
        AttackCase("csrf", "cross-site-login-post") { context in
            let browser = context.browser()
            let form = try await browser.get(context.login + "/login")
            let csrf = HTMLForm.value("csrf", in: form.body) ?? ""
            // A cross-site POST carries no SameSite=Lax cookie: the double-submit fails.
            let response = try await browser.post(
                context.login + "/login",
                form: [("csrf", csrf), ("username", context.target.username), ("password", context.target.password)], crossSite: true)
            return .check(response.status == 403 && response.setCookie("__Host-baton_login") == nil, "answered \(response.status)")
        },
        AttackCase("csrf", "dashboard-logout-without-csrf-token") { context in
            let (browser, callback, _) = try await context.freshToken()
            guard context.redeemed(try await browser.get(callback)) else { return .fail("sign-in failed") }
            let logout = try await browser.post(context.dashboard + "/logout", form: [])
            let home = try await browser.get(context.dashboard + "/")
            return .check(logout.status == 403 && home.status == 200, "logout answered \(logout.status); the session then answered \(home.status)")
        },
        AttackCase("csrf", "login-logout-without-csrf-token") { context in
            let browser = try await context.signedIn()
            let logout = try await browser.post(context.login + "/logout", form: [("csrf", "guessed-guessed-guessed-guessed")])
            let home = try await browser.get(context.login + "/")
            return .check(logout.status == 403 && home.status == 200, "logout answered \(logout.status); the session then answered \(home.status)")
        },
    ]

    static let backChannelCases: [AttackCase] = {
        func lookup(_ name: String, _ headers: @escaping @Sendable (String) -> [(String, String)]) -> AttackCase {
            AttackCase("backchannel", name) { context in
                let (_, _, token) = try await context.freshToken()
                guard let sid = TokenForge(token: token)?.claim("sid") else { return .fail("no sid in the token") }
                let response = try await context.browser().get(context.login + "/api/sessions/" + sid, headers: headers(sid))
                return .check(
                    response.status == 401 && !response.body.contains(context.target.username),
                    "answered \(response.status)")
            }
        }
        @Sendable func basic(_ user: String, _ password: String) -> (String, String) {
            ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        return [
            lookup("no-credentials") { _ in [] },
            lookup("wrong-client-secret") { _ in [basic("dashboard", "wrong-secret-wrong-secret")] },
            lookup("unknown-client") { _ in [basic("mallory", "wrong-secret-wrong-secret")] },
            lookup("bearer-sid") { sid in [("Authorization", "Bearer " + sid)] },
            lookup("bearer-token-of-the-handoff") { _ in [("Authorization", "Bearer x.y.z")] },
            lookup("malformed-basic") { _ in [("Authorization", "Basic !!!not-base64!!!")] },
            AttackCase("backchannel", "sid-is-not-a-login-cookie") { context in
                let (_, _, token) = try await context.freshToken()
                guard let sid = TokenForge(token: token)?.claim("sid") else { return .fail("no sid in the token") }
                let attacker = context.browser()
                await attacker.jar.plant("__Host-baton_login", sid, host: PublicURL(context.login)!.host)
                let home = try await attacker.get(context.login + "/")
                return .check(home.status == 303 && home.location?.hasSuffix("/login") == true, "the login host answered \(home.status)")
            },
        ]
    }()
}

import Foundation
