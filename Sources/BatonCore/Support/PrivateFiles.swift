import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files and folders only their owner can read, made so from the first byte: keys,
/// client secrets and databases of session and password hashes. Nothing here writes a
/// file and changes its mode afterwards (a window in which another user can open it).
public enum PrivateFiles {
    /// Creates `path` and every missing folder above it, each 0700; folders that exist
    /// are left as they are.
    public static func makeDirectory(_ path: String) throws {
        guard !path.isEmpty, !FileManager.default.fileExists(atPath: path) else { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent) }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw ConfigurationError(field: "file system", message: "cannot create the folder \(path) (errno \(errno))")
        }
    }

    /// Creates `path` empty, 0600, unless it exists; its folders 0700.
    public static func ensureFile(_ path: String) throws {
        try makeDirectory((path as NSString).deletingLastPathComponent)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            close(descriptor)
        } else if errno != EEXIST {
            throw ConfigurationError(field: "file system", message: "cannot create \(path) (errno \(errno))")
        }
    }

    /// Writes `data` to `path` atomically: into a new 0600 file beside it (`O_EXCL`, so it
    /// is never someone else's), flushed to disk, then renamed over `path`. Readers see
    /// the old file or the new one, never half of one.
    public static func replace(_ path: String, with data: Data) throws {
        try makeDirectory((path as NSString).deletingLastPathComponent)
        let temporary = path + ".tmp-\(getpid())-\(Secrets.random(bytes: 6))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConfigurationError(field: "file system", message: "cannot create \(temporary) (errno \(errno))")
        }
        var written = 0
        let ok = data.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let result = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += result
            }
            return fsync(descriptor) == 0
        }
        close(descriptor)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ConfigurationError(field: "file system", message: "cannot write \(path)")
        }
    }
}
