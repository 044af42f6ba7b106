import Foundation
import Synchronization

/// The object-store settings a command takes (flags), the rest from the environment.
public struct ObjectStoreOptions: Sendable {
    /// `--endpoint`: S3's (else `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, AWS).
    public var endpoint: String?
    /// `--gcs-endpoint`: GCS's (else `STORAGE_EMULATOR_HOST`, else storage.googleapis.com).
    public var gcsEndpoint: String?
    public var region: String?
    public var addressing: S3Configuration.Addressing = .path
    /// Outputs at least this large go up in parts (S3 multipart) or chunks (GCS resumable).
    public var multipartThreshold: Int?
    public var partSize: Int?
    public var maxAttempts: Int?
    public var environment: [String: String]
    /// Retries and credential refreshes are logged here (never with a secret).
    public var log: @Sendable (String) -> Void = { _ in }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }
}

/// Makes one client per scheme a run needs (input and output may be different stores), each
/// with the credentials its environment provides, and shares it between the run's threads.
public final class ObjectStores: Sendable {
    public let options: ObjectStoreOptions
    /// Held while a client is made, so two threads asking for the same scheme get one client.
    private let clients = Mutex<[ObjectLocation.Scheme: any ObjectStoreClient]>([:])

    public init(options: ObjectStoreOptions) {
        self.options = options
    }

    /// - Throws: `ObjectStoreError` (operation `credentials` or `endpoint`) when the store
    ///   cannot be reached as configured.
    public func client(for scheme: ObjectLocation.Scheme) throws -> any ObjectStoreClient {
        try clients.withLock { clients in try makeClient(for: scheme, into: &clients) }
    }

    private func makeClient(for scheme: ObjectLocation.Scheme, into clients: inout [ObjectLocation.Scheme: any ObjectStoreClient]) throws -> any ObjectStoreClient {
        if let made = clients[scheme] { return made }
        let made: any ObjectStoreClient
        let log = options.log
        switch scheme {
        case .s3:
            var configuration = try S3Configuration.fromEnvironment(endpoint: options.endpoint, region: options.region, environment: options.environment, log: log)
            configuration.addressing = options.addressing
            if let value = options.multipartThreshold { configuration.multipartThreshold = value }
            if let value = options.partSize { configuration.partSize = value }
            if let value = options.maxAttempts { configuration.maxAttempts = max(1, value) }
            made = S3Client(configuration: configuration, onRetry: { log("warning: \($0)") })
        case .gs:
            let environment = options.environment
            var configuration: GCSConfiguration
            do {
                configuration = try GCSConfiguration.fromEnvironment(endpoint: options.gcsEndpoint, environment: environment) {
                    try GoogleCredentials.applicationDefault(environment: environment, log: log)
                }
                // The first token now: a key or refresh token the endpoint refuses fails the run
                // before anything is read, as AWS credentials do.
                _ = try configuration.tokens?.accessToken()
            } catch let error as CredentialError {
                throw ObjectStoreError(status: nil, code: nil, message: error.description, operation: "credentials")
            }
            if let value = options.multipartThreshold { configuration.resumableThreshold = value }
            if let value = options.partSize { configuration.chunkSize = value }
            if let value = options.maxAttempts { configuration.retry.maxAttempts = max(1, value) }
            made = GCSClient(configuration: configuration, onRetry: { log("warning: \($0)") })
        }
        clients[scheme] = made
        return made
    }
}
