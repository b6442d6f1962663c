import Foundation

/// The process's `RLIMIT_NOFILE`. Every connection is a file descriptor, and the soft
/// limit is often 1,024: a host at it stops accepting anyone (a host held 1,500 idle
/// connections under 20,000 and stopped answering at 1,024 under the default).
public enum OpenFileLimit {
    /// The soft limit now in force, or nil if it cannot be read.
    public static func current() -> Int? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        return clamp(limit.rlim_cur)
    }

    /// Raises the soft limit to the hard one (any process may); returns both as they
    /// are afterwards. A refusal leaves the soft limit where it was.
    @discardableResult
    public static func raiseToHard() -> (soft: Int, hard: Int)? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// `RLIM_INFINITY` (all ones on Linux) reads as `Int.max`.
    private static func clamp(_ value: rlim_t) -> Int {
        value > rlim_t(Int.max) ? Int.max : Int(value)
    }

    #if os(Linux)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif
}
