using Berth.Api.Types;

namespace Berth.Engine.Volumes;

/// <summary>The volume use cases the API exposes (/volumes/...).</summary>
public interface IVolumeBackend
{
    /// <summary>Volumes matching <c>dangling</c>, <c>name</c>, <c>label</c> and <c>driver</c> filters.</summary>
    VolumeListResponse List(IReadOnlyDictionary<string, IReadOnlyList<string>> filters);

    Volume Inspect(string name);

    /// <summary>Creates a volume, or returns the existing one of that name (as Docker does).</summary>
    Volume Create(VolumeCreateOptions options);

    /// <summary>Removes an unused volume; <paramref name="force"/> makes a missing one no error.</summary>
    void Remove(string name, bool force);

    /// <summary>
    /// Removes unused volumes matching the <c>label</c> filters; only anonymous ones unless <c>all=true</c> or
    /// <paramref name="anonymousOnly"/> is false (API before 1.42).
    /// </summary>
    VolumePruneResponse Prune(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, bool anonymousOnly);
}
