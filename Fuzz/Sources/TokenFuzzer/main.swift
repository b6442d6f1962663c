// The token harness: any bytes as a token, through the strict pre-parse
// (`CompactJWS(parsing:)`) and the whole verifier (`TokenVerifier.verify`) of a relying
// party that trusts one Ed25519 and one P-256 key, at a fixed time.
//
// Invariants:
// - The pre-parse accepts only three strict base64url parts (the first two non-empty),
//   at most 4096 bytes, of the base64url alphabet and dots; each part re-encodes to
//   itself, the signing input is the first two parts as sent, and the header and
//   claims re-encoded canonically parse back to the same values.
// - A pre-parse refusal is `token_malformed` from every verifier; an `alg` other than
//   the pinned one is `token_unsupported_alg`; a wrong `typ` is `token_wrong_type`:
//   the order of PROTOCOL.md.
// - A verification succeeds only for a token the harness itself signed with the
//   trusted key (the genuine handoff and logout tokens, and the signed seeds of the
//   claims harness), byte for byte, Ed25519 being deterministic; for ES256, whose
//   signatures are randomised, only over the genuine signing input. The genuine
//   tokens yield the genuine claims.
import BatonCore
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    Fuzz.writeSeedsIfAsked { TokenSeeds.all(world).map { ($0.name, Array($0.token.utf8)) } }
    _ = issued
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let token = String(decoding: Fuzz.bytes(start, count), as: UTF8.self)
    let jws = try? CompactJWS(parsing: token)
    if let jws { checkParse(jws, of: token) } else { checkRefusal(of: token) }

    check(world.handoffEdDSA.verdict(token), of: token, jws, pinned: "EdDSA", type: .handoff) { claims in
        Fuzz.require(issued.contains(token), "an EdDSA handoff token the harness never signed verified: \(token)")
        Fuzz.require(token != world.genuineHandoffEdDSA || claims == world.handoffClaims, "the genuine token verified to other claims")
    }
    check(world.handoffES256.verdict(token), of: token, jws, pinned: "ES256", type: .handoff) { claims in
        let genuine = world.genuineHandoffES256.split(separator: ".").prefix(2).joined(separator: ".")
        Fuzz.require(jws.map { $0.signingInput == Array(genuine.utf8) } == true, "an ES256 token over another input verified: \(token)")
        Fuzz.require(claims == world.handoffClaims, "the genuine ES256 input verified to other claims")
    }
    check(world.logoutEdDSA.verdict(token), of: token, jws, pinned: "EdDSA", type: .logout) { claims in
        Fuzz.require(issued.contains(token), "a logout token the harness never signed verified: \(token)")
        Fuzz.require(token != world.genuineLogoutEdDSA || claims == world.logoutClaims, "the genuine logout token verified to other claims")
    }
    return 0
}

