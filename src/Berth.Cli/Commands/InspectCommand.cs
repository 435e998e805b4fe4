using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api.Client;
using Berth.Cli.Parsing;
using Berth.Cli.Templates;

namespace Berth.Cli.Commands;

/// <summary><c>berth inspect</c>: containers, then images (what Berth has so far), printed as docker does.</summary>
internal static class InspectCommand
{
    public static CommandSpec Create() => new()
    {
        Name = "inspect",
        Usage = "[OPTIONS] NAME|ID [NAME|ID...]",
        Summary = "Return low-level information on Berth objects",
        MinArgs = 1,
        DefineFlags = f => f
            .String("format", 'f', SystemCommands.FormatUsage)
            .Bool("size", 's', "Display total file sizes if the type is container")
            .String("type", null, "Only inspect objects of the given type"),
        Handler = (ctx, p) => InspectAsync(ctx, p.Positionals, p.String("format"), p.String("type"), p.Bool("size")),
    };

    /// <summary>
    /// Prints the objects as a JSON array indented like docker (the daemon's JSON re-indented, not
    /// re-encoded), or one template result per object. Objects that are not found are reported after
    /// the output and make the exit code 1.
    /// </summary>
    /// <param name="type">null for any, "container" or "image".</param>
    public static Task<int> InspectAsync(CommandContext ctx, IReadOnlyList<string> names, string? format, string? type, bool size)
    {
        if (type is not (null or "" or "container" or "image"))
        {
            throw new StatusException(1, $"\"{type}\" is not a valid value for --type");
        }

        return RenderAsync(ctx, names, format, (name, errors) => FindAsync(ctx, name, type, size, errors));
    }

    /// <summary>
    /// The output of every <c>inspect</c> command: <paramref name="find"/> gives each object's JSON as the daemon sent it
    /// (or null, having added why to the errors); they print as one indented array or one template result each.
    /// </summary>
    public static async Task<int> RenderAsync(CommandContext ctx, IReadOnlyList<string> names, string? format, Func<string, List<string>, Task<string?>> find)
    {
        GoTemplate? template = null;
        if (!string.IsNullOrEmpty(format))
        {
            template = ListFormat.ParseForCli(ListFormat.Prepare(format == ListFormat.JsonKey ? "{{json .}}" : format));
        }

        var raws = new List<string>();
        var output = new StringBuilder();
        var errors = new List<string>();
        foreach (string name in names)
        {
            string? raw = await find(name, errors).ConfigureAwait(false);
            if (raw is null)
            {
                continue;
            }

            if (template is null)
            {
                raws.Add(raw);
                continue;
            }

            try
            {
                output.Append(template.Execute(JsonNode.Parse(raw))).Append('\n');
            }
            catch (TemplateException e)
            {
                errors.Add(e.Message);
            }
        }

        if (template is null)
        {
            output.Append(raws.Count == 0 ? "[]" : JsonIndent.Indent("[" + string.Join(",", raws) + "]")).Append('\n');
        }

        await ctx.Out.WriteAsync(output.ToString()).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            await ctx.Out.FlushAsync(ctx.Cancellation).ConfigureAwait(false);
            throw new StatusException(1, string.Join("\n", errors));
        }

        return 0;
    }

    /// <summary>A <see cref="RenderAsync"/> finder over one API call; a 404 is reported as <paramref name="notFound"/> says.</summary>
    public static Func<string, List<string>, Task<string?>> Finder(CommandContext ctx, Func<string, CancellationToken, Task<JsonDocument>> fetch, Func<string, string>? notFound = null) =>
        async (name, errors) =>
        {
            try
            {
                using JsonDocument doc = await fetch(name, ctx.Cancellation).ConfigureAwait(false);
                return doc.RootElement.GetRawText();
            }
            catch (BerthApiException e) when (notFound is not null && e.IsNotFound)
            {
                errors.Add(notFound(name));
            }
            catch (BerthApiException e)
            {
                errors.Add(e.Message);
            }

            return null;
        };

    private static async Task<string?> FindAsync(CommandContext ctx, string name, string? type, bool size, List<string> errors)
    {
        if (type is null or "" or "container")
        {
            try
            {
                using JsonDocument doc = await ctx.Client.InspectContainerJsonAsync(name, size, ctx.Cancellation).ConfigureAwait(false);
                return doc.RootElement.GetRawText();
            }
            catch (BerthApiException e) when (e.IsNotFound && type is null or "")
            {
                // Not a container: try an image.
            }
            catch (BerthApiException e)
            {
                errors.Add(e.Message);
                return null;
            }
        }

        try
        {
            using JsonDocument doc = await ctx.Client.InspectImageJsonAsync(name, ctx.Cancellation).ConfigureAwait(false);
            return doc.RootElement.GetRawText();
        }
        catch (BerthApiException e) when (e.IsNotFound && type is null or "")
        {
            errors.Add($"Error: No such object: {name}");
        }
        catch (BerthApiException e)
        {
            errors.Add(e.Message);
        }

        return null;
    }
}
