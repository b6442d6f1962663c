import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the process itself uses, read from `/proc/self` at each scrape: resident
/// memory, and open file descriptors (a host that runs out of them is down for
/// everyone, see `max_connections`). Nil where `/proc` does not exist.
enum ProcessStatistics {
    static let residentMemory = MetricName(
        "process_resident_memory", unit: "bytes", help: "Resident memory of this process (VmRSS), read at each scrape")
    static let openFileDescriptors = MetricName(
        "process_open_fds", unit: "", help: "File descriptors this process holds open, counted at each scrape")

    /// Resident pages × page size, from the second field of `/proc/self/statm`.
    static func residentBytes() -> Int? {
        #if os(Linux)
            guard let text = contents(of: "/proc/self/statm") else { return nil }
            let fields = text.split(separator: " ")
            guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
            return pages * sysconf(Int32(_SC_PAGESIZE))
        #else
            return nil
        #endif
    }

    /// The entries of `/proc/self/fd`, less the one this count itself opens.
    static func openFileDescriptorCount() -> Int? {
        #if os(Linux)
            guard let directory = opendir("/proc/self/fd") else { return nil }
            defer { closedir(directory) }
            var count = 0
            while let entry = readdir(directory) {
                let isDot = withUnsafeBytes(of: entry.pointee.d_name) { $0.first == UInt8(ascii: ".") }
                if !isDot { count += 1 }
            }
            return max(0, count - 1)
        #else
            return nil
        #endif
    }

    /// A small `/proc` file whole (its size reads as 0, so it is read until the end).
    private static func contents(of path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 256)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}
