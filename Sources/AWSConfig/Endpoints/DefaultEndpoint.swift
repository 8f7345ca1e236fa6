/// The endpoint a service has when nothing configures one: what botocore 1.43.11 reports as
/// `client.meta.endpoint_url`.
///
/// `https://<prefix>.<region>.<dnsSuffix>`, where the partition (and so the DNS suffix) is
/// found by matching the region against each partition's `regionRegex` from botocore's
/// `partitions.json`; a region that matches none (`xx-fake-1`) is in `aws`. S3 in `us-east-1`
/// keeps the legacy global host `s3.amazonaws.com`, and `aws-global` means the global hosts of
/// S3 and STS.
enum DefaultEndpoint {
    /// A partition: the region shape it owns and its DNS suffix.
    private struct Partition {
        /// Allowed first dash-separated labels of the region (`us`, `eu`, ... for `aws`).
        var firstLabels: Set<String>
        /// Fixed labels after the first one (`gov` for `us-gov-west-1`).
        var fixedLabels: [String]
        var dnsSuffix: String

        /// `^<first>(-<fixed>)*-\w+-\d+$`.
        func owns(_ labels: [Substring]) -> Bool {
            guard labels.count == fixedLabels.count + 3, firstLabels.contains(String(labels[0])),
                zip(labels[1...], fixedLabels).allSatisfy({ $0 == $1 })
            else { return false }
            let word = labels[labels.count - 2]
            let number = labels[labels.count - 1]
            return !word.isEmpty && word.unicodeScalars.allSatisfy(isWordCharacter)
                && !number.isEmpty && number.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
        }

        private func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_")
        }
    }

    private static let aws = Partition(
        firstLabels: ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"], fixedLabels: [], dnsSuffix: "amazonaws.com")

    private static let partitions = [
        aws,
        Partition(firstLabels: ["cn"], fixedLabels: [], dnsSuffix: "amazonaws.com.cn"),
        Partition(firstLabels: ["eusc"], fixedLabels: ["de"], dnsSuffix: "amazonaws.eu"),
        Partition(firstLabels: ["us"], fixedLabels: ["iso"], dnsSuffix: "c2s.ic.gov"),
        Partition(firstLabels: ["us"], fixedLabels: ["isob"], dnsSuffix: "sc2s.sgov.gov"),
        Partition(firstLabels: ["eu"], fixedLabels: ["isoe"], dnsSuffix: "cloud.adc-e.uk"),
        Partition(firstLabels: ["us"], fixedLabels: ["isof"], dnsSuffix: "csp.hci.ic.gov"),
        Partition(firstLabels: ["us"], fixedLabels: ["gov"], dnsSuffix: "amazonaws.com"),
    ]

    /// The default endpoint of `service` in `region`; with no region, the global endpoint of
    /// S3 or STS, and nil for the other services (botocore raises `NoRegionError`).
    static func url(for service: AWSService, region: String?) -> String? {
        guard let region else {
            switch service {
            case .s3, .sts: return globalURL(service)
            default: return nil
            }
        }
        switch (service, region) {
        case (.s3, "us-east-1"), (.s3, "aws-global"), (.sts, "aws-global"):
            return globalURL(service)
        default:
            return url(endpointPrefix: service.endpointPrefix, region: region)
        }
    }

    /// `https://<endpointPrefix>.<region>.<dnsSuffix>` in `region`'s partition.
    static func url(endpointPrefix: String, region: String) -> String {
        let labels = region.split(separator: "-", omittingEmptySubsequences: false)
        let partition = partitions.first { $0.owns(labels) } ?? aws
        return "https://\(endpointPrefix).\(region).\(partition.dnsSuffix)"
    }

    private static func globalURL(_ service: AWSService) -> String {
        "https://\(service.endpointPrefix).amazonaws.com"
    }
}
