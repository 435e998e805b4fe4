using System.Reflection;

namespace Berth.UnitTests;

/// <summary>
/// The arrows of docs/architecture.md, checked on the compiled assemblies: each rule fails when a reference
/// points the wrong way. The product assemblies are loaded from the test output directory, where the project
/// references (exes included) put them.
/// </summary>
public class ArchitectureTests
{
    /// <summary>Every product assembly, by file name (the exes have their own names).</summary>
    private static readonly string[] ProductFiles =
    [
        "Berth.Primitives.dll", "Berth.Interop.dll", "Berth.Storage.dll", "Berth.Images.dll", "Berth.Runtime.dll",
        "Berth.Build.dll", "Berth.Engine.dll", "Berth.Api.Types.dll", "Berth.Api.Client.dll", "Berth.Api.Server.dll",
        "berth.dll", "berth-monitor.dll", "berthd.dll",
    ];

    private static readonly string[] Core =
        ["Berth.Engine", "Berth.Build", "Berth.Images", "Berth.Runtime", "Berth.Storage", "Berth.Primitives", "Berth.Interop"];

    private static readonly Lazy<IReadOnlyDictionary<string, Assembly>> Loaded = new(LoadProduct);

    private static IReadOnlyDictionary<string, Assembly> Assemblies => Loaded.Value;

    private static IReadOnlyDictionary<string, Assembly> LoadProduct()
    {
        string dir = AppContext.BaseDirectory;
        var found = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        IEnumerable<string> files = ProductFiles.Select(f => Path.Combine(dir, f))
            .Concat(Directory.EnumerateFiles(dir, "Berth.*.dll"))
            .Where(f => !Path.GetFileName(f).EndsWith("Tests.dll", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal);
        foreach (string file in files)
        {
            Assert.True(File.Exists(file), $"{file} is missing: reference its project from Berth.UnitTests");
            Assembly assembly = Assembly.LoadFrom(file);
            found[assembly.GetName().Name!] = assembly;
        }

        return found;
    }

    private static Assembly Get(string name) =>
        Assemblies.TryGetValue(name, out Assembly? assembly) ? assembly : throw new InvalidOperationException($"assembly {name} not loaded");

    private static string[] References(string name) =>
        [.. Get(name).GetReferencedAssemblies().Select(r => r.Name!).Order(StringComparer.Ordinal)];

    private static bool IsProduct(string referenced) =>
        referenced.StartsWith("Berth.", StringComparison.Ordinal) || referenced is "berth" or "berth-monitor" or "berthd";

    [Fact]
    public void EveryProductAssemblyIsInspected()
    {
        foreach (string name in Core.Concat(["Berth.Api.Types", "Berth.Api.Client", "Berth.Api.Server", "berth", "berth-monitor", "berthd"]))
        {
            Assert.True(Assemblies.ContainsKey(name), $"{name} was not loaded");
        }
    }

    [Fact]
    public void CoreLibrariesDoNotReferenceAspNetCore()
    {
        foreach (string name in Core)
        {
            string[] web = [.. References(name).Where(r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal))];
            Assert.True(web.Length == 0, $"{name} references {string.Join(", ", web)}");
        }
    }

    [Fact]
    public void CoreLibrariesDoNotReferenceTheApiOrTheHosts()
    {
        foreach (string name in Core)
        {
            string[] upward = [.. References(name).Where(r => r.StartsWith("Berth.Api.", StringComparison.Ordinal) && r != "Berth.Api.Types" || r is "berth" or "berthd" or "berth-monitor")];
            Assert.True(upward.Length == 0, $"{name} references {string.Join(", ", upward)}");
        }

        foreach (string name in Core.Where(n => n != "Berth.Engine"))
        {
            Assert.DoesNotContain("Berth.Engine", References(name));
        }
    }

    [Fact]
    public void CliTalksOnlyToTheApiClient()
    {
        string[] berth = [.. References("berth").Where(IsProduct)];

        Assert.True(
            berth.All(r => r is "Berth.Api.Client" or "Berth.Api.Types" or "Berth.Compose"),
            $"berth (Berth.Cli) references {string.Join(", ", berth)}; only Berth.Api.Client, Berth.Api.Types and Berth.Compose are allowed");
        Assert.Contains("Berth.Api.Client", berth);
    }

    [Fact]
    public void ComposeIsAClientOfTheApiOnly()
    {
        // Compose orchestrates on the client side, as Docker Compose v2 does: it reaches berthd only through the API client.
        string[] compose = [.. References("Berth.Compose").Where(IsProduct)];

        Assert.True(
            compose.All(r => r is "Berth.Api.Client" or "Berth.Api.Types"),
            $"Berth.Compose references {string.Join(", ", compose)}; only Berth.Api.Client and Berth.Api.Types are allowed");
    }

    [Fact]
    public void PrimitivesReferenceNoOtherBerthAssembly()
    {
        Assert.DoesNotContain(References("Berth.Primitives"), IsProduct);
    }

    [Fact]
    public void ApiServerDoesNotReachPastTheEngine()
    {
        string[] forbidden = ["Berth.Interop", "Berth.Storage", "Berth.Runtime"];

        string[] found = [.. References("Berth.Api.Server").Intersect(forbidden)];

        Assert.True(found.Length == 0, $"Berth.Api.Server references {string.Join(", ", found)} directly; go through a narrow Berth.Engine interface");
    }

    [Fact]
    public void MonitorReferencesOnlyInteropAndPrimitives()
    {
        string[] monitor = [.. References("berth-monitor").Where(IsProduct)];

        Assert.True(
            monitor.All(r => r is "Berth.Interop" or "Berth.Primitives"),
            $"berth-monitor references {string.Join(", ", monitor)}");
    }

    [Fact]
    public void ApiTypesAndClientStayFreeOfTheEngine()
    {
        Assert.DoesNotContain(References("Berth.Api.Types"), IsProduct);
        Assert.True(References("Berth.Api.Client").Where(IsProduct).All(r => r == "Berth.Api.Types"), string.Join(", ", References("Berth.Api.Client")));
    }

    [Fact]
    public void OnlyInteropDeclaresPInvokes()
    {
        var offenders = new List<string>();
        int interopCount = 0;
        foreach ((string name, Assembly assembly) in Assemblies)
        {
            foreach (MethodInfo method in PInvokes(assembly))
            {
                if (name == "Berth.Interop")
                {
                    interopCount++;
                }
                else
                {
                    offenders.Add($"{name}: {method.DeclaringType?.FullName}.{method.Name}");
                }
            }
        }

        Assert.True(offenders.Count == 0, "P/Invoke outside Berth.Interop:\n" + string.Join('\n', offenders));
        Assert.True(interopCount > 0, "the scan found no P/Invoke in Berth.Interop itself, so it would miss them elsewhere too");
    }

    private static IEnumerable<MethodInfo> PInvokes(Assembly assembly)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        Type[] types;
        try
        {
            types = assembly.GetTypes(); // nested types included, so LibraryImport's generated stubs are too
        }
        catch (ReflectionTypeLoadException e)
        {
            throw new InvalidOperationException($"cannot read the types of {assembly.GetName().Name}: {string.Join("; ", e.LoaderExceptions.Select(x => x?.Message))}", e);
        }

        return types
            .SelectMany(t => t.GetMethods(all))
            .Where(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0);
    }
}
