using System.Net;

namespace Berth.Api.Client;

/// <summary>
/// The daemon answered with an error status. <see cref="Exception.Message"/> reads like Docker's client
/// (<c>Error response from daemon: No such container: x</c>); <see cref="DaemonMessage"/> is the bare message.
/// </summary>
public sealed class BerthApiException : Exception
{
    public BerthApiException(HttpStatusCode statusCode, string daemonMessage)
        : base("Error response from daemon: " + daemonMessage)
    {
        StatusCode = statusCode;
        DaemonMessage = daemonMessage;
    }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The <c>message</c> of the error body (or the body itself when it was not JSON).</summary>
    public string DaemonMessage { get; }

    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;

    public bool IsConflict => StatusCode == HttpStatusCode.Conflict;
}

/// <summary>The daemon could not be reached at all (socket missing, connection refused, host unknown).</summary>
public sealed class DaemonUnavailableException : Exception
{
    public DaemonUnavailableException(string host, Exception? innerException)
        : base($"Cannot connect to the Berth daemon at {host}. Is the berth daemon running?", innerException)
    {
        Host = host;
    }

    public string Host { get; }
}

/// <summary>The daemon said something the client cannot understand (bad HTTP, bad JSON, stream error frames).</summary>
public sealed class BerthProtocolException : Exception
{
    public BerthProtocolException(string message)
        : base(message)
    {
    }

    public BerthProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
