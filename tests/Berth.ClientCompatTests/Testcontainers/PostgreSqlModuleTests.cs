using Berth.ClientCompatTests.Infrastructure;
using Berth.IntegrationTests.Infrastructure;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Berth.ClientCompatTests.Testcontainers;

/// <summary>The Testcontainers.PostgreSql module, unchanged (environment, server flags, pg_isready wait), and a real Npgsql client.</summary>
public sealed class PostgreSqlModuleTests(DaemonFixture fixture) : TestcontainersTest(fixture)
{
    [Fact]
    public async Task The_module_starts_postgres_and_Npgsql_creates_a_table_and_queries_it()
    {
        await ModuleImages.EnsureAsync(Fixture, ModuleImages.PostgreSql);
        PostgreSqlContainer postgres = new PostgreSqlBuilder(ModuleImages.PostgreSql).WithDatabase("berthdb").WithUsername("berth").WithPassword("s3cret").Build();

        await RunAsync(postgres, TimeSpan.FromSeconds(120), async (container, ct) =>
        {
            await using var connection = new NpgsqlConnection(container.GetConnectionString());
            await connection.OpenAsync(ct);
            await using (var create = new NpgsqlCommand("CREATE TABLE ships (name text PRIMARY KEY, berth int NOT NULL)", connection))
            {
                await create.ExecuteNonQueryAsync(ct);
            }

            await using (var insert = new NpgsqlCommand("INSERT INTO ships VALUES ('aurora', 7), ('borealis', 3)", connection))
            {
                Assert.Equal(2, await insert.ExecuteNonQueryAsync(ct));
            }

            await using var query = new NpgsqlCommand("SELECT name FROM ships WHERE berth > 5", connection);
            Assert.Equal("aurora", await query.ExecuteScalarAsync(ct));
            // The module's settings arrived: its user and database, and its server flags (-c fsync=off ...).
            await using var who = new NpgsqlCommand("SELECT current_user || '@' || current_database() || ' ' || current_setting('fsync')", connection);
            Assert.Equal("berth@berthdb off", await who.ExecuteScalarAsync(ct));
        });
    }
}
