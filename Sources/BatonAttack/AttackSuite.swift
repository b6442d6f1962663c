import AsyncHTTPClient
import Foundation

/// Where the suite attacks: the addresses to connect to, and the public origins sent
/// as `Host` (the same unless the hosts sit behind names a plain client cannot resolve).
public struct AttackTarget: Sendable {
    public var loginURL: String
    public var dashboardURL: String
    public var reportsURL: String?
    public var loginOrigin: String
    public var dashboardOrigin: String
    public var reportsOrigin: String?
    public var username: String
    public var password: String
    /// Where to reach a reverse proxy that protects an app with a relying party's
    /// `/sso/auth` (the `forward-auth` group), and the app's public origin.
    public var appURL: String?
    public var appOrigin: String?
    /// How long a session ended on one replica may still be honoured by another (its
    /// cached read; Baton's hosts keep one for at most 1 s). 0, the default, for a
    /// single process: a logout must end the session at once. Behind a load balancer
    /// with replicas the logout cases accept the old cookie being refused within this.
    public var replicaPropagation: TimeInterval = 0

    /// A target; each origin defaults to its URL.
    public init(
        loginURL: String, dashboardURL: String, reportsURL: String? = nil, loginOrigin: String? = nil,
        dashboardOrigin: String? = nil, reportsOrigin: String? = nil, username: String, password: String
    ) {
        func trim(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
        self.loginURL = trim(loginURL)
        self.dashboardURL = trim(dashboardURL)
        self.reportsURL = reportsURL.map(trim)
        self.loginOrigin = trim(loginOrigin ?? loginURL)
        self.dashboardOrigin = trim(dashboardOrigin ?? dashboardURL)
        self.reportsOrigin = (reportsOrigin ?? reportsURL).map(trim)
        self.username = username
        self.password = password
    }

    /// Public authority → where to connect.
    public var routes: [String: String] {
        var routes: [String: String] = [:]
        for (origin, url) in [(loginOrigin, loginURL), (dashboardOrigin, dashboardURL)] {
            if let authority = PublicURL(origin)?.authority { routes[authority] = url }
        }
        if let reportsOrigin, let reportsURL, let authority = PublicURL(reportsOrigin)?.authority {
            routes[authority] = reportsURL
        }
        if let appURL, let authority = PublicURL(appOrigin ?? appURL)?.authority {
            routes[authority] = appURL.hasSuffix("/") ? String(appURL.dropLast()) : appURL
        }
        return routes
    }
}

/// What one case found.
public struct AttackOutcome: Sendable, Codable, Equatable {
    public var group: String
    public var name: String
    public var passed: Bool
    public var detail: String

    /// True for a case of the `hardening` group: Baton's choice, beyond PROTOCOL.md.
    public var beyondContract: Bool { group == AttackSuite.hardening }

    /// `PASS group/case: detail` or `FAIL group/case: detail`; a hardening case says
    /// that it checks more than the contract.
    public var line: String {
        "\(passed ? "PASS" : "FAIL") \(group)/\(name): \(detail)" + (beyondContract ? " (Baton's hardening, beyond the contract)" : "")
    }
}

/// One attack: what it tries, and how it judges the answer.
public struct AttackCase: Sendable {
    public let group: String
    public let name: String
    let run: @Sendable (AttackContext) async throws -> Verdict

    init(_ group: String, _ name: String, _ run: @escaping @Sendable (AttackContext) async throws -> Verdict) {
        self.group = group
        self.name = name
        self.run = run
    }
}

/// A case's judgement.
public struct Verdict: Sendable {
    public var passed: Bool
    public var detail: String

    static func pass(_ detail: String) -> Verdict { Verdict(passed: true, detail: detail) }
    static func fail(_ detail: String) -> Verdict { Verdict(passed: false, detail: detail) }
    static func check(_ condition: Bool, _ detail: String) -> Verdict { Verdict(passed: condition, detail: detail) }
}

/// The replay-attack suite: a black box that speaks only HTTP to a running login
/// host and its relying parties, as PROTOCOL.md describes them.
public struct AttackSuite: Sendable {
    /// The groups, in the order they run. All but the last check PROTOCOL.md; the
    /// last, `hardening`, checks Baton's own choices beyond it. `forward-auth` needs a
    /// proxy in front of an app (``optionalGroups``).
    public static let groups = [
        "replay", "forgery", "audience", "csrf", "redirects", "cookies", "headers", "backchannel", "robustness", "forward-auth",
        hardening,
    ]

    /// Groups that need more than the login host and a relying party, and what they need.
    public static let optionalGroups = ["forward-auth": "--app and --app-origin (a reverse proxy protecting an app)"]

    public let target: AttackTarget

    /// A suite against `target`.
    public init(target: AttackTarget) { self.target = target }

    /// Every case, in order.
    public static var cases: [AttackCase] {
        replayCases + forgeryCases + audienceCases + csrfCases + redirectCases + cookieCases + headerCases
            + backChannelCases + robustnessCases + forwardAuthCases + hardeningCases
    }

    /// The groups a run of `only` (every group when nil) can include against this target:
    /// an optional group is left out, not failed, when the target lacks what it needs.
    public func runnableGroups(only: Set<String>?) -> Set<String> {
        var groups = only ?? Set(Self.groups)
        if target.appURL == nil { groups.remove("forward-auth") }
        return groups
    }

    /// Runs the cases of `only` (every group when nil), reporting each as it ends.
    public func run(only: Set<String>? = nil, report: @Sendable (AttackOutcome) -> Void) async -> [AttackOutcome] {
        let http = Browser.makeHTTPClient()
        let context = AttackContext(target: target, http: http)
        var outcomes: [AttackOutcome] = []
        let groups = runnableGroups(only: only)
        for attack in Self.cases where groups.contains(attack.group) {
            let verdict: Verdict
            do {
                verdict = try await attack.run(context)
            } catch {
                // A precondition that cannot be met is a failure, never a skip.
                verdict = .fail("could not run: \(error)")
            }
            let outcome = AttackOutcome(group: attack.group, name: attack.name, passed: verdict.passed, detail: verdict.detail)
            report(outcome)
            outcomes.append(outcome)
        }
        await context.finish()
        try? await http.shutdown()
        return outcomes
    }
}
