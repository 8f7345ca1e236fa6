/// A parsed AWS shared config file (`~/.aws/config`) or credentials file
/// (`~/.aws/credentials`), or the two merged, exactly as botocore reads them.
///
/// In a config file `[default]` and `[profile NAME]` are profiles, `[services NAME]` and
/// `[sso-session NAME]` are named sections, and anything else is kept in `otherSections`.
/// Header names after the prefix are split like a shell would (`[profile "my dev"]` is the
/// profile `my dev`; a header that does not split into exactly two words is ignored), and a
/// later section with the same resulting name replaces an earlier one — so of `[default]` and
/// `[profile default]`, whichever comes last wins. In a credentials file every section is a
/// profile named exactly as written.
///
/// Lines follow Python's `RawConfigParser`, which botocore uses: `key = value` or `key: value`
/// (keys lower-cased), `#` and `;` comment whole lines only (an inline `# x` stays in the
/// value), indented lines continue a value, `key =` followed by indented `k = v` lines is a
/// sub-section, and a `[DEFAULT]` section's keys fill in every other section.
public struct SharedConfigFile: Sendable, Hashable {
    /// Which of the two files a text is.
    public enum Kind: Sendable, Hashable {
        /// The shared config file: `[default]`, `[profile NAME]`, `[services NAME]`, ...
        case config
        /// The shared credentials file: `[NAME]` sections, each a profile.
        case credentials
    }

    /// Profiles by name.
    public var profiles: [String: SharedConfigSection]
    /// `[services NAME]` sections by name: each maps a service key (`s3`, `secrets_manager`)
    /// to a sub-section.
    public var services: [String: SharedConfigSection]
    /// `[sso-session NAME]` sections by name.
    public var ssoSessions: [String: SharedConfigSection]
    /// Sections that are none of the above, by their header name.
    public var otherSections: [String: SharedConfigSection]

    /// A file with the given sections; by default an empty one (what a missing file reads as).
    public init(
        profiles: [String: SharedConfigSection] = [:],
        services: [String: SharedConfigSection] = [:],
        ssoSessions: [String: SharedConfigSection] = [:],
        otherSections: [String: SharedConfigSection] = [:]
    ) {
        self.profiles = profiles
        self.services = services
        self.ssoSessions = ssoSessions
        self.otherSections = otherSections
    }

    /// Parses the text of a config or credentials file; `path` only names the file in errors.
    public init(parsing text: String, kind: Kind = .config, path: String? = nil) throws(SharedConfigParseError) {
        self.init()
        let sections: [RawConfigParser.Section]
        do {
            sections = try RawConfigParser.parse(text)
        } catch {
            var located = error
            located.path = path
            throw located
        }
        for (name, values) in sections {
            let section = SharedConfigSection(values)
            switch kind {
            case .credentials:
                profiles[name] = section
            case .config:
                Self.classify(name, section, into: &self)
            }
        }
    }

    /// botocore's `build_profile_map`.
    private static func classify(_ header: String, _ section: SharedConfigSection, into file: inout SharedConfigFile) {
        func secondWord() -> String? {
            guard let words = PythonText.shellWords(header), words.count == 2 else { return nil }
            return words[1]
        }
        let scalars = header.unicodeScalars
        if scalars.starts(with: "profile".unicodeScalars) {
            if let name = secondWord() { file.profiles[name] = section }
        } else if scalars.starts(with: "sso-session".unicodeScalars) {
            if let name = secondWord() { file.ssoSessions[name] = section }
        } else if scalars.starts(with: "services".unicodeScalars) {
            if let name = secondWord() { file.services[name] = section }
        } else if scalars.elementsEqual("default".unicodeScalars) {
            file.profiles["default"] = section
        } else {
            file.otherSections[header] = section
        }
    }

    /// This config file with a credentials file's profiles laid over it, as botocore's
    /// `Session.full_config` does: a profile only in the credentials file is added; a profile
    /// in both keeps its config keys, with the credentials file's keys replacing same-named ones.
    public func merging(credentials: SharedConfigFile) -> SharedConfigFile {
        var merged = self
        for (name, section) in credentials.profiles {
            merged.profiles[name, default: SharedConfigSection()].values.merge(section.values) { _, credential in credential }
        }
        return merged
    }

    /// The profile a session uses: `name`'s section; for an absent `default`, an empty section;
    /// for any other absent name, nil (botocore's `ProfileNotFound`).
    ///
    /// botocore also fails for an explicitly named `default` that no file defines; we accept
    /// it, so `profile = "default"` works on a machine without shared files.
    public func profile(named name: String) -> SharedConfigSection? {
        if let section = profiles[name] { return section }
        return name == "default" ? SharedConfigSection() : nil
    }

    /// The profile in effect: `configuredProfile` (`[cloud.aws] profile`) when set, else
    /// `AWS_PROFILE`, else `default` (SPEC §2). Empty values count as unset.
    ///
    /// botocore also reads `AWS_DEFAULT_PROFILE` (ahead of `AWS_PROFILE`); SPEC does not, and
    /// neither do we.
    public static func activeProfileName(configuredProfile: String?, environment: [String: String]) -> String {
        if let configuredProfile, !configuredProfile.isEmpty { return configuredProfile }
        if let profile = environment["AWS_PROFILE"], !profile.isEmpty { return profile }
        return "default"
    }
}
