import RolloutCore
import RolloutSystem
import GRDB

/// The embedded `local` provider (SPEC §5): objects, a queue, secrets and a compute hint kept
/// under one root directory, for development and for testing client code without AWS.
///
/// ```
/// root/               created with mode 0700
///   local.sqlite      object index, blob journal, messages (GRDB DatabasePool, WAL)
///   objects/ab/abcd…  object bodies, one file per blob
///   secrets.toml      name = "value" pairs, written by the user
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

    private let pool: DatabasePool

    /// Opens (creating when needed) the provider's files under `root` and migrates
    /// `local.sqlite`; bodies left behind by an interrupted put or delete are removed.
    ///
    /// - Parameters:
    ///   - root: `[cloud.local].root`.
    ///   - secretsAllowlist: `[cloud.local].secrets_allowlist`: the only secret names served.
    ///   - visibilityTimeoutSecs: `[cloud.local].visibility_timeout_secs`: the queue's default.
    ///   - multipartChunkBytes: `[cloud.aws.s3].multipart_chunk_bytes`: the chunk size of
    ///     `contentId`, so both providers give the same bytes the same id.
    ///   - maxObjectBytes: the largest object `put` accepts (larger → TooLarge).
    /// - Throws: ConfigInvalid when `root` cannot be created or a size is not positive;
    ///   SQLite errors when the database cannot be opened.
    public init(
        root: String, secretsAllowlist: [String], visibilityTimeoutSecs: Int, multipartChunkBytes: Int,
        maxObjectBytes: Int64
    ) throws {
        guard multipartChunkBytes > 0 else {
            throw RolloutError(.configInvalid, "[cloud.aws.s3].multipart_chunk_bytes must be positive (got \(multipartChunkBytes))")
        }
        let blobs = BlobDirectory(path: FileSystem.join(root, "objects"))
        do {
            try Directories.make(root, mode: 0o700)
            try FileSystem.makeDirectory(blobs.path, mode: 0o700)
        } catch {
            throw RolloutError(.configInvalid, "[cloud.local].root: \(error)")
        }
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: FileSystem.join(root, "local.sqlite"), configuration: configuration)
        try LocalSchema.migrator.migrate(pool)
        try pool.write { db in try blobs.collectGarbage(nil, in: db) }

        let io = BlockingIO(label: "rolloutd.local.io")
        self.root = root
        objects = LocalObjectStore(
            pool: pool, blobs: blobs, io: io, chunkBytes: multipartChunkBytes, maxObjectBytes: maxObjectBytes
        )
        queue = LocalQueue(pool: pool, defaultVisibilitySeconds: visibilityTimeoutSecs)
        secrets = LocalSecretStore(path: FileSystem.join(root, "secrets.toml"), allowlist: secretsAllowlist, io: io)
        compute = LocalComputeHint(io: io)
    }

    /// Closes `local.sqlite` (checkpointing the WAL). The capabilities fail afterwards.
    public func close() throws {
        try pool.close()
    }
}
