using Berth.Api.Client;
using Berth.Cli.Parsing;

namespace Berth.Cli.Options;

/// <summary>The <c>-f, --filter</c> flag: each KEY=VALUE into the API's filters, a malformed one refused as docker words it.</summary>
internal static class FilterFlags
{
    public static ApiFilters Parse(ParsedArgs p)
    {
        var filters = new ApiFilters();
        foreach (string f in p.List("filter"))
        {
            try
            {
                filters.AddArgument(f);
            }
            catch (FormatException e)
            {
                throw new StatusException(125, $"invalid argument \"{f}\" for \"-f, --filter\" flag: {e.Message}");
            }
        }

        return filters;
    }
}
