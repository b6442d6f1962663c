import Foundation

/// Bounds on what the stores keep per person, so that nobody — a script signing in in
/// a loop, a stolen password, a client that never keeps its cookie — can grow them
/// without end.
public enum SessionLimits {
    /// Login sessions one user may hold at once. Twenty is more devices and browsers
    /// than anyone signs in from; a sign-in beyond it ends the user's oldest session
    /// first, and that session's back-channel logouts are queued as any ended
    /// session's are.
    public static let loginSessionsPerUser = 20

    /// Sessions one relying party keeps for one person (client and `sub`). Each
    /// sign-in makes a new one and a browser that lost its cookie leaves the old one
    /// behind until it expires; beyond twenty the oldest is deleted as a new one is
    /// stored (that browser is signed out of this relying party only).
    public static let rpSessionsPerSubject = 20

    /// How much longer than its idle timeout a relying-party session's stored
    /// `last_seen` must be before the pruner deletes it. The stored value lags real use:
    /// a use is recorded only once it is a minute newer (``SessionGate/Policy/touchGranularity``)
    /// and written every 10 s (the gate's flush), so 120 s covers both with room for a
    /// slow flush; a session pruned this late has been idle beyond its timeout anyway.
    public static let idlePruneMargin: TimeInterval = 120
}
