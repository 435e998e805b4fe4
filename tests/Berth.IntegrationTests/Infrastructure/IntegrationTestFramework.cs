using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Berth.IntegrationTests.Infrastructure;

/// <summary>
/// xunit 2 with assembly fixtures: <see cref="DaemonFixture"/> is created once, before the first collection runs (and only
/// when some selected test class asks for it), handed to every test class constructor that takes one, whatever its
/// collection, and disposed after the last collection, so collections run in parallel against one daemon. Each test
/// assembly that compiles this file (Berth.ClientCompatTests links it) registers it in its TestFrameworkRegistration.cs.
/// </summary>
public sealed class IntegrationTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName assemblyName, ISourceInformationProvider sourceInformationProvider, IMessageSink diagnosticMessageSink)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformationProvider, diagnosticMessageSink)
    {
        protected override async void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        {
            using var runner = new AssemblyRunner(TestAssembly, testCases, DiagnosticMessageSink, executionMessageSink, executionOptions);
            await runner.RunAsync();
        }
    }

    private sealed class AssemblyRunner(
        ITestAssembly testAssembly, IEnumerable<IXunitTestCase> testCases, IMessageSink diagnosticMessageSink, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        : XunitTestAssemblyRunner(testAssembly, testCases, diagnosticMessageSink, executionMessageSink, executionOptions)
    {
        private readonly Dictionary<Type, object> _fixtures = [];
        private Exception? _fixtureFailure;

        protected override async Task AfterTestAssemblyStartingAsync()
        {
            await base.AfterTestAssemblyStartingAsync();
            if (!TestCases.Any(c => Wants(c.TestMethod.TestClass.Class.ToRuntimeType(), typeof(DaemonFixture))))
            {
                return;
            }

            var fixture = new DaemonFixture();
            _fixtures[typeof(DaemonFixture)] = fixture; // even when it failed to start: its dispose cleans up
            try
            {
                await fixture.InitializeAsync();
            }
            catch (Exception e)
            {
                _fixtureFailure = e;
            }
        }

        protected override async Task BeforeTestAssemblyFinishedAsync()
        {
            foreach (object fixture in _fixtures.Values)
            {
                if (fixture is IAsyncLifetime lifetime)
                {
                    await Aggregator.RunAsync(lifetime.DisposeAsync);
                }
            }

            await base.BeforeTestAssemblyFinishedAsync();
        }

        protected override Task<RunSummary> RunTestCollectionAsync(IMessageBus messageBus, ITestCollection testCollection, IEnumerable<IXunitTestCase> testCases, CancellationTokenSource cancellationTokenSource)
        {
            var aggregator = new ExceptionAggregator(Aggregator);
            if (_fixtureFailure is not null && testCases.Any(c => Wants(c.TestMethod.TestClass.Class.ToRuntimeType(), typeof(DaemonFixture))))
            {
                aggregator.Add(_fixtureFailure); // every test of the collection fails with the reason the daemon did not start
            }

            return new CollectionRunner(_fixtures, testCollection, testCases, DiagnosticMessageSink, messageBus, TestCaseOrderer, aggregator, cancellationTokenSource).RunAsync();
        }

        private static bool Wants(Type testClass, Type fixture) =>
            testClass.GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == fixture));
    }

    private sealed class CollectionRunner(
        Dictionary<Type, object> assemblyFixtures, ITestCollection testCollection, IEnumerable<IXunitTestCase> testCases, IMessageSink diagnosticMessageSink,
        IMessageBus messageBus, ITestCaseOrderer testCaseOrderer, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
        : XunitTestCollectionRunner(testCollection, testCases, diagnosticMessageSink, messageBus, testCaseOrderer, aggregator, cancellationTokenSource)
    {
        protected override Task<RunSummary> RunTestClassAsync(ITestClass testClass, IReflectionTypeInfo @class, IEnumerable<IXunitTestCase> testCases)
        {
            var fixtures = new Dictionary<Type, object>(CollectionFixtureMappings);
            foreach ((Type type, object fixture) in assemblyFixtures)
            {
                fixtures.TryAdd(type, fixture);
            }

            return new XunitTestClassRunner(testClass, @class, testCases, DiagnosticMessageSink, MessageBus, TestCaseOrderer, new ExceptionAggregator(Aggregator), CancellationTokenSource, fixtures).RunAsync();
        }
    }
}
