import Foundation
import Testing

@testable import BatonCore

/// `/sso/start` writes nothing: the sign-in travels in a state the relying party seals.
@Suite("SignInStateSealer: a state only this relying party made opens, for five minutes, with its return path")
struct SignInStateTests {
    static let sealer = SignInStateSealer(clientID: "dashboard", secret: "a-client-secret-of-at-least-32-characters")
    static let start = Date(timeIntervalSince1970: 1_767_225_600.5)

    @Test("a state is a valid PROTOCOL.md state, carries its start, and opens with its return path")
    func roundTrip() throws {
        let signIn = Self.sealer.start(returnTo: "/reports?q=1&x=2", at: Self.start)
        #expect(Redirects.isValidState(signIn.state))
        #expect(signIn.state.utf8.count == 54)
        let opened = try #require(
            Self.sealer.open(
                state: signIn.state, returnCookie: SignInStateSealer.returnCookie(for: "/reports?q=1&x=2"),
                now: Self.start.addingTimeInterval(10)))
        #expect(opened.returnTo == "/reports?q=1&x=2")
        #expect(abs(opened.startedAt.timeIntervalSince(Self.start)) < 0.001)
        #expect(Self.sealer.start(returnTo: "/", at: Self.start).state != signIn.state, "each state is random")
    }

    @Test("a sign-in back to / needs the state cookie alone; a stale return cookie does not spoil it")
    func rootNeedsNoReturnCookie() throws {
        let signIn = Self.sealer.start(returnTo: "/", at: Self.start)
        #expect(SignInStateSealer.returnCookie(for: "/") == nil)
        #expect(Self.sealer.open(state: signIn.state, returnCookie: nil, now: Self.start)?.returnTo == "/")
        let stale = SignInStateSealer.returnCookie(for: "/earlier")
        #expect(Self.sealer.open(state: signIn.state, returnCookie: stale, now: Self.start)?.returnTo == "/")
    }

    @Test("an altered return path, another relying party's state, a random state and an expired one do not open")
    func refusals() {
        let signIn = Self.sealer.start(returnTo: "/reports", at: Self.start)
        let right = SignInStateSealer.returnCookie(for: "/reports")
        #expect(Self.sealer.open(state: signIn.state, returnCookie: SignInStateSealer.returnCookie(for: "/admin"), now: Self.start) == nil)
        #expect(Self.sealer.open(state: signIn.state, returnCookie: nil, now: Self.start) == nil, "/reports is not /")
        let reports = SignInStateSealer(clientID: "reports", secret: "a-client-secret-of-at-least-32-characters")
        #expect(reports.open(state: signIn.state, returnCookie: right, now: Self.start) == nil)
        let otherSecret = SignInStateSealer(clientID: "dashboard", secret: "another-secret-of-at-least-32-characters")
        #expect(otherSecret.open(state: signIn.state, returnCookie: right, now: Self.start) == nil)
        #expect(Self.sealer.open(state: Secrets.random(bytes: 40), returnCookie: right, now: Self.start) == nil)
        #expect(Self.sealer.open(state: signIn.state, returnCookie: right, now: Self.start.addingTimeInterval(299)) != nil)
        #expect(Self.sealer.open(state: signIn.state, returnCookie: right, now: Self.start.addingTimeInterval(300)) == nil)
        #expect(Self.sealer.open(state: signIn.state, returnCookie: right, now: Self.start.addingTimeInterval(-120)) == nil)
        // One bit flipped anywhere in the state.
        var bytes = Base64URL.decode(signIn.state)!
        bytes[20] ^= 1
        #expect(Self.sealer.open(state: Base64URL.encode(bytes), returnCookie: right, now: Self.start) == nil)
    }

    @Test("a return cookie that is not a local path never opens, whatever its MAC")
    func returnCookieMustBeLocal() {
        #expect(SignInStateSealer.decodeReturn(SignInStateSealer.encodeReturn("//evil.example")) == nil)
        #expect(SignInStateSealer.decodeReturn(SignInStateSealer.encodeReturn("https://evil.example/")) == nil)
        #expect(SignInStateSealer.decodeReturn("!!!") == nil)
    }
}
