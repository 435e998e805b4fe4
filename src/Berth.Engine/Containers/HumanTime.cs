namespace Berth.Engine.Containers;

/// <summary>Docker's human durations ("Up 3 seconds", "Exited (0) 2 minutes ago").</summary>
public static class HumanTime
{
    public static string Duration(TimeSpan d)
    {
        double seconds = d.TotalSeconds;
        if (seconds < 1)
        {
            return "Less than a second";
        }

        if (seconds < 60)
        {
            return seconds < 2 ? "1 second" : $"{(int)seconds} seconds";
        }

        double minutes = d.TotalMinutes;
        if (minutes < 60)
        {
            return (int)minutes == 1 ? "About a minute" : $"{(int)minutes} minutes";
        }

        // go-units rounds the hours, and compares the rounded value for days, weeks and months too.
        int hours = (int)(d.TotalHours + 0.5);
        if (hours == 1)
        {
            return "About an hour";
        }

        if (hours < 48)
        {
            return $"{hours} hours";
        }

        if (hours < 24 * 7 * 2)
        {
            return $"{hours / 24} days";
        }

        if (hours < 24 * 30 * 2)
        {
            return $"{hours / 24 / 7} weeks";
        }

        if (hours < 24 * 365 * 2)
        {
            return $"{hours / 24 / 30} months";
        }

        return $"{(int)d.TotalHours / 24 / 365} years";
    }
}
