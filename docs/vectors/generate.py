#!/usr/bin/env python3
"""Writes handoff-vectors.json: Baton handoff-token test vectors with a fixed test key.

Deterministic: the key comes from a fixed seed, every time is fixed, Ed25519 signatures
are deterministic (RFC 8032), and every jti is derived from the vector's name. Running it
twice gives the same bytes, so `git diff` after a run shows exactly what changed.

    python3 docs/vectors/generate.py            # rewrite handoff-vectors.json
    python3 docs/vectors/generate.py --check    # fail if the file on disk is stale

Before writing, every vector is run through `reference_outcome`, a small verifier written
from docs/protocol.md in the contract's own order (typ before alg, signature before claims),
which differs from the order Baton's Swift verifier uses. Each vector's expected outcome
must hold for both orders, so a vector with one fault names one code and a vector with
several faults lists every code the contract allows.

Needs Python 3 and the `cryptography` package. The key below is public test material:
never use it for anything else.
"""

import base64
import hashlib
import hmac
import json
import re
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ISSUER = "http://login.localhost:8080"
AUDIENCE = "dashboard"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: the verifier's clock
LEEWAY = 2
MAX_LIFETIME = 60
MAX_TOKEN_LENGTH = 4096
STATE = "vector-state-0123456789abcdef"  # the relying party's state for every vector
TEST_SEED = bytes(range(32))  # the login host's key (in the JWKS)
ATTACKER_SEED = bytes(range(32, 64))  # a key nobody trusts
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
OUTPUT = Path(__file__).resolve().parent / "handoff-vectors.json"

BATON_ERRORS = {
    "token_malformed", "token_unsupported_alg", "token_wrong_type", "token_unknown_key",
    "token_invalid_signature", "token_wrong_issuer", "token_wrong_audience", "token_expired",
    "token_not_yet_valid", "token_lifetime_too_long", "state_mismatch",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def nonce_for(state: str) -> str:
    """nonce = base64url(SHA-256(state)), over the state's UTF-8 bytes."""
    return b64url(hashlib.sha256(state.encode("utf-8")).digest())


def q(text: str) -> str:
    """A JSON string literal."""
    return json.dumps(text)


class Key:
    def __init__(self, seed: bytes):
        self.seed = seed
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.x = b64url(self.public_raw)
        # RFC 7638: SHA-256 over the required members, lexicographic order, no whitespace.
        self.kid = b64url(hashlib.sha256(
            ('{"crv":"Ed25519","kty":"OKP","x":"%s"}' % self.x).encode("ascii")).digest())

    def public_jwk(self) -> dict:
        return {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": self.x}

    def sign(self, signing_input: str) -> bytes:
        return self.private.sign(signing_input.encode("ascii"))


TEST_KEY = Key(TEST_SEED)
ATTACKER_KEY = Key(ATTACKER_SEED)


def header(alg="EdDSA", kid=None, typ="handoff+jwt", extra="", before="") -> str:
    """Header JSON text; kid None means the test key's, "" inside extra is raw JSON."""
    members = []
    if before:
        members.append(before)
    if alg is not ...:
        members.append('"alg":' + q(alg))
    if kid is not ...:
        members.append('"kid":' + q(TEST_KEY.kid if kid is None else kid))
    if typ is not ...:
        members.append('"typ":' + q(typ))
    if extra:
        members.append(extra)
    return "{" + ",".join(members) + "}"


def claims(name: str, changes=None, extra=(), iat=None, lifetime=10) -> str:
    """Claims JSON text for a well-formed token; `changes` maps a claim to raw JSON (None
    removes it), `extra` appends raw members."""
    iat = NOW - 1 if iat is None else iat
    jti = b64url(hashlib.sha256(("jti:" + name).encode()).digest())[:24]
    defaults = [
        ("iss", q(ISSUER)), ("aud", q(AUDIENCE)), ("sid", q("sid-vector-7f3a")), ("jti", q(jti)),
        ("iat", str(iat)), ("exp", str(iat + lifetime)), ("nonce", q(nonce_for(STATE))),
    ]
    changes = changes or {}
    members = []
    for key, value in defaults:
        if key in changes:
            if changes[key] is not None:
                members.append(q(key) + ":" + changes[key])
        else:
            members.append(q(key) + ":" + value)
    members.extend(q(key) + ":" + value for key, value in extra)
    return "{" + ",".join(members) + "}"


def signing_input(header_text: str, claims_text: str) -> str:
    return b64url(header_text.encode()) + "." + b64url(claims_text.encode())


def token(header_text: str, claims_text: str, key: Key = TEST_KEY) -> str:
    si = signing_input(header_text, claims_text)
    return si + "." + b64url(key.sign(si))


def parts(tok: str):
    return tok.split(".")


# --------------------------------------------------------------------------------------
# A reference verifier, written from docs/protocol.md in the contract's order.


class Refused(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


B64URL = re.compile(r"[A-Za-z0-9_-]*")  # used with fullmatch: "$" would allow a final newline


def strict_b64url(text: str) -> bytes:
    if not B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise Refused("token_malformed")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise Refused("token_malformed")
    if b64url(data) != text:  # stray bits in the last character: a second spelling
        raise Refused("token_malformed")
    return data


class Float(float):
    """A JSON number with a fraction or an exponent: never an integer claim."""


def strict_json_object(data: bytes) -> dict:
    def pairs(items):
        result = {}
        for key, value in items:
            if key in result:
                raise Refused("token_malformed")
            result[key] = value
        return result

    def constant(_):
        raise Refused("token_malformed")

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_float=Float,
                           parse_constant=constant)
    except (ValueError, UnicodeDecodeError):
        raise Refused("token_malformed")
    if not isinstance(value, dict):
        raise Refused("token_malformed")
    return value


def strict_claims(payload: dict) -> dict:
    required = {"iss", "aud", "sid", "jti", "iat", "exp", "nonce"}
    if not required <= set(payload) or not set(payload) <= required | {"nbf"}:
        raise Refused("token_malformed")
    for name in ("iss", "aud", "sid", "jti", "nonce"):
        value = payload[name]
        if type(value) is not str or not value or len(value.encode()) > 512:
            raise Refused("token_malformed")
    for name in ("iat", "exp", "nbf"):
        if name in payload:
            value = payload[name]
            if type(value) is not int or not 0 <= value <= 2**53:
                raise Refused("token_malformed")
    if not 22 <= len(payload["jti"]) <= 128 or not B64URL.fullmatch(payload["jti"]):
        raise Refused("token_malformed")
    if len(payload["nonce"]) != 43 or not B64URL.fullmatch(payload["nonce"]):
        raise Refused("token_malformed")
    return payload


def reference_verify(tok: str, jwks: dict) -> dict:
    """Steps 1 and 2 of redemption: the claims, or Refused(code)."""
    if len(tok.encode()) > MAX_TOKEN_LENGTH:
        raise Refused("token_malformed")
    pieces = tok.split(".")
    if len(pieces) != 3 or not pieces[0] or not pieces[1]:
        raise Refused("token_malformed")
    head = strict_json_object(strict_b64url(pieces[0]))
    payload = strict_json_object(strict_b64url(pieces[1]))
    signature = strict_b64url(pieces[2])
    if set(head) - {"alg", "kid", "typ"} or "alg" not in head or any(type(v) is not str for v in head.values()):
        raise Refused("token_malformed")
    if head.get("typ") != "handoff+jwt":
        raise Refused("token_wrong_type")
    if head["alg"] != "EdDSA":
        raise Refused("token_unsupported_alg")
    key = next((k for k in jwks["keys"] if k["kid"] == head.get("kid") and k["alg"] == "EdDSA"), None)
    if key is None:
        raise Refused("token_unknown_key")
    if len(signature) != 64 or int.from_bytes(signature[32:], "little") >= ED25519_ORDER:
        raise Refused("token_invalid_signature")
    public = Ed25519PublicKey.from_public_bytes(strict_b64url(key["x"]))
    try:
        public.verify(signature, (pieces[0] + "." + pieces[1]).encode("ascii"))
    except InvalidSignature:
        raise Refused("token_invalid_signature")
    c = strict_claims(payload)
    if c["iss"] != ISSUER:
        raise Refused("token_wrong_issuer")
    if c["aud"] != AUDIENCE:
        raise Refused("token_wrong_audience")
    if NOW > c["exp"] + LEEWAY:
        raise Refused("token_expired")
    if c["iat"] > NOW + LEEWAY or c.get("nbf", 0) > NOW + LEEWAY:
        raise Refused("token_not_yet_valid")
    if c["exp"] <= c["iat"]:
        raise Refused("token_malformed")
    if c["exp"] - c["iat"] > MAX_LIFETIME:
        raise Refused("token_lifetime_too_long")
    return c


def reference_outcome(tok: str, state: str, jwks: dict) -> str:
    try:
        c = reference_verify(tok, jwks)
    except Refused as refused:
        return refused.code
    return "valid" if hmac.compare_digest(c["nonce"], nonce_for(state)) else "state_mismatch"


# --------------------------------------------------------------------------------------
# The vectors.


def build_vectors():
    vectors = []

    def add(name, description, tok, expected, state=STATE):
        codes = expected if isinstance(expected, list) else [expected]
        assert all(code == "valid" or code in BATON_ERRORS for code in codes), name
        vector = {"name": name, "description": description, "token": tok, "state": state, "expected": expected}
        if codes == ["valid"]:
            vector["verifier"], vector["state_check"] = "passes", "passes"
        elif codes == ["state_mismatch"]:
            vector["verifier"], vector["state_check"] = "passes", "fails"
        elif "state_mismatch" in codes:
            vector["verifier"], vector["state_check"] = "either", "fails"
        else:
            vector["verifier"] = "refuses"
        vectors.append(vector)

    def signed(name, head=None, changes=None, extra=(), iat=None, lifetime=10, key=TEST_KEY):
        return token(head or header(), claims(name, changes, extra, iat, lifetime), key)

    # Valid tokens, including every boundary that is still inside the rules.
    add("valid", "A well-formed 10-second token issued a second ago.", signed("valid"), "valid")
    add("valid_with_nbf", "Valid, with the optional nbf equal to iat.",
        signed("valid_with_nbf", extra=[("nbf", str(NOW - 1))]), "valid")
    add("valid_exp_within_leeway", "exp passed 2 s ago: inside the 2 s leeway.",
        signed("valid_exp_within_leeway", iat=NOW - 12), "valid")
    add("valid_iat_future_within_leeway", "iat 2 s in the future: inside the leeway.",
        signed("valid_iat_future_within_leeway", iat=NOW + 2), "valid")
    add("valid_nbf_future_within_leeway", "nbf 2 s in the future: inside the leeway.",
        signed("valid_nbf_future_within_leeway", extra=[("nbf", str(NOW + 2))]), "valid")
    add("valid_lifetime_at_max", "exp - iat is exactly 60, the most allowed.",
        signed("valid_lifetime_at_max", lifetime=60), "valid")
    add("valid_jti_minimum_length", "jti of 22 base64url characters (132 bits), the shortest allowed.",
        signed("valid_jti_minimum_length", changes={"jti": q("A" * 22)}), "valid")
    add("valid_claims_reordered", "Claims in another order, with JSON whitespace: meaning, not bytes, matters.",
        token(header(), '{ "nonce" : %s, "exp" : %d, "iat" : %d, "jti" : %s, "sid" : "sid-vector-7f3a", '
              '"aud" : %s, "iss" : %s }' % (q(nonce_for(STATE)), NOW + 9, NOW - 1, q("B" * 24), q(AUDIENCE), q(ISSUER))),
        "valid")

    # Time.
    add("expired", "exp passed 3 s ago: beyond the 2 s leeway.", signed("expired", iat=NOW - 13), "token_expired")
    add("iat_in_future", "iat 3 s in the future: beyond the leeway.", signed("iat_in_future", iat=NOW + 3),
        "token_not_yet_valid")
    add("nbf_in_future", "nbf 3 s in the future: beyond the leeway.",
        signed("nbf_in_future", extra=[("nbf", str(NOW + 3))]), "token_not_yet_valid")
    add("lifetime_over_max", "Validly signed, exp - iat = 61: over the 60 s cap.",
        signed("lifetime_over_max", lifetime=61), "token_lifetime_too_long")
    add("lifetime_one_year", "Validly signed, issued 30 s ago, living a year.",
        signed("lifetime_one_year", iat=NOW - 30, lifetime=365 * 86400), "token_lifetime_too_long")
    add("exp_equals_iat", "exp = iat: no lifetime at all, which Baton reads as malformed.",
        signed("exp_equals_iat", iat=NOW, lifetime=0), "token_malformed")
    add("exp_before_iat", "exp = iat - 1 (and not yet past exp + leeway): malformed.",
        signed("exp_before_iat", iat=NOW, lifetime=-1), "token_malformed")

    # Issuer and audience.
    add("wrong_issuer", "iss of another host.", signed("wrong_issuer", changes={"iss": q("http://evil.localhost:8080")}),
        "token_wrong_issuer")
    add("wrong_issuer_trailing_slash", "iss with a trailing slash: compared byte for byte.",
        signed("wrong_issuer_trailing_slash", changes={"iss": q(ISSUER + "/")}), "token_wrong_issuer")
    add("wrong_audience", "A token minted for the relying party `reports`.",
        signed("wrong_audience", changes={"aud": q("reports")}), "token_wrong_audience")
    add("aud_array", "aud as an array holding the right client id: a claim of the wrong type.",
        signed("aud_array", changes={"aud": '["dashboard"]'}), "token_malformed")

    # typ.
    add("wrong_typ", "typ JWT instead of handoff+jwt.", signed("wrong_typ", head=header(typ="JWT")), "token_wrong_type")
    add("typ_logout", "typ logout+jwt on handoff claims: a token for another purpose.",
        signed("typ_logout", head=header(typ="logout+jwt")), "token_wrong_type")
    add("missing_typ", "No typ header at all: Baton reads it as the wrong type.",
        signed("missing_typ", head=header(typ=...)), "token_wrong_type")

    # alg.
    none_input = signing_input(header(alg="none"), claims("alg_none"))
    add("alg_none", "alg none with an empty signature.", none_input + ".",
        ["token_unsupported_alg", "token_invalid_signature"])
    add("alg_none_signed", "alg none, yet carrying a real Ed25519 signature over its own input.",
        signed("alg_none_signed", head=header(alg="none")), "token_unsupported_alg")
    hs_input = signing_input(header(alg="HS256"), claims("alg_hs256_public_key"))
    hs_mac = hmac.new(TEST_KEY.public_raw, hs_input.encode(), hashlib.sha256).digest()
    add("alg_hs256_public_key", "HS256 keyed with the trusted public key's 32 raw bytes (key confusion).",
        hs_input + "." + b64url(hs_mac), ["token_unsupported_alg", "token_invalid_signature"])
    add("alg_es256_ed25519_key", "alg ES256 naming the Ed25519 test key, signed with it.",
        signed("alg_es256_ed25519_key", head=header(alg="ES256")), "token_unsupported_alg")
    add("alg_lowercase", "alg eddsa: names are case-sensitive.",
        signed("alg_lowercase", head=header(alg="eddsa")), "token_unsupported_alg")
    add("alg_ed25519_name", "alg Ed25519 (the fully-specified name of RFC 9864): not the pinned EdDSA.",
        signed("alg_ed25519_name", head=header(alg="Ed25519")), "token_unsupported_alg")

    # kid.
    add("unknown_kid_attacker_key", "Signed by a key not in the JWKS, under that key's own thumbprint.",
        signed("unknown_kid_attacker_key", head=header(kid=ATTACKER_KEY.kid), key=ATTACKER_KEY), "token_unknown_key")
    add("unknown_kid_real_key", "Signed by the test key, under a kid nobody published.",
        signed("unknown_kid_real_key", head=header(kid="k-not-published")), "token_unknown_key")
    add("missing_kid", "No kid: the key is never guessed.", signed("missing_kid", head=header(kid=...)),
        "token_unknown_key")
    add("empty_kid", "kid is the empty string.", signed("empty_kid", head=header(kid="")), "token_unknown_key")
    add("attacker_key_real_kid", "Signed by the attacker's key under the test key's kid.",
        signed("attacker_key_real_kid", key=ATTACKER_KEY), "token_invalid_signature")

    # Signature.
    good = parts(signed("bad_signature"))
    sig = bytearray(base64.urlsafe_b64decode(good[2] + "=="))
    sig[0] ^= 0x01
    add("bad_signature", "One bit of R flipped.", good[0] + "." + good[1] + "." + b64url(bytes(sig)),
        "token_invalid_signature")
    good = parts(signed("signature_s_plus_l"))
    sig = base64.urlsafe_b64decode(good[2] + "==")
    s = int.from_bytes(sig[32:], "little") + ED25519_ORDER
    add("signature_s_plus_l", "S replaced by S + L: the malleable second spelling (RFC 8032 requires S < L).",
        good[0] + "." + good[1] + "." + b64url(sig[:32] + s.to_bytes(32, "little")), "token_invalid_signature")
    good = parts(signed("tampered_payload"))
    other = b64url(claims("tampered_payload", changes={"sid": q("sid-of-someone-else")}).encode())
    add("tampered_payload", "Another sid in the payload, the original signature kept.",
        good[0] + "." + other + "." + good[2], "token_invalid_signature")
    good = parts(signed("signature_truncated"))
    sig = base64.urlsafe_b64decode(good[2] + "==")
    add("signature_truncated", "A 63-byte signature.", good[0] + "." + good[1] + "." + b64url(sig[:63]),
        "token_invalid_signature")
    good = parts(signed("empty_signature"))
    add("empty_signature", "alg EdDSA with an empty third part.", good[0] + "." + good[1] + ".",
        ["token_invalid_signature", "token_malformed"])

    # Header parameters: each token is validly signed, so only the parameter is at fault.
    for name, member in [
        ("header_jku", '"jku":"https://evil.example/jwks.json"'),
        ("header_x5u", '"x5u":"https://evil.example/cert.pem"'),
        ("header_x5c", '"x5c":["MIIBszCCAVmgAwIBAgIUX"]'),
        ("header_jwk", '"jwk":{"kty":"OKP","crv":"Ed25519","x":"%s"}' % ATTACKER_KEY.x),
        ("header_crit", '"crit":["exp"]'),
        ("header_cty", '"cty":"JWT"'),
        ("header_b64", '"b64":false'),
        ("header_unknown", '"foo":"bar"'),
    ]:
        add(name, "A header parameter other than alg, kid and typ: %s." % member.split(":")[0],
            signed(name, head=header(extra=member)), "token_malformed")
    add("header_duplicate_alg", "alg twice, none then EdDSA: a last-wins parser would accept it.",
        signed("header_duplicate_alg", head=header(before='"alg":"none"')), "token_malformed")
    add("header_kid_not_string", "kid as a number.",
        signed("header_kid_not_string", head='{"alg":"EdDSA","kid":7,"typ":"handoff+jwt"}'), "token_malformed")
    add("header_missing_alg", "No alg.", signed("header_missing_alg", head=header(alg=...)), "token_malformed")
    add("header_not_object", "The header is a JSON array.", signed("header_not_object", head='["EdDSA"]'),
        "token_malformed")

    # Claims: validly signed, so only the claim is at fault.
    add("claims_duplicate_aud", "aud twice, reports then dashboard: a last-wins parser would accept it.",
        token(header(), '{"aud":"reports",' + claims("claims_duplicate_aud")[1:]), "token_malformed")
    add("missing_sid", "No sid.", signed("missing_sid", changes={"sid": None}), "token_malformed")
    add("missing_exp", "No exp.", signed("missing_exp", changes={"exp": None}), "token_malformed")
    add("missing_nonce", "No nonce.", signed("missing_nonce", changes={"nonce": None}), "token_malformed")
    add("extra_claim_sub", "An extra claim, sub: nothing about the person travels in a handoff token.",
        signed("extra_claim_sub", extra=[("sub", q("alice"))]), "token_malformed")
    add("extra_claim_email", "An extra claim, email.", signed("extra_claim_email", extra=[("email", q("a@example.com"))]),
        "token_malformed")
    add("iat_string", "iat as a string of digits.", signed("iat_string", changes={"iat": q(str(NOW - 1))}),
        "token_malformed")
    add("exp_float", "exp with a fraction, .0.", signed("exp_float", changes={"exp": "%d.0" % (NOW + 9)}),
        "token_malformed")
    add("exp_1e308", "exp as 1e308.", signed("exp_1e308", changes={"exp": "1e308"}), "token_malformed")
    add("exp_exponent_integer", "exp written with an exponent, though its value is whole.",
        signed("exp_exponent_integer", changes={"exp": "1.767225609e9"}), "token_malformed")
    add("nbf_string", "nbf as a string.", signed("nbf_string", extra=[("nbf", q(str(NOW - 1)))]), "token_malformed")
    add("sid_number", "sid as a number.", signed("sid_number", changes={"sid": "42"}), "token_malformed")
    add("jti_too_short", "jti of 21 characters: under 128 bits.",
        signed("jti_too_short", changes={"jti": q("A" * 21)}), "token_malformed")
    add("jti_not_base64url", "jti with characters outside base64url.",
        signed("jti_not_base64url", changes={"jti": q("not+base64url/jti=====")}), "token_malformed")
    add("nonce_wrong_length", "nonce of 42 characters: never base64url(SHA-256(state)).",
        signed("nonce_wrong_length", changes={"nonce": q(nonce_for(STATE)[:42])}),
        ["token_malformed", "state_mismatch"])

    # Encoding and structure. The base token is valid; only its spelling changes.
    # The first base token whose signature holds a - or _, so that re-spelling it in the
    # standard alphabet changes its text but not its bytes.
    base = next(t for t in (signed("encoding_base_%d" % i) for i in range(100)) if re.search("[-_]", parts(t)[2]))
    h, p, sg = parts(base)
    add("padding_signature", "The signature with its base64 padding, ==.", base + "==", "token_malformed")
    add("padding_payload", "The payload with base64 padding.", h + "." + p + "=" * max(1, -len(p) % 4) + "." + sg,
        "token_malformed")
    std = lambda text: base64.b64encode(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))).decode().rstrip("=")
    add("standard_alphabet_signature", "The signature re-encoded with + and / (standard base64), same bytes.",
        h + "." + p + "." + std(sg), "token_malformed")
    last = sg[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    stray = alphabet[alphabet.index(last) | 1]
    assert stray != last
    add("stray_bits_signature", "The signature's last character with non-zero unused bits: a second spelling.",
        h + "." + p + "." + sg[:-1] + stray, "token_malformed")
    add("whitespace_inside_part", "A space in the middle of the payload part.",
        h + "." + p[:20] + " " + p[20:] + "." + sg, "token_malformed")
    add("whitespace_around_token", "A trailing newline.", base + "\n", "token_malformed")
    add("two_parts", "header.payload, no signature part.", h + "." + p, "token_malformed")
    add("four_parts", "A fourth part appended.", base + "." + sg, "token_malformed")
    add("five_part_jwe", "A JWE in compact form.",
        b64url(b'{"alg":"RSA-OAEP","enc":"A256GCM"}') + ".AAAA.AAAA.AAAA.AAAA", "token_malformed")
    add("json_serialization", "The JWS JSON serialization (flattened) of the valid token.",
        '{"payload":"%s","protected":"%s","signature":"%s"}' % (p, h, sg), "token_malformed")

    # Length: JSON whitespace pads the payload without changing its meaning.
    def padded(name, padding):
        text = claims(name)
        return token(header(), text[:-1] + " " * padding + "}")

    padding = 0
    while len(padded("length", padding + 1)) <= MAX_TOKEN_LENGTH:
        padding += 1
    at_limit, over_limit = padded("length", padding), padded("length", padding + 1)
    assert MAX_TOKEN_LENGTH - 3 <= len(at_limit) <= MAX_TOKEN_LENGTH < len(over_limit)
    add("valid_at_length_limit", "Valid, %d bytes long (the limit is 4096)." % len(at_limit), at_limit, "valid")
    add("over_length_limit", "Validly signed, %d bytes long: over 4096." % len(over_limit), over_limit,
        "token_malformed")

    # The state binding: the verifier accepts, the relying party's state check refuses.
    add("state_mismatch", "A valid token whose nonce is for another sign-in's state.",
        signed("state_mismatch", changes={"nonce": q(nonce_for("another-sign-ins-state-4242"))}), "state_mismatch")

    # Several faults: any one of their codes is a correct refusal.
    good = parts(signed("bad_signature_and_extra_claim", extra=[("sub", q("alice"))]))
    sig = bytearray(base64.urlsafe_b64decode(good[2] + "=="))
    sig[0] ^= 0x01
    add("bad_signature_and_extra_claim", "An extra claim and a flipped signature bit.",
        good[0] + "." + good[1] + "." + b64url(bytes(sig)), ["token_malformed", "token_invalid_signature"])
    add("wrong_audience_and_expired", "For reports, and expired.",
        signed("wrong_audience_and_expired", changes={"aud": q("reports")}, iat=NOW - 20),
        ["token_wrong_audience", "token_expired"])
    add("lifetime_over_max_and_iat_in_future", "exp - iat = 120 and iat 10 s in the future.",
        signed("lifetime_over_max_and_iat_in_future", iat=NOW + 10, lifetime=120),
        ["token_lifetime_too_long", "token_not_yet_valid"])
    logout_claims = ('{"iss":%s,"aud":%s,"iat":%d,"exp":%d,"jti":%s,"sid":"sid-vector-7f3a",'
                     '"events":{"http://schemas.openid.net/event/backchannel-logout":{}}}'
                     % (q(ISSUER), q(AUDIENCE), NOW - 1, NOW + 59, q("L" * 24)))
    add("logout_token_as_handoff", "A genuine back-channel logout token presented at the callback.",
        token(header(typ="logout+jwt"), logout_claims), ["token_wrong_type", "token_malformed"])
    add("typ_wrong_and_unknown_kid", "typ JWT and a kid nobody published.",
        signed("typ_wrong_and_unknown_kid", head=header(typ="JWT", kid="k-not-published")),
        ["token_wrong_type", "token_unknown_key"])
    add("alg_none_and_wrong_issuer", "alg none, no signature, from another issuer.",
        signing_input(header(alg="none"), claims("alg_none_and_wrong_issuer", changes={"iss": q("http://evil.example")}))
        + ".", ["token_unsupported_alg", "token_invalid_signature", "token_wrong_issuer"])
    return vectors


def document():
    jwks = {"keys": [TEST_KEY.public_jwk()]}
    vectors = build_vectors()
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    for vector in vectors:
        expected = vector["expected"] if isinstance(vector["expected"], list) else [vector["expected"]]
        try:
            got = reference_outcome(vector["token"], vector["state"], jwks)
        except Exception:
            print("reference verifier failed on", vector["name"], file=sys.stderr)
            raise
        assert got in expected, "%s: the reference verifier says %s, expected %s" % (vector["name"], got, expected)
    return {
        "about": "Baton handoff-token test vectors (docs/protocol.md). Regenerate with docs/vectors/generate.py; "
                 "the key is public test material.",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "algorithm": "EdDSA",
        "now": NOW,
        "leeway_seconds": LEEWAY,
        "max_lifetime_seconds": MAX_LIFETIME,
        "max_token_length": MAX_TOKEN_LENGTH,
        "test_key": {
            "seed_hex": TEST_SEED.hex(),
            "private_jwk": dict(TEST_KEY.public_jwk(), d=b64url(TEST_SEED)),
        },
        "jwks": jwks,
        "attacker_key": {"seed_hex": ATTACKER_SEED.hex(), "public_jwk": ATTACKER_KEY.public_jwk()},
        "vector_count": len(vectors),
        "vectors": vectors,
    }


def main():
    text = json.dumps(document(), indent=2, ensure_ascii=True) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            sys.exit("%s is stale: run docs/vectors/generate.py" % OUTPUT)
        print("%s is up to date" % OUTPUT)
        return
    OUTPUT.write_text(text)
    print("wrote %d vectors to %s" % (json.loads(text)["vector_count"], OUTPUT))


if __name__ == "__main__":
    main()
