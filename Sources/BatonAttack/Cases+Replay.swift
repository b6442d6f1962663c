import BatonCore
import Foundation

extension AttackSuite {
    static let replayCases: [AttackCase] = [
        AttackCase("replay", "second-redemption") { context in
            let (browser, callback, _) = try await context.freshToken()
            let first = try await browser.get(callback)
            guard context.redeemed(first) else { return .fail("the first redemption did not succeed: \(first.status) \(first.batonError ?? "-")") }
            await browser.jar.remove("__Host-baton_session", host: PublicURL(context.dashboard)!.host)
            return context.refused(try await browser.get(callback), .tokenReplayed)
        },
        race(32),
        race(200),
        AttackCase("replay", "reload-in-same-browser-continues") { context in
            let (browser, callback, _) = try await context.freshToken()
            let first = try await browser.get(callback)
            guard context.redeemed(first) else { return .fail("the first redemption did not succeed") }
            let session = await browser.jar.value("__Host-baton_session", host: PublicURL(context.dashboard)!.host)
            let reload = try await browser.get(callback)
            // "Create nothing": no other session id (the same one sent again is no new session).
            let sent = reload.setCookie("__Host-baton_session").flatMap { $0.split(separator: ";").first }.map { String($0.dropFirst(21)) }
            let created = sent.map { !$0.isEmpty && $0 != session } ?? false
            return .check(
                reload.status == 303 && reload.location == first.location && !created,
                "reload answered \(reload.status) to \(reload.location ?? "-") \(created ? "WITH" : "without") a new session")
        },
        AttackCase("replay", "replay-from-another-browser") { context in
            let (browser, callback, _) = try await context.freshToken()
            guard context.redeemed(try await browser.get(callback)) else { return .fail("the first redemption did not succeed") }
            let thief = context.browser()
            return context.refused(try await thief.get(callback), .tokenReplayed)
        },
        AttackCase("replay", "replay-with-stolen-state-cookie") { context in
            let (browser, callback, _) = try await context.freshToken()
            let host = PublicURL(context.dashboard)!.host
            let state = await browser.jar.value("__Host-baton_state", host: host)
            guard context.redeemed(try await browser.get(callback)) else { return .fail("the first redemption did not succeed") }
            let thief = context.browser()
            if let state { await thief.jar.plant("__Host-baton_state", state, host: host) }
            return context.refused(try await thief.get(callback), .tokenReplayed)
        },
        AttackCase("replay", "replay-after-local-logout") { context in
            let (browser, callback, _) = try await context.freshToken()
            guard context.redeemed(try await browser.get(callback)) else { return .fail("the first redemption did not succeed") }
            let logout = try await context.logOut(browser, at: context.dashboard)
            guard !(400..<600).contains(logout.status) else { return .fail("logout answered \(logout.status)") }
            return context.refused(try await browser.get(callback), .tokenReplayed)
        },
        AttackCase("replay", "redemption-after-expiry") { context in
            let (browser, callback, token) = try await context.freshToken()
            guard let forge = TokenForge(token: token), let exp = expiry(of: forge) else { return .fail("the token has no exp") }
            // exp + the largest leeway PROTOCOL.md allows + one second of margin.
            let wait = TimeInterval(exp + 3) - Date().timeIntervalSince1970
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
            return context.refused(try await browser.get(callback), .tokenExpired)
        },
        AttackCase("replay", "forged-token-with-real-jti-does-not-burn-it") { context in
            let (browser, callback, token) = try await context.freshToken()
            guard let forge = TokenForge(token: token) else { return .fail("unreadable token") }
            let state = await context.stateCookie(browser)
            let forged = forge.signedByAttacker(header: forge.headerJSON, payload: forge.claimsJSON)
            let refusal = context.refused(try await context.redeem(browser, token: forged), .tokenInvalidSignature)
            guard refusal.passed else { return refusal }
            let real = try await context.redeemAfterRefusal(browser, callback: callback, state: state)
            let (unburned, what) = context.unburned(real)
            return .check(unburned, refusal.detail + " for the forged copy; the real token then " + what)
        },
        AttackCase("replay", "two-token-parameters-burn-neither") { context in
            let browser = try await context.signedIn()
            let host = PublicURL(context.dashboard)!.host
            let callbackA = try await browser.obtainCallbackURL(rpOrigin: context.dashboard)
            let stateA = await browser.jar.value("__Host-baton_state", host: host)
            let callbackB = try await browser.obtainCallbackURL(rpOrigin: context.dashboard)
            guard let tokenA = Browser.token(in: callbackA), let tokenB = Browser.token(in: callbackB) else { return .fail("no tokens") }
            let both = try await browser.get(context.dashboard + "/sso/callback?token=\(tokenA)&token=\(tokenB)")
            let refusal = context.refused(both, .tokenMalformed)
            guard refusal.passed else { return refusal }
            guard context.redeemed(try await browser.get(callbackB)) else { return .fail("token B was burned by the double request") }
            await browser.jar.remove("__Host-baton_session", host: host)
            if let stateA { await browser.jar.plant("__Host-baton_state", stateA, host: host) }
            return .check(context.redeemed(try await browser.get(callbackA)), "both refused together; each redeemed alone afterwards")
        },
        AttackCase("replay", "head-before-get-burns-nothing") { context in
            let (browser, callback, _) = try await context.freshToken()
            let head = try await browser.request("HEAD", callback)
            let get = try await browser.get(callback)
            return .check(
                head.setCookie("__Host-baton_session") == nil && context.redeemed(get),
                "HEAD answered \(head.status); the GET after it answered \(get.answer)")
        },
        AttackCase("replay", "options-before-get-burns-nothing") { context in
            let (browser, callback, _) = try await context.freshToken()
            let options = try await browser.request("OPTIONS", callback)
            let get = try await browser.get(callback)
            return .check(
                options.setCookie("__Host-baton_session") == nil && context.redeemed(get),
                "OPTIONS answered \(options.status); the GET after it answered \(get.answer)")
        },
    ]

    static func expiry(of forge: TokenForge) -> Int64? {
        guard let members = try? StrictJSON.parseObject(Array(forge.claimsJSON.utf8)) else { return nil }
        return members.first { $0.0 == "exp" }?.1.integerValue
    }

    /// `ways` browsers redeem one token at the same moment, each with the sign-in's
    /// state cookie: exactly one may win.
    static func race(_ ways: Int) -> AttackCase {
        AttackCase("replay", "\(ways)-way-concurrent-redemption") { context in
            let (browser, callback, _) = try await context.freshToken()
            let host = PublicURL(context.dashboard)!.host
            let state = await browser.jar.value("__Host-baton_state", host: host)
            let racers = (0..<ways).map { _ in browser.freshProfile() }
            for racer in racers {
                if let state { await racer.jar.plant("__Host-baton_state", state, host: host) }
            }
            let results = try await withThrowingTaskGroup(of: (Bool, String?).self) { group in
                for racer in racers {
                    group.addTask {
                        let response = try await racer.get(callback)
                        return (context.redeemed(response), response.batonError)
                    }
                }
                return try await group.reduce(into: [(Bool, String?)]()) { $0.append($1) }
            }
            let wins = results.filter(\.0).count
            let replays = results.filter { $0.1 == "token_replayed" }.count
            return .check(
                wins == 1 && replays == ways - 1,
                "\(wins) session(s) created, \(replays) token_replayed, \(ways - wins - replays) other")
        }
    }
}
