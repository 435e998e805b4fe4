namespace Berth.IntegrationTests.Infrastructure;

/// <summary>Container names no other test (or run) uses.</summary>
public static class Names
{
    public static string Unique(string purpose) => $"bt-{purpose}-{Guid.NewGuid().ToString("N")[..10]}";
}
