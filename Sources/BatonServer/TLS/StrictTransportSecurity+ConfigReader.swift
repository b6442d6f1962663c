import BatonWeb

extension StrictTransportSecurity {
    /// The optional `hsts` object: `max_age_seconds` (a year to two years; a year by
    /// default) and `include_subdomains` (false by default). Sent only by a host whose
    /// `public_origin` is https.
    static func read(_ reader: inout ConfigReader) throws -> StrictTransportSecurity {
        guard var hsts = try reader.object("hsts") else { return StrictTransportSecurity() }
        let policy = StrictTransportSecurity(
            maxAge: try hsts.int("max_age_seconds", default: minimumMaxAge, range: minimumMaxAge...maximumMaxAge),
            includeSubdomains: try hsts.bool("include_subdomains", default: false))
        try hsts.finish()
        return policy
    }
}
