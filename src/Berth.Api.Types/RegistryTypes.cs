using System.Text.Json.Serialization;

namespace Berth.Api.Types;

/// <summary>Docker's AuthConfig: the body of POST /auth and, base64url-encoded, the X-Registry-Auth header.</summary>
public sealed record AuthConfig
{
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }
    [JsonPropertyName("auth")] public string? Auth { get; init; }
    [JsonPropertyName("email")] public string? Email { get; init; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; init; }
    [JsonPropertyName("identitytoken")] public string? IdentityToken { get; init; }
    [JsonPropertyName("registrytoken")] public string? RegistryToken { get; init; }
}

/// <summary>The answer of POST /auth.</summary>
public sealed record AuthResponse
{
    public string Status { get; init; } = "";
    public string? IdentityToken { get; init; }
}
