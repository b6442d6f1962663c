import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A black-box HTTP client that behaves like one browser profile: its own cookie
/// jar, `Host` set to the public name while the socket goes to the address a route
/// names (`*.localhost` → 127.0.0.1:port), and no redirect followed unless asked.
public final class Browser: Sendable {
    public let http: HTTPClient
    /// Public authority (`dashboard.localhost:8081`) → base URL to connect to.
    public let routes: [String: String]
    public let jar = CookieJar()
    public let userAgent: String

    /// A browser using `http` (which must not follow redirects) and `routes`.
    public init(http: HTTPClient, routes: [String: String], userAgent: String = "BatonAttack/1 (like Chromium)") {
        self.http = http
        self.routes = routes
        self.userAgent = userAgent
    }

    /// A fresh profile: same routes, empty jar.
    public func freshProfile() -> Browser {
        Browser(http: http, routes: routes, userAgent: userAgent)
    }

    /// An HTTP client fit for a browser: no redirects followed, bounded timeouts.
    public static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(15))
        configuration.decompression = .disabled
        // Enough connections that a 200-way race is a real race, not a queue.
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends one request. `headers` are added as given (a `Host` there replaces the
    /// public one: for poisoning tests). `crossSite` applies the SameSite rules of a
    /// request that another site started.
    public func request(
        _ method: String, _ url: String, form: [(String, String)]? = nil, headers: [(String, String)] = [],
        crossSite: Bool = false, sendCookies: Bool = true
    ) async throws -> HTTPExchange {
        guard let target = PublicURL(url) else { throw BrowserError.badURL(url) }
        guard let base = routes[target.authority] else { throw BrowserError.noRoute(target.authority) }
        var request = HTTPClientRequest(url: base + target.target)
        request.method = HTTPMethod(rawValue: method)
        if !headers.contains(where: { $0.0.lowercased() == "host" }) {
            request.headers.add(name: "Host", value: target.authority)
        }
        request.headers.add(name: "User-Agent", value: userAgent)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if sendCookies, let cookie = await jar.header(for: target, method: method, crossSite: crossSite) {
            request.headers.add(name: "Cookie", value: cookie)
        }
        if let form {
            let body = form.map { Self.formEncode($0.0) + "=" + Self.formEncode($0.1) }.joined(separator: "&")
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
        let exchange = HTTPExchange(
            method: method, url: url, status: Int(response.status.code),
            headers: response.headers.map { (name: $0.name, value: $0.value) }, body: String(buffer: body))
        await jar.receive(exchange.setCookies, from: target)
        return exchange
    }

    /// `GET url`.
    public func get(_ url: String, headers: [(String, String)] = [], crossSite: Bool = false) async throws -> HTTPExchange {
        try await request("GET", url, headers: headers, crossSite: crossSite)
    }

    /// `POST url` with a form body.
    public func post(_ url: String, form: [(String, String)], crossSite: Bool = false) async throws -> HTTPExchange {
        try await request("POST", url, form: form, crossSite: crossSite)
    }

    /// Follows redirects from `exchange` like a browser (GET after 302/303), at most
    /// `maxHops`; returns every response, the first included.
    public func follow(_ exchange: HTTPExchange, maxHops: Int = 10) async throws -> [HTTPExchange] {
        var chain = [exchange]
        var current = exchange
        for _ in 0..<maxHops {
            guard (300..<400).contains(current.status), let next = current.resolvedLocation else { return chain }
            let crossSite = PublicURL(next)?.host != PublicURL(current.url)?.host
            current = try await get(next, crossSite: crossSite)
            chain.append(current)
        }
        return chain
    }

    /// `GET url` and follow redirects; the last response.
    public func navigate(_ url: String, maxHops: Int = 10) async throws -> HTTPExchange {
        try await follow(try await get(url), maxHops: maxHops).last!
    }

    /// Form-encodes a value as a browser does (`application/x-www-form-urlencoded`).
    public static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "").replacingOccurrences(of: "%20", with: "+")
    }
}

/// Why a browser request could not be sent.
public enum BrowserError: Error, CustomStringConvertible {
    case badURL(String)
    case noRoute(String)
    case unexpected(String)

    public var description: String {
        switch self {
        case .badURL(let url): "not an absolute URL: \(url)"
        case .noRoute(let authority): "no address known for \(authority)"
        case .unexpected(let message): message
        }
    }
}
