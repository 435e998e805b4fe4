namespace Berth.Images;

/// <summary>The names of the OCI/Docker layer whiteout convention and of overlayfs's equivalent.</summary>
public static class Whiteout
{
    /// <summary><c>.wh.NAME</c> in a layer deletes NAME of the layers below.</summary>
    public const string Prefix = ".wh.";

    /// <summary>In a directory of a layer: nothing of the layers below shows through this directory.</summary>
    public const string Opaque = ".wh..wh..opq";

    /// <summary>overlayfs's mark of an opaque directory (value "y").</summary>
    public const string OpaqueAttribute = "trusted.overlay.opaque";
}
