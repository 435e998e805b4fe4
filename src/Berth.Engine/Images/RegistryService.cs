using Berth.Api.Types;
using Berth.Distribution;
using Berth.Images;
using Berth.Primitives;

namespace Berth.Engine.Images;

/// <summary>Pull, push and the login check (POST /images/create?fromImage=, POST /images/{name}/push, POST /auth).</summary>
public interface IRegistryBackend
{
    /// <summary>Pulls <c>fromImage[:tag]</c> (or <c>@digest</c>), reporting Docker's progress messages.</summary>
    Task PullAsync(string fromImage, string? tag, string? platform, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken);

    /// <summary>Pushes <c>name[:tag]</c>, reporting Docker's progress messages.</summary>
    Task PushAsync(string name, string? tag, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken);

    /// <summary>Checks the credentials against the registry's /v2/ (docker login).</summary>
    Task LoginAsync(AuthConfig auth, CancellationToken cancellationToken);
}

public sealed class RegistryService(ImageStore images, Events.EventLog events, EngineOptions engineOptions) : IRegistryBackend
{
    private readonly DistributionOptions _options = engineOptions.Distribution;

    public async Task PullAsync(string fromImage, string? tag, string? platform, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        // Docker's CLI sends fromImage=NAME&tag=TAG (or the digest as tag).
        string text = string.IsNullOrEmpty(tag) ? fromImage : tag.Contains(':', StringComparison.Ordinal) ? $"{fromImage}@{tag}" : $"{fromImage}:{tag}";
        ImageReference reference = ImageReference.Parse(text);
        var puller = new ImagePuller(images, _options);
        PullResult result = await puller.PullAsync(reference, Credentials(auth), platform, new ProgressAdapter(progress), cancellationToken).ConfigureAwait(false);
        events.Publish("image", "pull", result.Image.Id, new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = reference.FamiliarString });
    }

    public async Task PushAsync(string name, string? tag, AuthConfig? auth, IProgress<ProgressMessage> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        ImageReference reference = ImageReference.Parse(string.IsNullOrEmpty(tag) ? name : $"{name}:{tag}");
        if (reference.Digest is not null)
        {
            throw EngineException.Invalid("cannot push a digest reference");
        }

        ImageView image = images.Find(reference.ToString())
            ?? throw EngineException.NotFound($"An image does not exist locally with the tag: {reference.FamiliarName}");
        var pusher = new ImagePusher(images, _options);
        Digest digest = await pusher.PushAsync(reference, image.Record, Credentials(auth), new ProgressAdapter(progress), cancellationToken).ConfigureAwait(false);
        await images.AddRepoDigestAsync(image.Record.Id, $"{reference.FamiliarName}@{digest}", cancellationToken).ConfigureAwait(false);
        events.Publish("image", "push", image.Record.Id, new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = reference.FamiliarString });
    }

    public Task LoginAsync(AuthConfig auth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auth);
        return RegistryLogin.CheckAsync(auth.ServerAddress ?? ImageReference.DefaultDomain, Credentials(auth) ?? RegistryCredentials.Anonymous, _options, cancellationToken);
    }

    private static RegistryCredentials? Credentials(AuthConfig? auth)
    {
        if (auth is null)
        {
            return null;
        }

        string? username = auth.Username;
        string? password = auth.Password;
        // "auth" is base64(user:password), as config.json stores it.
        if (string.IsNullOrEmpty(username) && !string.IsNullOrEmpty(auth.Auth))
        {
            try
            {
                string decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth.Auth));
                int colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    username = decoded[..colon];
                    password = decoded[(colon + 1)..];
                }
            }
            catch (FormatException)
            {
                throw EngineException.Invalid("invalid auth configuration: auth is not base64");
            }
        }

        return new RegistryCredentials(username, password, auth.IdentityToken);
    }

    /// <summary>Distribution's progress as Docker's JSON messages.</summary>
    private sealed class ProgressAdapter(IProgress<ProgressMessage> target) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) =>
            target.Report(new ProgressMessage { Id = value.Id, Status = value.Status, Progress = value.Progress });
    }
}
