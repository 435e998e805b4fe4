using System.Globalization;
using Berth.Api.Types;

namespace Berth.Cli;

/// <summary>One row of <c>images</c> (one per repository and tag of an image): docker's imageContext.</summary>
internal sealed class ImageRow(ImageSummary summary, string repository, string tag, string digest, bool truncate, DateTimeOffset now, TimeZoneInfo zone) : FieldRow
{
    private readonly ImageSummary image = summary with { Id = summary.Id ?? "" };

    public const string DefaultTable = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    public const string DefaultTableWithDigest = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    public const string QuietFormat = "{{.ID}}";
    public const string None = "<none>";

    public static readonly HeaderRow Header = new(new Dictionary<string, string>
    {
        ["ID"] = "IMAGE ID",
        ["Repository"] = "REPOSITORY",
        ["Tag"] = "TAG",
        ["Digest"] = "DIGEST",
        ["CreatedSince"] = "CREATED",
        ["CreatedAt"] = "CREATED AT",
        ["Size"] = "SIZE",
        ["Containers"] = "CONTAINERS",
        ["VirtualSize"] = "VIRTUAL SIZE",
        ["SharedSize"] = "SHARED SIZE",
        ["UniqueSize"] = "UNIQUE SIZE",
    });

    private static readonly string[] Fields =
        ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"];

    public override string TypeName => "*formatter.imageContext";

    protected override IEnumerable<string> JsonFields => Fields;

    public override bool TryGetField(string name, IReadOnlyList<object?> args, out object? value)
    {
        value = name switch
        {
            "ID" => truncate ? GoStrings.TruncateId(image.Id) : image.Id,
            "Repository" => repository,
            "Tag" => tag,
            "Digest" => digest,
            "CreatedSince" => image.Created <= 0 ? "N/A" : Units.HumanDuration(now - DateTimeOffset.FromUnixTimeSeconds(image.Created)) + " ago",
            "CreatedAt" => Units.GoTimeString(DateTimeOffset.FromUnixTimeSeconds(image.Created), zone),
            "Size" => Units.HumanSize(image.Size, 3),
            "VirtualSize" => Units.HumanSize(image.VirtualSize > 0 ? image.VirtualSize : image.Size, 3),
            "SharedSize" => image.SharedSize < 0 ? "N/A" : Units.HumanSize(image.SharedSize, 3),
            "UniqueSize" => image.SharedSize < 0 ? "N/A" : Units.HumanSize(image.Size - image.SharedSize, 3),
            "Containers" => image.Containers < 0 ? "N/A" : image.Containers.ToString(CultureInfo.InvariantCulture),
            _ => null,
        };

        return value is not null;
    }

    /// <summary>Docker's expansion of images into rows: one per repository:tag, <c>&lt;none&gt;</c> for dangling ones.</summary>
    public static IEnumerable<ImageRow> Expand(ImageSummary image, bool showDigests, bool truncate, DateTimeOffset now, TimeZoneInfo zone)
    {
        var repoTags = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        var repoDigests = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string reference in image.RepoTags ?? [])
        {
            if (reference == "<none>:<none>")
            {
                continue;
            }

            (string repository, string? tag, _) = ImageRefs.Split(reference);
            if (tag is null)
            {
                continue;
            }

            string familiar = ImageRefs.Familiar(repository);
            if (!repoTags.TryGetValue(familiar, out List<string>? tags))
            {
                repoTags[familiar] = tags = [];
            }

            tags.Add(tag);
        }

        foreach (string reference in image.RepoDigests ?? [])
        {
            if (reference == "<none>@<none>")
            {
                continue;
            }

            (string repository, _, string? digest) = ImageRefs.Split(reference);
            if (digest is null)
            {
                continue;
            }

            string familiar = ImageRefs.Familiar(repository);
            if (!repoDigests.TryGetValue(familiar, out List<string>? digests))
            {
                repoDigests[familiar] = digests = [];
            }

            digests.Add(digest);
        }

        if (repoTags.Count == 0 && repoDigests.Count == 0)
        {
            yield return new ImageRow(image, None, None, None, truncate, now, zone);
            yield break;
        }

        foreach ((string repository, List<string> tags) in repoTags)
        {
            List<string> digests = repoDigests.GetValueOrDefault(repository) ?? [];
            repoDigests.Remove(repository);
            foreach (string tag in tags)
            {
                if (!showDigests || digests.Count == 0)
                {
                    yield return new ImageRow(image, repository, tag, digests.Count > 0 && showDigests ? digests[0] : None, truncate, now, zone);
                    continue;
                }

                foreach (string digest in digests)
                {
                    yield return new ImageRow(image, repository, tag, digest, truncate, now, zone);
                }
            }
        }

        foreach ((string repository, List<string> digests) in repoDigests)
        {
            if (showDigests)
            {
                foreach (string digest in digests)
                {
                    yield return new ImageRow(image, repository, None, digest, truncate, now, zone);
                }
            }
            else
            {
                yield return new ImageRow(image, repository, None, None, truncate, now, zone);
            }
        }
    }
}
