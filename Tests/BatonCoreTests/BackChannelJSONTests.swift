import Foundation
import Testing

@testable import BatonCore

/// The back channel's answer and the stored timeline are written by ``JSONText`` and read
/// by ``StrictJSON`` rather than Foundation's coders: these pin that the bytes are what
/// JSONEncoder wrote before (a relying party of an older release reads them) and that the
/// reader is strict where JSONDecoder was lenient.
@Suite("Back-channel JSON: what the login host sends and what a relying party accepts")
struct BackChannelJSONTests {
    private let info = SessionInfo(
        sid: "sid-1", sub: "user-1", username: "alice", display_name: "Alice \"Al\" Liddell \\ é", email: "alice@example.com",
        groups: ["admins", "ops"], auth_time: 1_796_000_000, expires_at: 1_796_043_200)

    @Test("the login host's answer is byte for byte what JSONEncoder with sorted keys wrote")
    func sameBytesAsJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let old = try encoder.encode(info)
        // JSONEncoder writes "\n" where JSONText writes "\u000a" (both JSON, both read
        // the same); no value here holds a control character.
        #expect(String(decoding: info.json(), as: UTF8.self) == String(decoding: old, as: UTF8.self))
    }

    @Test("a relying party reads back what the login host wrote, and what JSONEncoder wrote")
    func roundTrips() throws {
        #expect(try SessionInfo(json: info.json()) == info)
        #expect(try SessionInfo(json: Array(JSONEncoder().encode(info))) == info)
        var controls = info
        controls.display_name = "line\nbreak\u{1}"
        #expect(try SessionInfo(json: controls.json()) == controls)
        #expect(try JSONDecoder().decode(SessionInfo.self, from: Data(controls.json())) == controls)
    }

    @Test("an answer from before email and groups existed reads as unknown email and no groups")
    func olderLoginHost() throws {
        let old = #"{"sid":"s","sub":"u","username":"a","display_name":"A","auth_time":1,"expires_at":2}"#
        let read = try SessionInfo(json: Array(old.utf8))
        #expect(read.email == "" && read.groups == [])
        let nulls = #"{"sid":"s","sub":"u","username":"a","display_name":"A","email":null,"groups":null,"auth_time":1,"expires_at":2}"#
        #expect(try SessionInfo(json: Array(nulls.utf8)).groups == [])
    }

    @Test(
        "refuses an answer a lenient decoder would have read some way",
        arguments: [
            // Two sids: which one a parser keeps is undefined (RFC 8259 §4).
            #"{"sid":"s","sid":"t","sub":"u","username":"a","display_name":"A","auth_time":1,"expires_at":2}"#,
            #"{"sid":"s","sub":"u","username":"a","display_name":"A","auth_time":1.5,"expires_at":2}"#,
            #"{"sid":"s","sub":"u","username":"a","display_name":"A","auth_time":"1","expires_at":2}"#,
            #"{"sid":"s","sub":"u","username":"a","display_name":"A","auth_time":1}"#,
            #"{"sid":1,"sub":"u","username":"a","display_name":"A","auth_time":1,"expires_at":2}"#,
            #"{"sid":"s","sub":"u","username":"a","display_name":"A","groups":["x",1],"auth_time":1,"expires_at":2}"#,
            #"{"sid":"s","sub":"u","username":"a","display_name":"A","groups":"x","auth_time":1,"expires_at":2}"#,
            #"{"sid":"s","sub":"u","username":"a","display_name":"A","email":false,"auth_time":1,"expires_at":2}"#,
            #"{"sid":"s","sub":"u","username":"a","display_name":"A","auth_time":1,"expires_at":2} trailing"#,
            #"["sid"]"#,
            "",
        ])
    func refusesMalformed(_ text: String) {
        #expect((try? SessionInfo(json: Array(text.utf8))) == nil)
    }

    @Test("the stored timeline reads back through the Codable decoder that rp_sessions rows are read with")
    func timelineRoundTrips() throws {
        let timeline = HandoffTimeline(
            startedAtMs: 1_796_000_000_123, callbackAtMs: 1_796_000_001_456, iat: 1_796_000_001, exp: 1_796_000_011,
            jtiPrefix: "ab\"cd\\ef", verifyMs: 0.1234, burnMs: 0, backChannelMs: 1.5e-05, finishedAtMs: 1_796_000_001_460)
        let read = try JSONDecoder().decode(HandoffTimeline.self, from: Data(timeline.json.utf8))
        #expect(read == timeline)
        #expect(try StrictJSON.parseObject(Array(timeline.json.utf8)).count == 9)
        #expect(HandoffTimeline(json: timeline.json) == timeline)
    }

    @Test("a timeline written by JSONEncoder (rows stored before) reads back; a broken one does not")
    func timelineReadsEncoderOutput() throws {
        let timeline = HandoffTimeline(
            startedAtMs: 1_796_000_000_123, callbackAtMs: 1_796_000_001_456, iat: 1_796_000_001, exp: 1_796_000_011,
            jtiPrefix: "ab/cd\u{e9}", verifyMs: 12.75, burnMs: 0, backChannelMs: 3e-06, finishedAtMs: 1_796_000_001_460)
        let encoded = String(decoding: try JSONEncoder().encode(timeline), as: UTF8.self)
        #expect(HandoffTimeline(json: encoded) == timeline)
        // Unknown members are ignored, as JSONDecoder ignores them.
        #expect(HandoffTimeline(json: String(timeline.json.dropLast()) + #","later":true}"#) == timeline)
        for broken in [
            String(timeline.json.replacing(#""iat":1796000001,"#, with: "")),
            String(timeline.json.replacing(#""iat":1796000001"#, with: #""iat":"1796000001""#)),
            String(timeline.json.replacing(#""iat":1796000001"#, with: #""iat":1796000001.5"#)),
            String(timeline.json.replacing(#""burnMs":0"#, with: #""burnMs":"0""#)),
            String(timeline.json.dropLast()), "", "[]",
        ] {
            #expect(broken != timeline.json)
            #expect(HandoffTimeline(json: broken) == nil, "\(broken)")
        }
    }
}
