using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Runtime;

/// <summary>
/// Seccomp profiles in Docker's format (the default one is data: Profiles/seccomp-default.json) turned into the OCI
/// <c>linux.seccomp</c> a container gets: rules whose <c>includes</c>/<c>excludes</c> name capabilities, architectures
/// or a minimum kernel are kept or dropped for this container and this host, as Docker does.
/// </summary>
public static class SeccompProfile
{
    private static readonly Lazy<DockerSeccompProfile> Default = new(() =>
    {
        using Stream stream = typeof(SeccompProfile).Assembly.GetManifestResourceStream("Berth.Runtime.Profiles.seccomp-default.json")
            ?? throw new InvalidOperationException("the default seccomp profile is not embedded");
        return JsonSerializer.Deserialize(stream, SeccompJsonContext.Default.DockerSeccompProfile)!;
    });

    /// <summary>Docker's default profile for a container with <paramref name="capabilities"/> on <paramref name="host"/>.</summary>
    public static OciSeccomp ForDefault(IReadOnlyCollection<string> capabilities, HostFacts host) =>
        Convert(Default.Value, capabilities, host);

    /// <summary>A user's profile (the content of <c>--security-opt seccomp=FILE</c>); throws <see cref="FormatException"/> when it is not one.</summary>
    public static OciSeccomp FromJson(string json, IReadOnlyCollection<string> capabilities, HostFacts host)
    {
        DockerSeccompProfile? profile;
        try
        {
            profile = JsonSerializer.Deserialize(json, SeccompJsonContext.Default.DockerSeccompProfile);
        }
        catch (JsonException e)
        {
            throw new FormatException($"decoding seccomp profile failed: {e.Message}", e);
        }

        if (profile is null || string.IsNullOrEmpty(profile.DefaultAction))
        {
            throw new FormatException("decoding seccomp profile failed: no defaultAction");
        }

        return Convert(profile, capabilities, host);
    }

    public static OciSeccomp Convert(DockerSeccompProfile profile, IReadOnlyCollection<string> capabilities, HostFacts host)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(host);
        string kernelVersion = host.KernelVersion;
        string arch = GoArch;
        var syscalls = new List<OciSyscall>();
        foreach (DockerSeccompRule rule in profile.Syscalls ?? [])
        {
            if (!Applies(rule.Includes, rule.Excludes, arch, capabilities, kernelVersion))
            {
                continue;
            }

            IReadOnlyList<string> names = rule.Names ?? (rule.Name is null ? [] : [rule.Name]);
            syscalls.Add(new OciSyscall
            {
                Names = names,
                Action = rule.Action,
                ErrnoRet = rule.ErrnoRet,
                Args = rule.Args is { Count: > 0 } args ? args : null,
            });
        }

        return new OciSeccomp
        {
            DefaultAction = profile.DefaultAction,
            DefaultErrnoRet = profile.DefaultErrnoRet,
            Architectures = profile.Architectures ?? Architectures(profile.ArchMap, NativeArchitecture, host),
            Flags = profile.Flags,
            Syscalls = syscalls,
        };
    }

    private static bool Applies(DockerSeccompFilter? includes, DockerSeccompFilter? excludes, string arch, IReadOnlyCollection<string> capabilities, string kernelVersion)
    {
        if (includes is not null)
        {
            if (includes.Arches is { Count: > 0 } arches && !arches.Contains(arch))
            {
                return false;
            }

            if (includes.Caps is { Count: > 0 } caps && !caps.All(capabilities.Contains))
            {
                return false;
            }

            if (includes.MinKernel is { Length: > 0 } minimum && KernelBelow(kernelVersion, minimum))
            {
                return false;
            }
        }

        if (excludes is not null)
        {
            if (excludes.Arches is { Count: > 0 } arches && arches.Contains(arch))
            {
                return false;
            }

            if (excludes.Caps is { Count: > 0 } caps && caps.Any(capabilities.Contains))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when <paramref name="kernel"/> ("6.1.0-13-amd64") is older than <paramref name="minimum"/> ("4.8").</summary>
    public static bool KernelBelow(string kernel, string minimum)
    {
        static (int, int) Parse(string version)
        {
            string[] parts = version.Split('.', '-');
            return (parts.Length > 0 && int.TryParse(parts[0], out int major) ? major : 0, parts.Length > 1 && int.TryParse(parts[1], out int minor) ? minor : 0);
        }

        return Parse(kernel).CompareTo(Parse(minimum)) < 0;
    }

    /// <summary>
    /// The native architecture and its sub-architectures from the profile's map, without x32 on a kernel built without
    /// the x32 ABI: libseccomp's rules for it cost runc 10 ms of a 48 ms create here, and every x32 syscall there ends
    /// in ENOSYS at best. The one difference a container can see: a raw x32 syscall number, which such a kernel cannot
    /// run, now kills the caller (libseccomp's bad-architecture action) instead of failing.
    /// </summary>
    private static IReadOnlyList<string>? Architectures(IReadOnlyList<DockerSeccompArch>? archMap, string native, HostFacts host)
    {
        DockerSeccompArch? entry = archMap?.FirstOrDefault(a => a.Architecture == native);
        if (entry is null)
        {
            return null;
        }

        IEnumerable<string> subArchitectures = entry.SubArchitectures ?? [];
        return [entry.Architecture, .. host.X32Abi ? subArchitectures : subArchitectures.Where(a => a != "SCMP_ARCH_X32")];
    }

    private static string NativeArchitecture => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "SCMP_ARCH_AARCH64",
        Architecture.Arm => "SCMP_ARCH_ARM",
        _ => "SCMP_ARCH_X86_64",
    };

    /// <summary>The architecture as Docker's profiles name it (Go's GOARCH).</summary>
    private static string GoArch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        _ => "amd64",
    };
}

/// <summary>A seccomp profile in Docker's format (moby's profiles/seccomp types).</summary>
public sealed record DockerSeccompProfile
{
    [JsonPropertyName("defaultAction")] public string DefaultAction { get; init; } = "";
    [JsonPropertyName("defaultErrnoRet")] public uint? DefaultErrnoRet { get; init; }
    [JsonPropertyName("architectures")] public IReadOnlyList<string>? Architectures { get; init; }
    [JsonPropertyName("archMap")] public IReadOnlyList<DockerSeccompArch>? ArchMap { get; init; }
    [JsonPropertyName("flags")] public IReadOnlyList<string>? Flags { get; init; }
    [JsonPropertyName("syscalls")] public IReadOnlyList<DockerSeccompRule>? Syscalls { get; init; }
}

public sealed record DockerSeccompArch
{
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "";
    [JsonPropertyName("subArchitectures")] public IReadOnlyList<string>? SubArchitectures { get; init; }
}

public sealed record DockerSeccompRule
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("names")] public IReadOnlyList<string>? Names { get; init; }
    [JsonPropertyName("action")] public string Action { get; init; } = "";
    [JsonPropertyName("errnoRet")] public uint? ErrnoRet { get; init; }
    [JsonPropertyName("args")] public IReadOnlyList<OciSyscallArg>? Args { get; init; }
    [JsonPropertyName("includes")] public DockerSeccompFilter? Includes { get; init; }
    [JsonPropertyName("excludes")] public DockerSeccompFilter? Excludes { get; init; }
}

public sealed record DockerSeccompFilter
{
    [JsonPropertyName("arches")] public IReadOnlyList<string>? Arches { get; init; }
    [JsonPropertyName("caps")] public IReadOnlyList<string>? Caps { get; init; }
    [JsonPropertyName("minKernel")] public string? MinKernel { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(DockerSeccompProfile))]
internal sealed partial class SeccompJsonContext : JsonSerializerContext;
