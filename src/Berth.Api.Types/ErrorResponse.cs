namespace Berth.Api.Types;

/// <summary>Docker's error body: <c>{"message": "..."}</c>.</summary>
public sealed record ErrorResponse
{
    [System.Text.Json.Serialization.JsonPropertyName("message")]
    public string Message { get; init; } = "";
}
