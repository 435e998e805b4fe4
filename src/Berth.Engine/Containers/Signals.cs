using Berth.Primitives;

namespace Berth.Engine.Containers;

/// <summary>Signal names and numbers as Docker accepts them: <c>KILL</c>, <c>SIGKILL</c> or <c>9</c>.</summary>
public static class Signals
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    private static readonly Dictionary<string, int> Numbers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["BUS"] = 7, ["FPE"] = 8,
        ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12, ["PIPE"] = 13, ["ALRM"] = 14, ["TERM"] = 15,
        ["STKFLT"] = 16, ["CHLD"] = 17, ["CONT"] = 18, ["STOP"] = 19, ["TSTP"] = 20, ["TTIN"] = 21, ["TTOU"] = 22,
        ["URG"] = 23, ["XCPU"] = 24, ["XFSZ"] = 25, ["VTALRM"] = 26, ["PROF"] = 27, ["WINCH"] = 28, ["IO"] = 29,
        ["PWR"] = 30, ["SYS"] = 31,
    };

    public static int Parse(string? text, int fallback)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (int.TryParse(text, out int number) && number is > 0 and < 65)
        {
            return number;
        }

        string name = text.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? text[3..] : text;
        return Numbers.TryGetValue(name, out int value) ? value : throw EngineException.Invalid($"Invalid signal: {text}");
    }
}
