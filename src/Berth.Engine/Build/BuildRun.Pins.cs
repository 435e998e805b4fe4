using Berth.Images;

namespace Berth.Engine.Build;

/// <summary>
/// The images this build stands on (base images, cache hits, each step's result), pinned until the build ends, so
/// a concurrent <c>rmi</c> or <c>image prune -a</c> cannot delete an image (and, through garbage collection, its
/// layers) that a later step builds on.
/// </summary>
internal sealed partial class BuildRun : IDisposable
{
    /// <summary>How often a just-committed step image is committed again when a prune removed it before it was pinned.</summary>
    private const int CommitAttempts = 3;

    private readonly List<ImagePin> _pins = [];

    public void Dispose()
    {
        lock (_pins)
        {
            foreach (ImagePin pin in _pins)
            {
                pin.Dispose();
            }

            _pins.Clear();
        }
    }

    /// <summary>The image with this id, pinned for the rest of the build; null when it was deleted (a cache hit that vanished is a miss).</summary>
    private ImageRecord? PinExisting(string imageId)
    {
        if (service.Images.Pin(imageId) is not { } pin)
        {
            return null;
        }

        lock (_pins)
        {
            _pins.Add(pin);
        }

        return pin.Image;
    }

    /// <summary>
    /// Commits a step's image with <paramref name="compose"/> and pins it. A prune between the commit and the pin can
    /// delete the new (untagged) image; then it is committed again (same config, same blobs, still leased by the step).
    /// </summary>
    private async Task<ImageRecord> ComposePinnedAsync(Func<Task<ImageRecord>> compose)
    {
        for (int attempt = 1; ; attempt++)
        {
            ImageRecord image = await compose().ConfigureAwait(false);
            if (PinExisting(image.Id) is { } pinned)
            {
                return pinned;
            }

            if (attempt == CommitAttempts)
            {
                throw new IOException($"image {image.Id} was removed while the build was committing it");
            }
        }
    }
}
