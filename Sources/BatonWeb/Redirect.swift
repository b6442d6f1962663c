import Hummingbird

extension Response {
    /// A redirect with an empty body. `location` must come from configuration or be a
    /// checked local path, never from the request's `Host` or `X-Forwarded-*`.
    public static func redirect(_ location: String, status: HTTPResponse.Status = .seeOther) -> Response {
        Response(status: status, headers: [.location: location, .contentLength: "0"])
    }
}
