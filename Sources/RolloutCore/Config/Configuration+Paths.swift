extension Configuration {
    /// A copy whose relative paths (`server.socket`, `server.state_dir`, `server.file_roots`,
    /// `cloud.local.root`) are joined onto `directory`; absolute paths are left alone.
    ///
    /// Pure string work: nothing is looked up on disk, `..` is kept, and a leading `./` is
    /// dropped so that `./x` and `x` resolve alike. Resolving can make `server.socket` longer
    /// than the 108-byte limit, so validate the result again before binding.
    public func resolvingPaths(relativeTo directory: String) -> Configuration {
        var resolved = self
        resolved.server.socket = Self.join(directory, server.socket)
        resolved.server.stateDir = Self.join(directory, server.stateDir)
        resolved.server.fileRoots = server.fileRoots.map { Self.join(directory, $0) }
        resolved.cloud.local.root = Self.join(directory, cloud.local.root)
        return resolved
    }

    private static func join(_ directory: String, _ path: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") {
            relative = relative.dropFirst(2).drop { $0 == "/" }
        }
        if relative == "." { relative = "" }
        var base = Substring(directory)
        while base.count > 1, base.hasSuffix("/") { base = base.dropLast() }
        if relative.isEmpty { return String(base) }
        return base == "/" ? "/" + relative : base + "/" + relative
    }
}
