namespace Berth.Cli.Commands;

/// <summary>The yes/no question of docker's prune commands.</summary>
internal static class Prompt
{
    /// <summary>Prints <paramref name="prompt"/> and reads one line of stdin: true only for "y" or "Y".</summary>
    public static async Task<bool> ConfirmAsync(CommandContext ctx, string prompt)
    {
        await ctx.Out.WriteAsync(prompt).ConfigureAwait(false);
        await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
        using var reader = new StreamReader(ctx.OpenStdin(), leaveOpen: true);
        string? answer = await reader.ReadLineAsync(ctx.Cancellation).ConfigureAwait(false);
        return answer?.Trim() is "y" or "Y";
    }
}
