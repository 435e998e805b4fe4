namespace Berth.Images;

/// <summary>
/// Images a build stands on. A build step's image (its own, or a cache hit) is the parent of the next step and the
/// base of its container, so it must outlive a concurrent <c>rmi</c> or <c>image prune</c>: a pinned image is never
/// deleted (its tags can still be removed), and garbage collection keeps its layers and blobs because its record stays.
/// </summary>
public sealed partial class ImageStore
{
    /// <summary>Image id → how many pins hold it. Also the lock that makes "pin if it exists" and "delete if unpinned" atomic.</summary>
    private readonly Dictionary<string, int> _pins = new(StringComparer.Ordinal);

    /// <summary>Pins the image with id <paramref name="imageId"/>; null when it no longer exists (deleted since it was looked up).</summary>
    public ImagePin? Pin(string imageId)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        lock (_pins)
        {
            if (!Snapshot.TryGetValue(imageId, out ImageView? view))
            {
                return null;
            }

            _pins[imageId] = _pins.GetValueOrDefault(imageId) + 1;
            return new ImagePin(view.Record, Unpin);
        }
    }

    /// <summary>Whether a build holds the image.</summary>
    public bool IsPinned(string imageId)
    {
        lock (_pins)
        {
            return _pins.ContainsKey(imageId);
        }
    }

    /// <summary>
    /// Deletes an image record, its tags, and its config and manifest blobs (layers stay until GC), unless it is
    /// pinned: then nothing changes and the answer is false.
    /// </summary>
    public async Task<bool> TryDeleteAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_pins)
            {
                if (_pins.ContainsKey(image.Id))
                {
                    return false;
                }

                _metadata.DeleteImage(image.Id);
                Reload();
                return true;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Unpin(string imageId)
    {
        lock (_pins)
        {
            if (_pins.TryGetValue(imageId, out int count))
            {
                if (count <= 1)
                {
                    _pins.Remove(imageId);
                }
                else
                {
                    _pins[imageId] = count - 1;
                }
            }
        }
    }
}

/// <summary>One hold on an image (see <see cref="ImageStore.Pin"/>); dispose to let it go.</summary>
public sealed class ImagePin : IDisposable
{
    private Action<string>? _release;

    internal ImagePin(ImageRecord image, Action<string> release)
    {
        Image = image;
        _release = release;
    }

    /// <summary>The image as it was when pinned.</summary>
    public ImageRecord Image { get; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke(Image.Id);
}
