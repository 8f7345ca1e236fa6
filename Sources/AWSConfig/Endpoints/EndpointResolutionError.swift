/// Endpoint or region settings that botocore would refuse to create a client with.
///
/// Messages name the setting and where it came from, never a credential.
public struct EndpointResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; an open set of codes.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code's name.
        public let rawValue: String

        /// Creates a code from its name.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The named profile is in neither shared file (botocore's `ProfileNotFound`).
        public static let profileNotFound = Code(rawValue: "profileNotFound")
        /// The profile's `services` key names a `[services NAME]` section that does not exist
        /// or is empty (botocore's `InvalidConfigError`).
        public static let servicesSectionNotFound = Code(rawValue: "servicesSectionNotFound")
        /// The region is not a valid host label (botocore's `InvalidRegionError`), e.g.
        /// `us-west-2 # comment` from a config file.
        public static let invalidRegion = Code(rawValue: "invalidRegion")
        /// The endpoint URL has no valid host (botocore's `ValueError: Invalid endpoint`).
        public static let invalidEndpointURL = Code(rawValue: "invalidEndpointURL")

        /// The code's name.
        public var description: String {
            rawValue
        }
    }

    /// What went wrong.
    public var code: Code
    /// The service being resolved, when the problem is specific to one.
    public var service: AWSService?
    /// A sentence for people.
    public var message: String

    /// Creates an error.
    public init(code: Code, service: AWSService? = nil, message: String) {
        self.code = code
        self.service = service
        self.message = message
    }

    /// The message.
    public var description: String {
        message
    }
}
