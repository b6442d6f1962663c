import BatonCore
import BatonServer
import BatonTestSupport
import Foundation
import Logging
import Testing

@Suite("log_format and metrics_token settings; JSON log lines")
struct LogFormatTests {
    @Test("a JSON line is one object: timestamp, level, label, message, and metadata as strings")
    func jsonLineShape() throws {
        let line = BatonLogHandler.jsonLine(
            timestamp: Date(timeIntervalSince1970: 1_796_122_800.25), level: .warning, label: "baton.rp.dashboard",
            message: "redemption \"refused\"\n\u{1}\u{2028}é",
            metadata: ["event": "token_replayed", "count": .stringConvertible(3), "list": .array(["a", "b"])])
        #expect(!line.contains(UInt8(ascii: "\n")))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["timestamp"] as? String == "2026-12-01T11:00:00.250Z")
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "baton.rp.dashboard")
        #expect(object["message"] as? String == "redemption \"refused\"\n\u{1}\u{2028}é")
        let metadata = try #require(object["metadata"] as? [String: String])
        #expect(metadata == ["event": "token_replayed", "count": "3", "list": #"["a", "b"]"#])
        #expect(String(decoding: line, as: UTF8.self).contains(#"\u2028"#))
    }

    @Test("log_format is text or json, metrics_token at least 32 printable characters; a bad one names its field")
    func settings() async throws {
        let login = ConfigurationTests.validLogin
        let rp = """
            {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "public_origin": "http://d.localhost",
             "issuer": "http://login.localhost:8080", "database": "d.sqlite"}
            """
        func with(_ base: String, _ extra: String) -> String { base.replacingOccurrences(of: "{\"", with: "{\(extra), \"", options: [], range: base.range(of: "{\"")) }
        for (base, isRP) in [(login, false), (rp, true)] {
            #expect(try ConfigurationTests.error(with(base, #""log_format": "yaml""#), rp: isRP)?.field == "log_format")
            #expect(try ConfigurationTests.error(with(base, #""metrics_token": "too-short""#), rp: isRP)?.field == "metrics_token")
            #expect(
                try ConfigurationTests.error(with(base, #""metrics_token": "has spaces has spaces has spaces has spaces""#), rp: isRP)?.field
                    == "metrics_token")
            let good = with(base, #""log_format": "json", "metrics_token": "0123456789abcdef0123456789abcdef""#)
            #expect(try ConfigurationTests.error(good, rp: isRP) == nil)
            let path = try ConfigurationTests.write(good)
            defer { try? FileManager.default.removeItem(atPath: path) }
            if isRP {
                let file = try RelyingPartyFile(path: path)
                #expect(file.logFormat == .json)
                #expect(file.host.metricsToken == "0123456789abcdef0123456789abcdef")
            } else {
                let file = try LoginHostFile(path: path)
                #expect(file.logFormat == .json)
                #expect(file.host.metricsToken == "0123456789abcdef0123456789abcdef")
            }
            let description = try await ConfigurationCheck.check(path: path)
            #expect(description.contains("metrics_token: (hidden)"))
            #expect(!description.contains("0123456789abcdef0123456789abcdef"))
        }
        #expect(throws: ConfigurationError.self) { try LogOutput.format(settings: [.json, .text], current: .text) }
        #expect(try LogOutput.format(settings: [nil, .json], current: .text) == .json)
        #expect(try LogOutput.format(settings: [nil], current: .json) == .json)
        #expect(try LogOutput.format(environment: ["BATON_LOG_FORMAT": "JSON"]) == .json)
        #expect(throws: ConfigurationError.self) { try LogOutput.format(environment: ["BATON_LOG_FORMAT": "xml"]) }
    }

}
