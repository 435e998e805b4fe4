using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace Berth.ClientCompatTests.Testcontainers;

/// <summary>The Testcontainers.Redis module, unchanged (its readiness check and connection string), and a real Redis client.</summary>
public sealed class RedisModuleTests(DaemonFixture fixture) : TestcontainersTest(fixture)
{
    [Fact]
    public async Task The_module_starts_redis_and_StackExchange_Redis_sets_and_gets()
    {
        await ModuleImages.EnsureAsync(Fixture, ModuleImages.Redis);

        await RunAsync(new RedisBuilder(ModuleImages.Redis).Build(), TimeSpan.FromSeconds(90), async (redis, _) =>
        {
            await using ConnectionMultiplexer connection = await ConnectionMultiplexer.ConnectAsync(redis.GetConnectionString());
            IDatabase db = connection.GetDatabase();
            string key = Names.Unique("key");
            Assert.True(await db.StringSetAsync(key, "stored through berthd"));
            Assert.Equal("stored through berthd", (string?)await db.StringGetAsync(key));
            Assert.Equal(2, await db.StringIncrementAsync(key + ":n", 2));
            // The server the client found is Debian's redis-server 7.0, in the container.
            IServer server = connection.GetServer(connection.GetEndPoints()[0]);
            Assert.Equal(new Version(7, 0), new Version(server.Version.Major, server.Version.Minor));
        });
    }
}
