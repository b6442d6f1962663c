import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension LoginHost {
    /// `GET /.well-known/jwks.json`: every key still needed to verify a token, and the
    /// key about to sign, reread from the key file or the store when they change. Public and cacheable
    /// for `jwks_max_age_seconds`: relying parties refresh it after that, and a key is
    /// published for longer than that before it signs.
    func jwks() async -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/jwk-set+json", .cacheControl: "public, max-age=\(configuration.jwksMaxAge)"],
            body: .init(byteBuffer: ByteBuffer(bytes: await signingKeys.jwks().jsonBytes())))
    }
}
