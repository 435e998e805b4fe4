using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>Marks a test that must run after the others of its class (an audit of what they left behind).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RunLastAttribute : Attribute;

/// <summary>Keeps xunit's order, except that <see cref="RunLastAttribute"/> tests come last.</summary>
public sealed class RunLastOrderer : ITestCaseOrderer
{
    public const string TypeName = "Berth.IntegrationTests.Infrastructure.RunLastOrderer";
    public const string AssemblyName = "Berth.IntegrationTests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases.OrderBy(c => c.TestMethod.Method.GetCustomAttributes(typeof(RunLastAttribute)).Any() ? 1 : 0);
}
