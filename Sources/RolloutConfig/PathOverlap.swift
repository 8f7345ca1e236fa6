import RolloutSystem

/// Decides whether two directories overlap (one is, contains or lies inside the other), on
/// absolute paths: lexically (`.`, `..` and repeated slashes removed) and, where the paths exist,
/// on their real paths, so that a symlink cannot hide an overlap.
struct PathOverlap {
    /// The directory relative paths are resolved against (the daemon's working directory).
    let currentDirectory: String

    /// The directories `path` may stand for: its lexical absolute form and its real path.
    func forms(of path: String) -> [[Substring]] {
        let absolute = path.hasPrefix("/") ? path : currentDirectory + "/" + path
        let lexical = Self.normalised(absolute.split(separator: "/"))
        let real = Self.realComponents(absolute)
        return real == lexical ? [lexical] : [lexical, real]
    }

    /// Whether any form of `a` is, contains or lies inside any form of `b`; the overlapping
    /// pair (as paths) when so.
    func overlap(_ a: String, _ b: String) -> (String, String)? {
        for formA in forms(of: a) {
            for formB in forms(of: b) where formA.starts(with: formB) || formB.starts(with: formA) {
                return (Self.path(formA), Self.path(formB))
            }
        }
        return nil
    }

    /// `.` and `..` removed lexically (`..` at the root stays at the root).
    static func normalised(_ components: some Sequence<Substring>) -> [Substring] {
        var result: [Substring] = []
        for component in components where component != "." && !component.isEmpty {
            if component == ".." {
                _ = result.popLast()
            } else {
                result.append(component)
            }
        }
        return result
    }

    /// The real path of `absolute`: its longest existing leading part resolved with
    /// `realpath(3)` (symlinks and `..` as the kernel follows them), the rest appended.
    static func realComponents(_ absolute: String) -> [Substring] {
        let components = absolute.split(separator: "/")
        for existing in stride(from: components.count, through: 0, by: -1) {
            let prefix = "/" + components[..<existing].joined(separator: "/")
            guard let resolved = Directories.realPath(prefix) else { continue }
            let real = resolved.split(separator: "/").map { Substring($0) }
            return normalised(real + components[existing...])
        }
        return normalised(components)
    }

    static func path(_ components: [Substring]) -> String {
        "/" + components.joined(separator: "/")
    }
}
