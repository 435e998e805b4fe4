// The assembly-fixture framework (IntegrationTestFramework.cs, also linked into Berth.ClientCompatTests) is named per assembly.
[assembly: TestFramework("Berth.IntegrationTests.Infrastructure.IntegrationTestFramework", "Berth.IntegrationTests")]
