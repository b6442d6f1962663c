import BatonCore
import FuzzSupport

/// Built on first use, from LLVMFuzzerInitialize: top-level code in main.swift never
/// runs, since libFuzzer's `main` is the program's.
let world = TokenWorld.make()

/// Every token signed with the trusted Ed25519 key that the fuzzer can know of: the
/// genuine ones and the signed seeds. No other may ever verify.
let issued: Set<String> = Set(
    [world.genuineHandoffEdDSA, world.genuineLogoutEdDSA]
        + TokenSeeds.claimSeeds(world).map { world.signEdDSA(header: Array($0.header.utf8), payload: Array($0.payload.utf8)) })

/// What an accepted pre-parse must be.
func checkParse(_ jws: CompactJWS, of token: String) {
    let bytes = Array(token.utf8)
    Fuzz.require(bytes.count <= CompactJWS.maximumLength, "a token of \(bytes.count) bytes was parsed")
    Fuzz.require(bytes.allSatisfy { isBase64URL($0) || $0 == UInt8(ascii: ".") }, "a character outside base64url was accepted")
    let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    Fuzz.require(parts.count == 3 && !parts[0].isEmpty && !parts[1].isEmpty, "not three parts: \(Fuzz.show(bytes))")
    for part in parts {
        let text = String(decoding: part, as: UTF8.self)
        let decoded = Base64URL.decode(text)
        Fuzz.require(decoded.map(Base64URL.encode) == text, "a part with a second spelling was accepted: \(text)")
    }
    Fuzz.require(jws.signingInput == Array(parts[0]) + [UInt8(ascii: ".")] + Array(parts[1]), "the signing input is not what was sent")
    Fuzz.require(Base64URL.decode(String(decoding: parts[2], as: UTF8.self)) == jws.signature, "the signature is not the third part")

    // Re-encoded canonically, the token reads back the same.
    var header: [(String, JSONValue)] = [("alg", .string(jws.alg))]
    if let kid = jws.kid { header.append(("kid", .string(kid))) }
    if let typ = jws.typ { header.append(("typ", .string(typ))) }
    let again = Base64URL.encode(CanonicalJSON.encode(header)) + "." + Base64URL.encode(CanonicalJSON.encode(jws.claims)) + "."
        + Base64URL.encode(jws.signature)
    guard again.utf8.count <= CompactJWS.maximumLength else { return }
    guard let reparsed = try? CompactJWS(parsing: again) else { Fuzz.fail("the canonical re-encoding is refused: \(again)") }
    Fuzz.require(
        same(reparsed.alg, jws.alg) && same(reparsed.kid, jws.kid) && same(reparsed.typ, jws.typ)
            && CanonicalJSON.identical(.object(reparsed.claims), .object(jws.claims)) && reparsed.signature == jws.signature,
        "the canonical re-encoding reads back differently: \(again)")
}

/// Inputs the pre-parse must refuse, whatever else they hold.
func checkRefusal(of token: String) {
    let bytes = Array(token.utf8)
    let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    // Three strict parts whose JSON is the genuine header and claims cannot be refused.
    if parts.count == 3, bytes.count <= CompactJWS.maximumLength,
        let header = Base64URL.decode(String(decoding: parts[0], as: UTF8.self)),
        let payload = Base64URL.decode(String(decoding: parts[1], as: UTF8.self)),
        Base64URL.decode(String(decoding: parts[2], as: UTF8.self)) != nil,
        header == TokenWorld.header(alg: "EdDSA", kid: world.edKey.kid, typ: TokenType.handoff.rawValue),
        payload == world.handoffClaims.jsonBytes()
    {
        Fuzz.fail("a well-formed token was refused by the pre-parse: \(token)")
    }
}

/// The verdict of one verifier, against the pre-parse and the order of the checks.
func check<Claims>(
    _ verdict: Verdict<Claims>, of token: String, _ jws: CompactJWS?, pinned alg: String, type: TokenType, accepted: (Claims) -> Void
) {
    switch verdict {
    case .accepted(let claims):
        accepted(claims)
    case .refused(let error):
        guard let jws else {
            Fuzz.require(error == .tokenMalformed, "a token the pre-parse refuses got \(error.rawValue)")
            return
        }
        if jws.alg != alg {
            Fuzz.require(error == .tokenUnsupportedAlg, "alg \(jws.alg) against \(alg) got \(error.rawValue)")
        } else if jws.typ != type.rawValue {
            Fuzz.require(error == .tokenWrongType, "typ \(jws.typ ?? "nil") got \(error.rawValue)")
        }
    }
}

func isBase64URL(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"):
        true
    default: false
    }
}

func same(_ a: String?, _ b: String?) -> Bool {
    a.map { Array($0.unicodeScalars) } == b.map { Array($0.unicodeScalars) }
}
