using Microsoft.Data.Sqlite;

namespace Berth.Storage.Metadata;

/// <summary>
/// Transactional metadata in SQLite (WAL journal): every change is one transaction, so a daemon killed at any
/// moment restarts with either the old or the new state, never half of one. Documents are JSON owned by the
/// engine; this store only keeps them, their keys and the uniqueness rules (container names, tags).
/// </summary>
/// <remarks>
/// Vocabulary: a <em>container</em> row is keyed by its 64-hex id and has a unique name ("/web");
/// an <em>image</em> row is keyed by its id (the config digest); a <em>tag</em> maps a normalised
/// reference (<c>docker.io/library/busybox:latest</c>) to one image id; a <em>layer</em> row is keyed by
/// its chain id and records that the layer's snapshot directory is complete; a <em>volume</em> row is keyed by
/// its unique name; a <em>blob source</em> row says a registry has a blob in a repository (pulled from or pushed
/// there), which a push uses to mount the blob instead of uploading it.
/// </remarks>
public sealed class MetadataStore : IDisposable
{
    private readonly string _connectionString;
    private readonly SqliteConnection _keepAlive;

    public MetadataStore(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = true,
            Cache = SqliteCacheMode.Private,
            ForeignKeys = true,
            // How long a write waits for another connection's lock (the busy timeout). On a CI box under heavy disk load
            // berthd once stalled ~5 s and a start failed with "database is locked": a slow write should wait, not fail.
            DefaultTimeout = 30,
        }.ToString();
        // One open connection keeps the WAL and shared memory alive between calls (no re-open cost per request).
        _keepAlive = new SqliteConnection(_connectionString);
        _keepAlive.Open();
        Execute(_keepAlive, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            PRAGMA foreign_keys=ON;
            CREATE TABLE IF NOT EXISTS containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tags (reference TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id));
            CREATE TABLE IF NOT EXISTS layers (chain_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS blob_sources (registry TEXT NOT NULL, digest TEXT NOT NULL, repository TEXT NOT NULL, seen INTEGER NOT NULL,
                PRIMARY KEY (registry, digest, repository));
            """);
    }

    public void Dispose() => _keepAlive.Dispose();

    // ---- containers ----

    /// <summary>Inserts a new container; false when the name is taken (the caller reports the conflict).</summary>
    public bool TryInsertContainer(string id, string name, string doc)
    {
        using SqliteConnection connection = Open();
        try
        {
            Execute(connection, "INSERT INTO containers (id, name, doc) VALUES ($a, $b, $c)", id, name, doc);
            return true;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            return false; // SQLITE_CONSTRAINT: the name is in use
        }
    }

    /// <summary>Renames a container and stores its new document in one transaction; false when the name is taken.</summary>
    public bool TryRenameContainer(string id, string name, string doc)
    {
        using SqliteConnection connection = Open();
        try
        {
            Execute(connection, "UPDATE containers SET name = $a, doc = $b WHERE id = $c", name, doc, id);
            return true;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            return false;
        }
    }

    public void UpdateContainer(string id, string doc)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "UPDATE containers SET doc = $a WHERE id = $b", doc, id);
    }

    public void DeleteContainer(string id)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "DELETE FROM containers WHERE id = $a", id);
    }

    public List<(string Id, string Name, string Doc)> ListContainers()
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, doc FROM containers";
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<(string, string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }

    // ---- images and tags ----

    /// <summary>Stores an image and points the given references at it, in one transaction.</summary>
    public void PutImage(string id, string doc, IEnumerable<string> references)
    {
        using SqliteConnection connection = Open();
        using SqliteTransaction transaction = connection.BeginTransaction();
        Execute(connection, "INSERT INTO images (id, doc) VALUES ($a, $b) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc", id, doc);
        foreach (string reference in references)
        {
            Execute(connection, "INSERT INTO tags (reference, image_id) VALUES ($a, $b) ON CONFLICT(reference) DO UPDATE SET image_id = excluded.image_id", reference, id);
        }

        transaction.Commit();
    }

    public void Tag(string reference, string imageId)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "INSERT INTO tags (reference, image_id) VALUES ($a, $b) ON CONFLICT(reference) DO UPDATE SET image_id = excluded.image_id", reference, imageId);
    }

    public bool Untag(string reference)
    {
        using SqliteConnection connection = Open();
        return Execute(connection, "DELETE FROM tags WHERE reference = $a", reference) > 0;
    }

    public void DeleteImage(string id)
    {
        using SqliteConnection connection = Open();
        using SqliteTransaction transaction = connection.BeginTransaction();
        Execute(connection, "DELETE FROM tags WHERE image_id = $a", id);
        Execute(connection, "DELETE FROM images WHERE id = $a", id);
        transaction.Commit();
    }

    public List<(string Id, string Doc)> ListImages()
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT id, doc FROM images";
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    public List<(string Reference, string ImageId)> ListTags()
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT reference, image_id FROM tags";
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    // ---- layers ----

    public void PutLayer(string chainId, string doc)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "INSERT INTO layers (chain_id, doc) VALUES ($a, $b) ON CONFLICT(chain_id) DO UPDATE SET doc = excluded.doc", chainId, doc);
    }

    public string? GetLayer(string chainId)
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT doc FROM layers WHERE chain_id = $a";
        command.Parameters.AddWithValue("$a", chainId);
        return command.ExecuteScalar() as string;
    }

    public List<string> ListLayers()
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT chain_id FROM layers";
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    public void DeleteLayer(string chainId)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "DELETE FROM layers WHERE chain_id = $a", chainId);
    }

    // ---- volumes ----

    /// <summary>Inserts a new volume; false when the name is taken.</summary>
    public bool TryInsertVolume(string name, string doc)
    {
        using SqliteConnection connection = Open();
        try
        {
            Execute(connection, "INSERT INTO volumes (name, doc) VALUES ($a, $b)", name, doc);
            return true;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            return false;
        }
    }

    public void DeleteVolume(string name)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "DELETE FROM volumes WHERE name = $a", name);
    }

    public List<(string Name, string Doc)> ListVolumes()
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT name, doc FROM volumes";
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    private SqliteConnection Open()
    {
        // Foreign keys and the busy timeout come with the connection string. `synchronous` is a setting of each
        // connection, not of the database: without it here every pooled connection commits with SQLite's default
        // FULL, an fsync of the WAL per write (four on the path of every `run --rm`, each slow on a busy disk).
        // NORMAL in WAL mode keeps every commit atomic and durable across a crash of berthd; only a power loss may
        // roll back the last commits (never half of one): SQLite's documented trade-off, and the one the constructor meant.
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA synchronous=NORMAL");
        return connection;
    }

    private static int Execute(SqliteConnection connection, string sql, params string[] values)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        string[] names = ["$a", "$b", "$c"];
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters.AddWithValue(names[i], values[i]);
        }

        return command.ExecuteNonQuery();
    }

    // ---- networks ----

    /// <summary>Inserts a new network; false when the name is taken.</summary>
    public bool TryInsertNetwork(string id, string name, string doc)
    {
        using SqliteConnection connection = Open();
        try
        {
            Execute(connection, "INSERT INTO networks (id, name, doc) VALUES ($a, $b, $c)", id, name, doc);
            return true;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            return false;
        }
    }

    public void UpdateNetwork(string id, string doc)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "UPDATE networks SET doc = $a WHERE id = $b", doc, id);
    }

    public void DeleteNetwork(string id)
    {
        using SqliteConnection connection = Open();
        Execute(connection, "DELETE FROM networks WHERE id = $a", id);
    }

    public List<(string Id, string Doc)> ListNetworks()
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT id, doc FROM networks";
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<(string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    // ---- blob sources ----

    /// <summary>How many repositories are kept per registry and blob: the most recently seen ones (a push tries a few, not all).</summary>
    public const int BlobSourcesKept = 4;

    /// <summary>Records that <paramref name="registry"/> has each of <paramref name="digests"/> in <paramref name="repository"/>, in one transaction.</summary>
    public void AddBlobSources(string registry, string repository, IEnumerable<string> digests)
    {
        ArgumentNullException.ThrowIfNull(digests);
        using SqliteConnection connection = Open();
        using SqliteTransaction transaction = connection.BeginTransaction();
        // A logical clock, not the time: later records always rank first, even within one millisecond.
        long seen;
        using (SqliteCommand clock = connection.CreateCommand())
        {
            clock.CommandText = "SELECT COALESCE(MAX(seen), 0) + 1 FROM blob_sources";
            seen = (long)clock.ExecuteScalar()!;
        }

        foreach (string digest in digests)
        {
            using SqliteCommand upsert = connection.CreateCommand();
            upsert.CommandText = """
                INSERT INTO blob_sources (registry, digest, repository, seen) VALUES ($r, $d, $p, $s)
                    ON CONFLICT(registry, digest, repository) DO UPDATE SET seen = excluded.seen;
                DELETE FROM blob_sources WHERE registry = $r AND digest = $d AND repository NOT IN
                    (SELECT repository FROM blob_sources WHERE registry = $r AND digest = $d ORDER BY seen DESC, repository LIMIT $k);
                """;
            upsert.Parameters.AddWithValue("$r", registry);
            upsert.Parameters.AddWithValue("$d", digest);
            upsert.Parameters.AddWithValue("$p", repository);
            upsert.Parameters.AddWithValue("$s", seen);
            upsert.Parameters.AddWithValue("$k", BlobSourcesKept);
            upsert.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>The repositories of <paramref name="registry"/> known to hold <paramref name="digest"/>, most recently seen first.</summary>
    public List<string> BlobSources(string registry, string digest)
    {
        using SqliteConnection connection = Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT repository FROM blob_sources WHERE registry = $r AND digest = $d ORDER BY seen DESC, repository";
        command.Parameters.AddWithValue("$r", registry);
        command.Parameters.AddWithValue("$d", digest);
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
