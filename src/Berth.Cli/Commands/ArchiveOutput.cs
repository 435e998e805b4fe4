namespace Berth.Cli.Commands;

/// <summary>Where <c>save</c> and <c>export</c> write their tar: STDOUT (never a terminal) or a file, replaced only when complete.</summary>
internal static class ArchiveOutput
{
    public static async Task WriteAsync(CommandContext ctx, string? output, Func<Stream, CancellationToken, Task> copy, string failure, string verb)
    {
        if (string.IsNullOrEmpty(output))
        {
            if (ctx.StdoutIsTerminal)
            {
                throw new StatusException(1, $"cowardly refusing to {verb} to a terminal. Use the -o flag or redirect");
            }

            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            await copy(ctx.StdoutStream, ctx.Cancellation).ConfigureAwait(false);
            await ctx.StdoutStream.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            return;
        }

        // Like docker: a temp file beside the target, renamed over it only when the whole archive arrived.
        string full = Path.GetFullPath(output);
        string temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await copy(file, ctx.Cancellation).ConfigureAwait(false);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StatusException(1, $"{failure}: invalid output path: {e.Message}");
        }
        catch (DirectoryNotFoundException)
        {
            throw new StatusException(1, $"{failure}: invalid output path: directory \"{Path.GetDirectoryName(full)}\" does not exist");
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
