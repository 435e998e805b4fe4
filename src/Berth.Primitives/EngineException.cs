namespace Berth.Primitives;

/// <summary>The engine's whole error vocabulary; the API layer maps each kind to one HTTP status.</summary>
public enum ErrorKind
{
    /// <summary>The request is malformed or asks for something invalid (400).</summary>
    InvalidArgument,

    /// <summary>The object does not exist (404).</summary>
    NotFound,

    /// <summary>The object exists but its state forbids the operation, or a name is taken (409).</summary>
    Conflict,

    /// <summary>The operation is not supported by this engine or this host (501, as Docker answers).</summary>
    NotImplemented,

    /// <summary>Access refused (403).</summary>
    Forbidden,

    /// <summary>Anything else: a bug or a host failure (500).</summary>
    Internal,
}

/// <summary>An error the engine reports to its clients, with its kind and a message in Docker's wording.</summary>
public sealed class EngineException : Exception
{
    public EngineException(ErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public ErrorKind Kind { get; }

    public static EngineException NotFound(string message) => new(ErrorKind.NotFound, message);

    public static EngineException Invalid(string message) => new(ErrorKind.InvalidArgument, message);

    public static EngineException Conflict(string message) => new(ErrorKind.Conflict, message);
}
