using System.Text;

namespace Berth.Cli;

/// <summary>
/// Go's <c>text/tabwriter</c> (left-aligned, padding with spaces, no flags): cells are tab-terminated,
/// the text after a line's last tab is not part of a column, and a column is sized over the block of
/// consecutive lines that have a cell in it. Docker's tables use minwidth 10, padding 3;
/// <c>docker version</c> uses minwidth 20, padding 1.
/// </summary>
internal sealed class TabWriter(int minWidth, int padding)
{
    private readonly List<List<string>> _lines = [[]];
    private readonly StringBuilder _cell = new();
    private readonly StringBuilder _output = new();
    private readonly List<int> _widths = [];

    /// <summary>Docker's table layout.</summary>
    public static TabWriter ForTables() => new(10, 3);

    public void Write(string text)
    {
        foreach (char c in text)
        {
            switch (c)
            {
                case '\t':
                    _lines[^1].Add(_cell.ToString());
                    _cell.Clear();
                    break;
                case '\n':
                    _lines[^1].Add(_cell.ToString());
                    _cell.Clear();
                    bool single = _lines[^1].Count == 1;
                    _lines.Add([]);
                    if (single)
                    {
                        // A line without tabs ends every column block (Go flushes here).
                        FlushLines();
                    }

                    break;
                default:
                    _cell.Append(c);
                    break;
            }
        }
    }

    /// <summary>Lays out what was written and returns it; the writer is empty afterwards.</summary>
    public string Flush()
    {
        FlushLines();
        if (_cell.Length > 0)
        {
            _output.Append(_cell);
            _cell.Clear();
        }

        string result = _output.ToString();
        _output.Clear();
        return result;
    }

    private void FlushLines()
    {
        // The last line is still open (no newline yet): lay out only the complete ones.
        List<string> open = _lines[^1];
        _lines.RemoveAt(_lines.Count - 1);
        Format(0, _lines.Count);
        _lines.Clear();
        _lines.Add(open);
    }

    /// <summary>Go's <c>format</c>: every line is written exactly once, with the widths of the column blocks it belongs to.</summary>
    private void Format(int line0, int line1)
    {
        int column = _widths.Count;
        for (int current = line0; current < line1; current++)
        {
            if (column >= _lines[current].Count - 1)
            {
                continue;
            }

            // A cell exists in this column: it starts a block of lines that all have one.
            WriteLines(line0, current);
            line0 = current;
            int width = minWidth;
            for (; current < line1; current++)
            {
                List<string> line = _lines[current];
                if (column >= line.Count - 1)
                {
                    break;
                }

                width = Math.Max(width, GoStrings.Width(line[column]) + padding);
            }

            _widths.Add(width);
            Format(line0, current);
            _widths.RemoveAt(_widths.Count - 1);
            line0 = current;
        }

        WriteLines(line0, line1);
    }

    private void WriteLines(int line0, int line1)
    {
        for (int i = line0; i < line1; i++)
        {
            List<string> line = _lines[i];
            for (int j = 0; j < line.Count; j++)
            {
                string cell = line[j];
                _output.Append(cell);
                if (j < _widths.Count && j < line.Count - 1)
                {
                    _output.Append(' ', Math.Max(0, _widths[j] - GoStrings.Width(cell)));
                }
            }

            _output.Append('\n');
        }
    }
}
