using Berth.Engine.Containers;
using Berth.Primitives;

namespace Berth.UnitTests;

public class HumanTimeTests
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly TimeSpan Week = 7 * Day;
    private static readonly TimeSpan Month = 30 * Day;
    private static readonly TimeSpan Year = 365 * Day;

    public static TheoryData<TimeSpan, string> GoUnitsCases => new()
    {
        // docker/go-units duration_test.go TestHumanDuration, case for case.
        { TimeSpan.FromMilliseconds(450), "Less than a second" },
        { TimeSpan.Zero, "Less than a second" },
        { TimeSpan.FromSeconds(1), "1 second" },
        { TimeSpan.FromSeconds(45), "45 seconds" },
        { TimeSpan.FromSeconds(46), "46 seconds" },
        { TimeSpan.FromSeconds(59), "59 seconds" },
        { TimeSpan.FromSeconds(60), "About a minute" },
        { TimeSpan.FromMinutes(3), "3 minutes" },
        { TimeSpan.FromMinutes(35), "35 minutes" },
        { TimeSpan.FromMinutes(35) + TimeSpan.FromSeconds(40), "35 minutes" },
        { TimeSpan.FromMinutes(45), "45 minutes" },
        { TimeSpan.FromMinutes(45) + TimeSpan.FromSeconds(40), "45 minutes" },
        { TimeSpan.FromMinutes(46), "46 minutes" },
        { TimeSpan.FromMinutes(59), "59 minutes" },
        { TimeSpan.FromHours(1), "About an hour" },
        { TimeSpan.FromHours(1) + TimeSpan.FromMinutes(29), "About an hour" },
        { TimeSpan.FromHours(1) + TimeSpan.FromMinutes(31), "2 hours" },
        { TimeSpan.FromHours(1) + TimeSpan.FromMinutes(59), "2 hours" },
        { TimeSpan.FromHours(3), "3 hours" },
        { TimeSpan.FromHours(3) + TimeSpan.FromMinutes(29), "3 hours" },
        { TimeSpan.FromHours(3) + TimeSpan.FromMinutes(31), "4 hours" },
        { TimeSpan.FromHours(3) + TimeSpan.FromMinutes(59), "4 hours" },
        { TimeSpan.FromHours(3) + TimeSpan.FromMinutes(60), "4 hours" },
        { TimeSpan.FromHours(24), "24 hours" },
        { Day + TimeSpan.FromHours(12), "36 hours" },
        { 2 * Day, "2 days" },
        { 7 * Day, "7 days" },
        { 13 * Day + TimeSpan.FromHours(5), "13 days" },
        { 2 * Week, "2 weeks" },
        { 2 * Week + 4 * Day, "2 weeks" },
        { 3 * Week, "3 weeks" },
        { 4 * Week, "4 weeks" },
        { 4 * Week + 3 * Day, "4 weeks" },
        { Month, "4 weeks" },
        { Month + 2 * Week, "6 weeks" },
        { 2 * Month, "2 months" },
        { 2 * Month + 2 * Week, "2 months" },
        { 3 * Month, "3 months" },
        { 3 * Month + Week, "3 months" },
        { 5 * Month + 2 * Week, "5 months" },
        { 13 * Month, "13 months" },
        { 23 * Month, "23 months" },
        { 24 * Month, "24 months" },
        { 24 * Month + 2 * Week, "2 years" },
        { 3 * Year + 2 * Month, "3 years" },
        // Rounded hours decide the larger units too: 47h40m is 48 hours, so "2 days".
        { TimeSpan.FromHours(47) + TimeSpan.FromMinutes(40), "2 days" },
    };

    [Theory]
    [MemberData(nameof(GoUnitsCases))]
    public void DurationMatchesDockersHumanDuration(TimeSpan duration, string expected)
    {
        Assert.Equal(expected, HumanTime.Duration(duration));
    }
}

public class SignalsTests
{
    [Theory]
    [InlineData("KILL", 9)]
    [InlineData("SIGKILL", 9)]
    [InlineData("kill", 9)]
    [InlineData("sigkill", 9)]
    [InlineData("9", 9)]
    [InlineData("TERM", 15)]
    [InlineData("SIGTERM", 15)]
    [InlineData("15", 15)]
    [InlineData("HUP", 1)]
    [InlineData("SIGUSR1", 10)]
    [InlineData("USR2", 12)]
    [InlineData("SIGWINCH", 28)]
    [InlineData("64", 64)]
    public void ParsesNamesAndNumbers(string text, int expected)
    {
        Assert.Equal(expected, Signals.Parse(text, fallback: -1));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void MissingSignalIsTheFallback(string? text)
    {
        Assert.Equal(Signals.SIGTERM, Signals.Parse(text, Signals.SIGTERM));
        Assert.Equal(Signals.SIGKILL, Signals.Parse(text, Signals.SIGKILL));
    }

    [Theory]
    [InlineData("NOPE")]
    [InlineData("SIGNOPE")]
    [InlineData("0")]
    [InlineData("-9")]
    [InlineData("65")]
    [InlineData("SIG")]
    [InlineData("9x")]
    public void InvalidSignalsAreInvalidArgument(string text)
    {
        EngineException e = Assert.Throws<EngineException>(() => Signals.Parse(text, Signals.SIGTERM));

        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal($"Invalid signal: {text}", e.Message);
    }
}
