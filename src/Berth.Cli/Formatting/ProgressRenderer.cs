using System.Text;
using Berth.Api.Types;

namespace Berth.Cli.Formatting;

/// <summary>
/// Docker's rendering of a pull/push JSON progress stream (its jsonmessage.DisplayJSONMessagesStream). On a
/// terminal each layer keeps one line that is redrawn in place (cursor up to it, clear, write, cursor back down):
/// <c>a1b2c3d4e5f6: Downloading [=====&gt;      ]  12.35MB/45.6MB</c>, later <c>Pull complete</c>. Without a terminal
/// each message is a plain line, and messages that carry a byte count are left out, so a log gets
/// <c>Pulling fs layer</c>, <c>Download complete</c>, <c>Pull complete</c> but no bars.
/// </summary>
internal sealed class ProgressRenderer(bool terminal, int width = 200)
{
    private const string Escape = "\u001b[";

    // Layer id → its line, counted from the first layer line; the cursor rests below the last one.
    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

    /// <summary>The text (escape sequences included on a terminal) that shows <paramref name="message"/>; empty for nothing.</summary>
    public string Render(ProgressMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        bool hasBar = message.ProgressDetail is { HasProgress: true } || !string.IsNullOrEmpty(message.Progress);
        if (!terminal)
        {
            return hasBar ? "" : PlainLine(message);
        }

        var text = new StringBuilder();
        int up = 0;
        if (!string.IsNullOrEmpty(message.Id) && (message.ProgressDetail is not null || !string.IsNullOrEmpty(message.Progress)))
        {
            if (!_lines.TryGetValue(message.Id, out int line))
            {
                line = _lines.Count;
                _lines[message.Id] = line;
                text.Append('\n');
            }

            up = _lines.Count - line;
            text.Append(Escape).Append(up).Append('A');
        }
        else
        {
            // A line that is not a layer's (a tag, a digest, a status) starts a new block below.
            _lines.Clear();
        }

        if (message.ProgressDetail is not null || !string.IsNullOrEmpty(message.Progress))
        {
            text.Append(Escape).Append("2K\r");
            if (!string.IsNullOrEmpty(message.Id))
            {
                text.Append(message.Id).Append(": ");
            }

            text.Append(message.Status);
            string bar = message.ProgressDetail is { HasProgress: true } detail ? detail.Render(width) : message.Progress ?? "";
            if (bar.Length > 0)
            {
                text.Append(' ').Append(bar);
            }

            text.Append('\r');
        }
        else
        {
            text.Append(PlainLine(message));
        }

        if (up > 0)
        {
            text.Append(Escape).Append(up).Append('B');
        }

        return text.ToString();
    }

    private static string PlainLine(ProgressMessage message)
    {
        if (message.Stream is { Length: > 0 } stream)
        {
            return stream;
        }

        if (string.IsNullOrEmpty(message.Status))
        {
            return "";
        }

        return (string.IsNullOrEmpty(message.Id) ? "" : message.Id + ": ") + message.Status + "\n";
    }
}
