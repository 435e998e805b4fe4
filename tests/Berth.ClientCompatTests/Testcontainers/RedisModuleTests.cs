using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace Berth.ClientCompatTests.Testcontainers;

/// <summary>The Testcontainers.Redis module, unchanged (its readiness check and connection string), and a real Redis client.</summary>
public sealed class RedisModuleTests
{
    private readonly DaemonFixture _fixture;

    public RedisModuleTests(DaemonFixture fixture)
    {
        _fixture = fixture;
        TestcontainersSetup.Configure(fixture);
    }

    [Fact]
    public async Task The_module_starts_redis_and_StackExchange_Redis_sets_and_gets()
    {
        await ModuleImages.EnsureAsync(_fixture, ModuleImages.Redis);
        RedisContainer redis = new RedisBuilder(ModuleImages.Redis).Build();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await redis.StartAsync(cts.Token);

            await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.GetConnectionString());
            IDatabase db = connection.GetDatabase();
            string key = Names.Unique("key");
            Assert.True(await db.StringSetAsync(key, "stored through berthd"));
            Assert.Equal("stored through berthd", (string?)await db.StringGetAsync(key));
            Assert.Equal(2, await db.StringIncrementAsync(key + ":n", 2));
            // The server the client found is Debian's redis-server 7.0, in the container.
            IServer server = connection.GetServer(connection.GetEndPoints()[0]);
            Assert.Equal(new Version(7, 0), new Version(server.Version.Major, server.Version.Minor));
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }
}
