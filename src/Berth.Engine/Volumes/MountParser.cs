using System.Globalization;
using Berth.Api.Types;
using Berth.Primitives;

namespace Berth.Engine.Volumes;

/// <summary>
/// Docker's Linux mount syntaxes, validated as Docker words its errors: <c>-v SRC:DST[:MODE]</c> (HostConfig.Binds),
/// <c>--mount</c> (HostConfig.Mounts), <c>--tmpfs DST[:OPTS]</c> (HostConfig.Tmpfs) and <c>--volumes-from C[:MODE]</c>.
/// Pure: creating volumes and checking the host is the caller's job.
/// </summary>
public static class MountParser
{
    private static readonly string[] Propagations = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];

    /// <summary>One <c>Binds</c> entry: an absolute source is a bind, anything else a volume name.</summary>
    public static ContainerMount ParseBind(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string[] parts = spec.Split(':');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
        {
            throw EngineException.Invalid($"invalid volume specification: '{spec}'");
        }

        string source = parts[0];
        string destination = parts[1];
        string mode = parts.Length == 3 ? parts[2] : "";
        bool bind = source.StartsWith('/');
        string type = bind ? "bind" : "volume";
        ValidateDestination(destination, type, spec);
        (bool readWrite, string propagation, bool noCopy) = ParseMode(mode);
        if (bind && noCopy)
        {
            throw EngineException.Invalid($"invalid volume specification: '{spec}': invalid mode: {mode}");
        }

        if (!bind)
        {
            VolumeService.ValidateName(source);
        }

        return new ContainerMount
        {
            Type = type,
            Name = bind ? null : source,
            Source = bind ? Clean(source) : "",
            Destination = Clean(destination),
            Mode = mode,
            ReadWrite = readWrite,
            Propagation = propagation, // empty: the resolver picks Docker's default for the source
            NoCopy = noCopy,
        };
    }

    /// <summary>One <c>Mounts</c> entry (<c>--mount type=...</c>).</summary>
    public static ContainerMount ParseMount(MountSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string type = string.IsNullOrEmpty(spec.Type) ? "volume" : spec.Type;
        string Invalid(string message) => $"invalid mount config for type \"{type}\": {message}";
        if (type is not ("volume" or "bind" or "tmpfs"))
        {
            throw EngineException.Invalid($"mount type unknown: \"{type}\"");
        }

        if (string.IsNullOrEmpty(spec.Target))
        {
            throw EngineException.Invalid(Invalid("field Target must not be empty"));
        }

        ValidateDestination(spec.Target, type, null);
        if (type != "bind" && spec.BindOptions is not null)
        {
            throw EngineException.Invalid(Invalid("field BindOptions must not be specified"));
        }

        if (type != "volume" && spec.VolumeOptions is not null)
        {
            throw EngineException.Invalid(Invalid("field VolumeOptions must not be specified"));
        }

        if (type != "tmpfs" && spec.TmpfsOptions is not null)
        {
            throw EngineException.Invalid(Invalid("field TmpfsOptions must not be specified"));
        }

        bool readWrite = spec.ReadOnly != true;
        string destination = Clean(spec.Target);
        switch (type)
        {
            case "bind":
                if (string.IsNullOrEmpty(spec.Source))
                {
                    throw EngineException.Invalid(Invalid("field Source must not be empty"));
                }

                if (!spec.Source.StartsWith('/'))
                {
                    throw EngineException.Invalid(Invalid($"invalid mount path: '{spec.Source}' mount path must be absolute"));
                }

                string propagation = spec.BindOptions?.Propagation ?? "";
                if (propagation.Length > 0 && !Propagations.Contains(propagation))
                {
                    throw EngineException.Invalid(Invalid($"invalid propagation mode: {propagation}"));
                }

                return new ContainerMount
                {
                    Type = "bind",
                    Source = Clean(spec.Source),
                    Destination = destination,
                    ReadWrite = readWrite,
                    Propagation = propagation,
                    NonRecursive = spec.BindOptions?.NonRecursive == true,
                };
            case "volume":
                if (!string.IsNullOrEmpty(spec.Source))
                {
                    VolumeService.ValidateName(spec.Source);
                }

                string? subpath = null;
                if (!string.IsNullOrEmpty(spec.VolumeOptions?.Subpath))
                {
                    subpath = spec.VolumeOptions.Subpath;
                    if (subpath.StartsWith('/') || subpath.Split('/').Contains(".."))
                    {
                        throw EngineException.Invalid(Invalid("subpath must be a relative path within the volume"));
                    }

                    if (string.IsNullOrEmpty(spec.Source))
                    {
                        throw EngineException.Invalid(Invalid("subpath needs a named volume"));
                    }
                }

                if (spec.VolumeOptions?.DriverConfig?.Name is { Length: > 0 } driver && driver != VolumeService.LocalDriver)
                {
                    throw EngineException.NotFound($"error looking up volume plugin {driver}: plugin \"{driver}\" not found");
                }

                return new ContainerMount
                {
                    Type = "volume",
                    Name = string.IsNullOrEmpty(spec.Source) ? null : spec.Source,
                    Destination = destination,
                    ReadWrite = readWrite,
                    Mode = "z",
                    NoCopy = spec.VolumeOptions?.NoCopy == true,
                    Subpath = subpath,
                    VolumeOptions = spec.VolumeOptions?.DriverConfig?.Options,
                    VolumeLabels = spec.VolumeOptions?.Labels,
                };
            default:
                if (!string.IsNullOrEmpty(spec.Source))
                {
                    throw EngineException.Invalid(Invalid("field Source must not be specified"));
                }

                var options = new List<string>();
                if (spec.TmpfsOptions?.SizeBytes is long size)
                {
                    if (size < 0)
                    {
                        throw EngineException.Invalid(Invalid($"invalid tmpfs size: {size}"));
                    }

                    options.Add("size=" + (size % 1024 == 0 ? (size / 1024).ToString(CultureInfo.InvariantCulture) + "k" : size.ToString(CultureInfo.InvariantCulture)));
                }

                if (spec.TmpfsOptions?.Mode is int mode)
                {
                    options.Add("mode=" + Convert.ToString(mode, 8));
                }

                if (!readWrite)
                {
                    options.Add("ro");
                }

                return new ContainerMount { Type = "tmpfs", Destination = destination, ReadWrite = readWrite, TmpfsOptions = string.Join(',', options) };
        }
    }

    /// <summary>One <c>Tmpfs</c> entry: <c>/run</c> → <c>rw,size=64m,mode=1777</c>; not listed in inspect's Mounts, as in Docker.</summary>
    public static ContainerMount ParseTmpfs(string destination, string? options)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ValidateDestination(destination, "tmpfs", null);
        string opts = options ?? "";
        bool readWrite = !opts.Split(',').Contains("ro");
        return new ContainerMount { Type = "tmpfs", Destination = Clean(destination), TmpfsOptions = opts, ReadWrite = readWrite, Listed = false };
    }

    /// <summary><c>c[:ro|rw]</c>: the container and the mode forced on its mounts (null keeps each mount's).</summary>
    public static (string Container, bool? ReadWrite) ParseVolumesFrom(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.LastIndexOf(':');
        if (colon < 0)
        {
            return (spec, null);
        }

        string container = spec[..colon];
        string mode = spec[(colon + 1)..];
        if (container.Length == 0)
        {
            throw EngineException.Invalid($"malformed volumes-from specification: {spec}");
        }

        (bool readWrite, _, _) = ParseMode(mode);
        return (container, readWrite);
    }

    /// <summary>Parses <c>ro|rw</c>, <c>z|Z</c>, <c>nocopy</c> and a propagation, comma-separated; one of each at most.</summary>
    private static (bool ReadWrite, string Propagation, bool NoCopy) ParseMode(string mode)
    {
        bool readWrite = true;
        string propagation = "";
        bool noCopy = false;
        int rw = 0, label = 0, prop = 0, copy = 0;
        foreach (string option in mode.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            switch (option)
            {
                case "ro": readWrite = false; rw++; break;
                case "rw": rw++; break;
                case "z" or "Z": label++; break;
                case "nocopy": noCopy = true; copy++; break;
                case var p when Propagations.Contains(p): propagation = p; prop++; break;
                default: throw EngineException.Invalid($"invalid mode: {mode}");
            }
        }

        if (rw > 1 || label > 1 || prop > 1 || copy > 1)
        {
            throw EngineException.Invalid($"invalid mode: {mode}");
        }

        return (readWrite, propagation, noCopy);
    }

    private static void ValidateDestination(string destination, string type, string? spec)
    {
        string prefix = spec is null ? "" : $"invalid volume specification: '{spec}': ";
        if (!destination.StartsWith('/'))
        {
            throw EngineException.Invalid($"{prefix}invalid mount config for type \"{type}\": invalid mount path: '{destination}' mount path must be absolute");
        }

        if (Clean(destination) == "/")
        {
            throw EngineException.Invalid($"{prefix}invalid specification: destination can't be '/'");
        }
    }

    /// <summary>Lexically cleans an absolute path (<c>/a//b/../c/</c> → <c>/a/c</c>), as Go's filepath.Clean.</summary>
    public static string Clean(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }
}
