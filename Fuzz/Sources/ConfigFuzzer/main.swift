// The configuration harness: any bytes as a configuration file, written to a
// temporary folder and read as a login host's (`LoginHostFile`) and as a relying
// party's (`RelyingPartyFile`), as `baton serve` reads them.
//
// Invariants:
// - Every refusal is a ConfigurationError naming a field, with a message; nothing traps
//   (the reader builds dictionaries with `uniqueKeysWithValues`).
// - A file StrictJSON refuses, or whose top level holds a key neither reader knows (and
//   not `_`-prefixed), is refused; reading the same file twice gives the same answer.
// - What is accepted keeps every documented bound: ports, origins (`http(s)://host`
//   and nothing after), absolute http(s) URLs, absolute paths (relative ones resolved
//   against the file's folder), every number within its range, client ids unique, a
//   secret hash of 32 bytes, the key-activation delay at least the JWKS max-age + 30 s,
//   group names of the allowed alphabet.
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    checkConfiguration(Fuzz.bytes(start, count))
    return 0
}
