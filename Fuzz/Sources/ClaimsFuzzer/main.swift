// The claims harness: a header and a payload (JSON text, split at the first NUL),
// base64url-encoded and signed with the trusted Ed25519 key, through the handoff and
// logout verifiers. The signature always holds here, so the fuzzer reaches what the
// token harness cannot: the header rules, the claim types and every check after the
// signature (`iss`, `aud`, lifetime, `iat`, `nbf`, `exp` with the leeway).
//
// Invariant: each verifier accepts exactly when an independent reading of PROTOCOL.md's
// rules (ClaimsRules.swift) says the token is good, and then returns exactly those
// claims; the ES256 verifier never accepts an Ed25519 signature.
import BatonCore
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    Fuzz.writeSeedsIfAsked { TokenSeeds.claimSeeds(world).map { ($0.name, $0.bytes) } }
    _ = world
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = Fuzz.bytes(start, count)
    let split = input.firstIndex(of: 0) ?? input.endIndex
    let header = Array(input[..<split])
    let payload = split < input.endIndex ? Array(input[(split + 1)...]) : []
    let token = world.signEdDSA(header: header, payload: payload)

    let handoff = world.handoffEdDSA.verdict(token)
    let expectedHandoff = ClaimsRules.handoff(header: header, payload: payload, tokenLength: token.utf8.count)
    compare(handoff, expectedHandoff, "handoff", token)

    let logout = world.logoutEdDSA.verdict(token)
    let expectedLogout = ClaimsRules.logout(header: header, payload: payload, tokenLength: token.utf8.count)
    compare(logout, expectedLogout, "logout", token)

    Fuzz.require(world.handoffES256.verdict(token).claims == nil, "the ES256 verifier accepted an Ed25519 signature: \(token)")
    return 0
}

func compare<Claims: Equatable>(_ verdict: Verdict<Claims>, _ expected: Claims?, _ kind: String, _ token: String) {
    switch (verdict, expected) {
    case (.accepted(let claims), .some(let expected)):
        Fuzz.require(claims == expected, "the \(kind) verifier returned other claims than the token holds: \(token)")
    case (.accepted, .none):
        Fuzz.fail("the \(kind) verifier accepted a token the rules refuse: \(token)")
    case (.refused(let error), .some):
        Fuzz.fail("the \(kind) verifier refused (\(error.rawValue)) a token the rules accept: \(token)")
    case (.refused, .none):
        break
    }
}
