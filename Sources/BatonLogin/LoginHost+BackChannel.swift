import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension LoginHost {
    /// `GET /api/sessions/{sid}`: HTTP Basic with a client's id and secret; 200 with
    /// the session while it lives, 404 once it has ended or when it was never handed to
    /// this client, 401 for anything but a registered client's credentials.
    func sessionInfo(_ request: Request, sid: String) async throws -> Response {
        guard let client = authenticatedClient(request) else {
            metrics.lookups.refused.increment()
            logger.event(.backChannelUnauthorized, "back-channel lookup refused: not a registered client's credentials")
            return Response(
                status: .unauthorized,
                headers: [.wwwAuthenticate: #"Basic realm="baton", charset="UTF-8""#, .contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":"unauthorized"}"#)))
        }
        do {
            guard let info = try await service.sessionInfo(sid: sid, for: client.clientID) else {
                metrics.lookups.notFound.increment()
                return json(#"{"error":"session_ended"}"#, status: .notFound)
            }
            metrics.lookups.answered.increment()
            return json(ByteBuffer(bytes: info.json()), status: .ok)
        } catch {
            metrics.lookups.unavailable.increment()
            logger.event(.storeUnavailable, "store failure", metadata: ["error": .string(String(describing: error))])
            return json(#"{"error":"store_unavailable"}"#, status: .serviceUnavailable)
        }
    }

    private func authenticatedClient(_ request: Request) -> ClientRegistry.Client? {
        guard let header = request.headers[.authorization], header.utf8.count <= 1024,
            header.prefix(6).lowercased() == "basic "
        else { return nil }
        // The credentials, without the optional whitespace HTTP allows around them.
        var encoded = header.utf8.dropFirst(6)
        while let first = encoded.first, first == 0x20 || first == 0x09 { encoded.removeFirst() }
        while let last = encoded.last, last == 0x20 || last == 0x09 { encoded.removeLast() }
        guard let decoded = Data(base64Encoded: Data(encoded)),
            let credentials = String(validating: decoded, as: UTF8.self),
            let colon = credentials.firstIndex(of: ":")
        else { return nil }
        let clientID = String(credentials[..<colon])
        let secret = String(credentials[credentials.index(after: colon)...])
        return configuration.clients.authenticate(clientID: clientID, secret: secret)
    }

    private func json(_ body: String, status: HTTPResponse.Status) -> Response {
        json(ByteBuffer(string: body), status: status)
    }

    private func json(_ body: ByteBuffer, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}
