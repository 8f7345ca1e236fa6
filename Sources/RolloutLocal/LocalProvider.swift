public import RolloutCore
import RolloutSystem

/// The embedded `local` provider (SPEC §5): objects, a queue, secrets and a compute hint kept
/// under one root directory, for development and for testing client code without AWS.
///
/// ```
/// root/               created with mode 0700
///   objects/ab/abcd…  object bodies, one file per blob
///   secrets.toml      name = "value" pairs, written by the user
/// state_dir/
///   state.sqlite      the object index, blob journal and messages, next to the idempotency
///                     records, so that an effect and its record commit in one transaction
///                     (SPEC §3.2); reached only through ``LocalProviderTables`` (RolloutStore
///                     implements it)
/// ```
public final class LocalProvider: Sendable {
    /// The ObjectStore capability.
    public let objects: LocalObjectStore
    /// The Queue capability.
    public let queue: LocalQueue
    /// The SecretStore capability.
    public let secrets: LocalSecretStore
    /// The ComputeHint capability.
    public let compute: LocalComputeHint
    /// The root directory.
    public let root: String

    /// Opens (creating when needed) the provider's files under `root`, keeping its tables in
    /// `tables`; bodies left behind by an interrupted put or delete are removed. A
    /// `root/local.sqlite` left by an earlier version is imported into `tables` once (then
    /// renamed `local.sqlite.imported`).
    ///
    /// - Parameters:
    ///   - root: `[cloud.local].root`.
    ///   - tables: the provider's tables in the daemon's state database.
    ///   - secretsAllowlist: `[cloud.local].secrets_allowlist`: the only secret names served.
    ///   - visibilityTimeoutSecs: `[cloud.local].visibility_timeout_secs`: the queue's default.
    ///   - multipartChunkBytes: `[cloud.aws.s3].multipart_chunk_bytes`: the chunk size of
    ///     `contentId`, so both providers give the same bytes the same id.
    ///   - maxObjectBytes: the largest object `put` accepts (larger → TooLarge).
    /// - Throws: ConfigInvalid when `root` cannot be created or a size is not positive;
    ///   SQLite errors when the database cannot be read or written.
    public init(
        root: String, tables: any LocalProviderTables, secretsAllowlist: [String], visibilityTimeoutSecs: Int, multipartChunkBytes: Int,
        maxObjectBytes: Int64
    ) throws {
        guard multipartChunkBytes > 0 else {
            throw RolloutError(.configInvalid, "[cloud.aws.s3].multipart_chunk_bytes must be positive (got \(multipartChunkBytes))")
        }
        let blobs = BlobDirectory(path: Directories.join(root, "objects"))
        do {
            try Directories.make(blobs.path, mode: 0o700)
        } catch {
            throw RolloutError(.configInvalid, "[cloud.local].root: \(error)")
        }
        try LegacyDatabase.importIfPresent(Directories.join(root, "local.sqlite"), into: tables)
        try tables.collectBlobs(nil, removing: blobs.removeFiles(of:))

        let io = BlockingIO(label: "rolloutd.local.io")
        self.root = root
        objects = LocalObjectStore(
            index: tables, blobs: blobs, io: io, chunkBytes: multipartChunkBytes, maxObjectBytes: maxObjectBytes
        )
        queue = LocalQueue(table: tables, defaultVisibilitySeconds: visibilityTimeoutSecs)
        secrets = LocalSecretStore(path: Directories.join(root, "secrets.toml"), allowlist: secretsAllowlist, io: io)
        compute = LocalComputeHint(io: io)
    }
}
