using System.Text;

namespace Berth.Cli.Commands;

/// <summary>
/// How <c>berth build</c> shows the build stream. Plain (<c>--progress plain</c>, or output that is not a terminal):
/// the classic builder's lines as they come. Live (<c>--progress tty</c>): the step lines and their results stay,
/// while a step's command output shows in a small window of its last lines that redraws in place and folds away
/// when the step ends; a failing step's window stays on screen.
/// </summary>
internal sealed class BuildProgressDisplay(TextWriter output, bool live) : IDisposable
{
    /// <summary>How many of the running step's last output lines the window shows.</summary>
    public const int WindowLines = 6;

    private const int MaxWidth = 110;
    private const string Dim = "\u001b[2m";
    private const string Reset = "\u001b[0m";

    private readonly Queue<string> _window = new();
    private readonly StringBuilder _partial = new();
    private int _drawn;
    private bool _inStep;

    public void Dispose()
    {
    }

    public async Task WriteAsync(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!live)
        {
            // Flushed at once: a step's output is worth seeing while the step runs.
            await output.WriteAsync(text).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
            return;
        }

        _partial.Append(text);
        string buffered = _partial.ToString();
        int newline = buffered.LastIndexOf('\n');
        if (newline >= 0)
        {
            _partial.Clear().Append(buffered, newline + 1, buffered.Length - newline - 1);
            foreach (string line in buffered[..newline].Split('\n'))
            {
                Line(line);
            }
        }

        await RedrawAsync().ConfigureAwait(false);
    }

    /// <summary>One complete line: a step or result line is kept, command output goes to the window.</summary>
    private void Line(string line)
    {
        bool status = line.StartsWith("Step ", StringComparison.Ordinal) || line.StartsWith(" ---> ", StringComparison.Ordinal)
            || line.StartsWith("Removing intermediate container", StringComparison.Ordinal) || line.StartsWith("Successfully ", StringComparison.Ordinal)
            || line.StartsWith("# Executing", StringComparison.Ordinal);
        if (!status && _inStep)
        {
            _window.Enqueue(line);
            while (_window.Count > WindowLines)
            {
                _window.Dequeue();
            }

            return;
        }

        // A status line ends the output of the step that ran (its window folds away) and stays on screen.
        _window.Clear();
        Erase();
        output.Write(line + "\n");
        _inStep = line.StartsWith(" ---> Running in ", StringComparison.Ordinal);
    }

    private void Erase()
    {
        for (; _drawn > 0; _drawn--)
        {
            output.Write("\u001b[1A\u001b[2K");
        }
    }

    private async Task RedrawAsync()
    {
        Erase();
        IEnumerable<string> lines = _partial.Length > 0 && _inStep ? [.. _window, _partial.ToString()] : _window;
        foreach (string line in lines.TakeLast(WindowLines))
        {
            string shown = line.Replace('\r', ' ').Replace('\t', ' ');
            output.Write(Dim + " | " + (shown.Length > MaxWidth ? shown[..MaxWidth] : shown) + Reset + "\n");
            _drawn++;
        }

        await output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>The build failed: the failing step's output stays, in full lines, above the error.</summary>
    public async Task FailAsync()
    {
        if (!live)
        {
            return;
        }

        if (_partial.Length > 0)
        {
            _window.Enqueue(_partial.ToString());
            _partial.Clear();
        }

        Erase();
        foreach (string line in _window)
        {
            output.Write(line + "\n");
        }

        _window.Clear();
        await output.FlushAsync().ConfigureAwait(false);
    }

    public async Task FinishAsync()
    {
        if (live)
        {
            _window.Clear();
            Erase();
            if (_partial.Length > 0)
            {
                output.Write(_partial + "\n");
                _partial.Clear();
            }

            await output.FlushAsync().ConfigureAwait(false);
        }
    }
}
