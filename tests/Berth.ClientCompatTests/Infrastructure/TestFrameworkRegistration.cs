// The integration tests' assembly-fixture framework (linked in): one berthd for the whole assembly, test classes in parallel.
[assembly: TestFramework("Berth.IntegrationTests.Infrastructure.IntegrationTestFramework", "Berth.ClientCompatTests")]
